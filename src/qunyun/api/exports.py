"""Rows → CSV (UTF-8 with BOM, so Excel reads Chinese) or XLSX, for list downloads."""

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import xlsxwriter


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, list | dict):
        return str(value)
    return value


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    columns = _columns(rows)
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[dict[str, Any]], sheet: str) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_urls": False, "strings_to_formulas": False}
    )
    page = book.add_worksheet(sheet[:31])
    columns = _columns(rows)
    for c, name in enumerate(columns):
        page.write_string(0, c, name)
    for r, row in enumerate(rows, start=1):
        for c, name in enumerate(columns):
            value = _cell(row.get(name))
            if value is None:
                continue
            if isinstance(value, bool | int | float):
                page.write_number(r, c, float(value))
            else:
                # Text as text: a value starting with "=" must never become a formula in the sheet.
                page.write_string(r, c, str(value))
    book.close()
    return buffer.getvalue()
