"""The report's words and numbers in zh-CN (default) and en: one dict per language, no gettext.

>>> zh, en = Texts("zh-CN"), Texts("en")
>>> (zh.count(123456), en.count(123456), zh.rate(0.1234), en.points(0.012), zh.points(-0.012))
('12.3万', '123,456', '12.3%', '+1.2 pp', '-1.2个百分点')
"""

from datetime import date
from typing import Any

from qunyun.reports.errors import ReportError
from qunyun.reports.message_catalog import CATALOG

LANGS = ("zh-CN", "en")
_ALIASES = {"zh": "zh-CN", "zh-cn": "zh-CN", "cn": "zh-CN", "en": "en", "en-us": "en", "en-gb": "en"}

# How each KPI is shown: a count, a daily average, a rate (0–1) or a score (NPS, −100…100).
KPI_KIND = {
    "members": "count",
    "net": "count",
    "dau": "average",
    "wau": "count",
    "mau": "count",
    "stickiness": "rate",
    "speaking_rate": "rate",
    "interaction_rate": "rate",
    "retention": "rate",
    "conversion_rate": "rate",
    "repurchase_rate": "rate",
    "nps": "score",
    "churn_rate": "rate",
    "member_growth": "rate",
}


def normalise_lang(lang: str) -> str:
    """zh, zh-CN → zh-CN; en → en; anything else is refused (code report.bad_lang)."""
    found = _ALIASES.get(lang.strip().lower())
    if found is None:
        raise ReportError(f"unknown language {lang!r}: use zh or en", code="report.bad_lang")
    return found


class Texts:
    """Words and number formats of one language."""

    def __init__(self, lang: str) -> None:
        self.lang = normalise_lang(lang)
        self._words: dict[str, Any] = CATALOG[self.lang]

    def __call__(self, key: str, **values: Any) -> str:
        return str(self._words[key]).format(**values)

    def name(self, group: str, key: str) -> str:
        """A named thing of a group (kpi, segment, stage, alert, content, severity, outcome), else the key."""
        return str(self._words[f"{group}_names"].get(key, key))

    def hint(self, kpi: str) -> str:
        return str(self._words["hint"].get(kpi, ""))

    @property
    def weekdays(self) -> list[str]:
        return list(self._words["weekdays"])

    # --- numbers -----------------------------------------------------------------------

    def count(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.lang == "zh-CN" and abs(value) >= 10_000:
            return f"{value / 10_000:.1f}".removesuffix(".0") + "万"
        return f"{round(value):,}"

    def average(self, value: float | None) -> str:
        return "—" if value is None else f"{value:,.1f}"

    def rate(self, value: float | None) -> str:
        return "—" if value is None else f"{value:.1%}"

    def score(self, value: float | None) -> str:
        return "—" if value is None else f"{value:+.0f}"

    def points(self, value: float | None) -> str:
        """A change of a rate, in percentage points."""
        if value is None:
            return "—"
        points = round(value * 100, 1) or 0.0  # no "-0.0" for a change that rounds away
        return f"{points:+.1f}" + ("个百分点" if self.lang == "zh-CN" else " pp")

    def kpi_value(self, kpi: str, value: float | None) -> str:
        kind = KPI_KIND.get(kpi, "average")
        return str(getattr(self, kind)(value))

    def kpi_delta(self, kpi: str, delta: float | None) -> str:
        if delta is None:
            return "—"
        kind = KPI_KIND.get(kpi, "average")
        if kind == "rate":
            return self.points(delta)
        if kind == "average":
            return f"{delta:+,.1f}"
        sign = "+" if delta >= 0 else "-"
        return sign + self.count(abs(delta))

    def day(self, value: date) -> str:
        if self.lang == "zh-CN":
            return f"{value.year}年{value.month}月{value.day}日"
        return value.strftime("%-d %b %Y")

    def slot(self, weekday: int, hour: int) -> str:
        return f"{self.weekdays[weekday]} {hour:02d}:00"
