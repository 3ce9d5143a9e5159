"""Errors of the weekly report, each with a stable code.

QunyunError
└── ReportError     report.bad_week, report.bad_lang, report.bad_output
"""

from qunyun.errors import QunyunError


class ReportError(QunyunError):
    pass
