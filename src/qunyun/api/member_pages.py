"""Member pages (H5): a signed link opens the member's points, coupons, tier, invite
link and check-in, or a survey to answer; zh-CN by default, English on request.

Every route starts from the token in the path: `MemberLinks.verify` gives the
member it was made for, and nothing here accepts a member id from the page.
Forms post back to the same token, so there is no session and no cookie to
steal (and so no CSRF surface); a double-tapped submit replays its key.
"""

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from qunyun.api.app import Services
from qunyun.api.member_texts import TEXTS, pick_language
from qunyun.engage.coupons import Coupon
from qunyun.engage.links import LinkClaims, LinkError, MemberLinks
from qunyun.engage.service import Engagement
from qunyun.errors import QunyunError
from qunyun.feedback.questions import SCALES, SurveyDefinition
from qunyun.feedback.responses import NewResponse, record_response
from qunyun.feedback.surveys import get_survey
from qunyun.store.tables import members

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
EXPIRY_NOTICE = timedelta(days=30)


class MemberPages:
    def __init__(self, services: Services, links: MemberLinks) -> None:
        self.services = services
        self.links = links
        self.engagement = Engagement(
            services.settings, services.engine, services.clock, services.workspace_id
        )
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

    def claims(self, token: str) -> LinkClaims:
        claims = self.links.verify(token, self.services.clock.now())
        if claims.workspace_id != self.services.workspace_id:
            raise LinkError("this link is not valid", code="link.invalid")
        return claims

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = pick_language(request)
        page = self.env.get_template(f"member/{template}").render(
            lang=lang, lang_param="en" if lang == "en" else "zh", t=TEXTS[lang], **context
        )
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})

    def refused(self, request: Request, error: QunyunError) -> HTMLResponse:
        t = TEXTS[pick_language(request)]
        status = 403 if error.code.startswith("link.") else 409
        heading = t.get(error.code, t["failed"])
        return self.render(request, "message.html", status, title=heading, heading=heading, detail=None)

    def home(self, request: Request, claims: LinkClaims, notice: str | None = None) -> HTMLResponse:
        e, member, now = self.engagement, claims.member_id, self.services.clock.now()
        lang = pick_language(request)
        zone = self.services.settings.zone
        soon = [
            (lot.expires_at, lot.remaining)
            for lot in e.ledger.lots(member)
            if lot.expires_at and now < lot.expires_at <= now + EXPIRY_NOTICE
        ]
        expiring = None
        if soon:
            first = min(at for at, _ in soon if at is not None)
            expiring = {"points": sum(points for _, points in soon), "date": first.astimezone(zone).date()}
        open_coupons = [
            self._coupon_view(c, lang, zone) for c in e.coupons.of_member(member) if c.status == "issued"
        ]
        code = e.referrals.code_for(member)
        base_url = self.services.settings.h5.base_url.rstrip("/")
        return self.render(
            request,
            "home.html",
            title=TEXTS[lang]["title"],
            notice=notice,
            name=self._name(member),
            balance=e.ledger.balance(member),
            expiring=expiring,
            streak=e.checkins.streak(member, zone),
            coupons=open_coupons,
            tier=e.tiers.status(member),
            invite_link=f"{base_url}/i/{code}",
            base=str(request.url.path).rstrip("/"),
        )

    def survey_form(self, request: Request, claims: LinkClaims, error: str | None = None) -> HTMLResponse:
        lang = pick_language(request)
        with self.services.engine.connect() as conn:
            survey = get_survey(conn, self.services.workspace_id, claims.survey or "")
        definition = survey.definition
        return self.render(
            request,
            "survey.html",
            title=definition.title.text(lang),
            intro=definition.intro.text(lang) if definition.intro else None,
            questions=_questions(definition, lang),
            base=str(request.url.path).rstrip("/"),
            error=error,
        )

    def answer(self, claims: LinkClaims, form: dict[str, list[str]]) -> None:
        slug = claims.survey or ""
        with self.services.engine.begin() as conn:
            definition = get_survey(conn, self.services.workspace_id, slug).definition
            answers = _answers_from_form(definition, form)
            record_response(
                conn,
                self.services.workspace_id,
                self.services.clock,
                # The same answers again (a double tap) replay; different ones meet "already answered".
                NewResponse(
                    slug, claims.member_id, answers, key=f"h5:{slug}:{claims.member_id}:{_digest(answers)}"
                ),
            )

    def submit(self, request: Request, token: str, fields: dict[str, list[str]]) -> HTMLResponse:
        try:
            claims = self.claims(token)
            if not claims.survey:
                raise LinkError("this link is not valid", code="link.invalid")
            self.answer(claims, fields)
        except QunyunError as error:
            if error.code == "survey.bad_answer":  # show the form again with what to fix
                return self.survey_form(request, self.claims(token), error=error.message)
            return self.refused(request, error)
        t = TEXTS[pick_language(request)]
        return self.render(request, "message.html", title=t["thanks"], heading=t["thanks"], detail=None)

    def _name(self, member_id: int) -> str:
        with self.services.engine.connect() as conn:
            name = conn.execute(select(members.c.display_name).where(members.c.id == member_id)).scalar()
        return str(name or "")

    @staticmethod
    def _coupon_view(coupon: Coupon, lang: str, zone: Any) -> dict[str, str]:
        if coupon.kind == "percent":
            worth = f"{100 - coupon.value} 折" if lang != "en" else f"{coupon.value}% off"
        else:
            worth = (
                f"¥{coupon.value / 100:g}"
                if coupon.currency == "CNY"
                else f"{coupon.value / 100:g} {coupon.currency}"
            )
        return {
            "code": coupon.code,
            "worth": worth,
            "expires": str(coupon.expires_at.astimezone(zone).date()),
        }


