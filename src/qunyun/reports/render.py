"""The weekly report as HTML (Jinja2, self-contained: inline CSS and SVG) and as PDF (WeasyPrint).

The PDF is printed from the very HTML the dashboard shows, A4 with page
numbers; nothing is fetched (fonts come from the system: fonts-noto-cjk).
"""

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from qunyun.reports.data import WeeklyData
from qunyun.reports.messages import Texts
from qunyun.reports.view import context

TEMPLATE = "weekly.html"


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("qunyun.web", "templates/report"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(data: WeeklyData, lang: str) -> str:
    t = Texts(lang)
    values = context(data, t) | {"week": str(data.week), "page_label": t("page_label")}
    return _environment().get_template(TEMPLATE).render(values)


def render_pdf(html: str) -> bytes:
    """A4 PDF of a report's HTML."""
    from weasyprint import HTML  # heavy (Pango, fonts): loaded only when a PDF is asked for

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