def _digest(answers: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(answers, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def _questions(definition: SurveyDefinition, lang: str) -> list[dict[str, Any]]:
    shown = []
    for q in definition.questions:
        low, high = SCALES.get(q.kind, (0, -1))
        shown.append(
            {
                "id": q.id,
                "kind": q.kind.value,
                "label": q.label.text(lang),
                "required": q.required,
                "options": [{"id": o.id, "label": o.label.text(lang)} for o in q.options],
                "scale": list(range(low, high + 1)),
                "limit": q.text_limit,
            }
        )
    return shown


def _answers_from_form(definition: SurveyDefinition, form: dict[str, list[str]]) -> dict[str, Any]:
    """Form fields q_<id> → the JSON shape `check_answers` expects (scales as numbers)."""
    answers: dict[str, Any] = {}
    for q in definition.questions:
        values = [v for v in form.get(f"q_{q.id}", []) if v.strip()]
        if not values:
            continue
        if q.kind.value == "multiple_choice":
            answers[q.id] = values
        elif q.kind in SCALES:
            answers[q.id] = int(values[0]) if values[0].strip().lstrip("-").isdigit() else values[0]
        else:
            answers[q.id] = values[0]
    return answers


def member_router(services: Services, links: MemberLinks) -> APIRouter:
    pages = MemberPages(services, links)
    router = APIRouter()

    @router.get("/m/{token}", response_class=HTMLResponse)
    def open_link(token: str, request: Request, done: str | None = None) -> Response:
        try:
            claims = pages.claims(token)
            if claims.survey:
                return pages.survey_form(request, claims)
            notice = TEXTS[pick_language(request)].get(f"done.{done}") if done else None
            return pages.home(request, claims, notice)
        except QunyunError as error:
            return pages.refused(request, error)

    @router.post("/m/{token}/checkin")
    def check_in(token: str, request: Request) -> Response:
        try:
            claims = pages.claims(token)
            pages.engagement.checkins.check_in(claims.member_id, services.settings.zone)
        except QunyunError as error:
            return pages.refused(request, error)
        lang = "en" if pick_language(request) == "en" else "zh"
        return RedirectResponse(f"/m/{token}?done=checkin&lang={lang}", status_code=303)

    @router.post("/m/{token}/survey")
    async def answer(token: str, request: Request) -> Response:
        form = await request.form()
        fields: dict[str, list[str]] = {}
        for name, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(name, []).append(value)
        return pages.submit(request, token, fields)

    @router.get("/i/{code}", response_class=HTMLResponse)
    def invite(code: str, request: Request) -> HTMLResponse:
        t = TEXTS[pick_language(request)]
        detail = t["invite_landing"].format(code=code.upper()[:20])
        return pages.render(request, "message.html", title=t["invite"], heading=t["invite"], detail=detail)

    return router


def link_expiry(services: Services) -> datetime:
    return services.clock.now() + timedelta(days=services.settings.h5.link_days)
