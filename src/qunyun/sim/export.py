"""Activities as import files: the generic CSV and JSONL format, streamed.

Columns / keys (UTF-8): occurred_at (ISO 8601 with the community's local
offset, e.g. 2026-05-01T08:00:00+08:00), community, community_name,
platform, member, nickname, kind, text, amount (major units, "19.90"),
currency, reference_id, reply_to, phone, union_id. A missing value is an empty cell
in CSV and an absent key in JSONL.
"""

import csv
import json
from datetime import tzinfo
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from qunyun.domain import IMPORT_COLUMNS, ActivityRecord
from qunyun.sim.simulator import Simulator

ACTIVITY_COLUMNS = IMPORT_COLUMNS
# The simulator only writes CNY, whose minor unit is the fen (1/100).
_CNY_EXPONENT = 2


def activity_cells(record: ActivityRecord, zone: tzinfo) -> list[str]:
    """One record as import-format cells in `ACTIVITY_COLUMNS` order; None becomes ""."""
    amount = "" if record.amount_minor is None else str(Decimal(record.amount_minor).scaleb(-_CNY_EXPONENT))
    return [
        record.occurred_at.astimezone(zone).isoformat(),
        record.community,
        record.community_name or "",
        record.platform.value,
        record.member,
        record.nickname or "",
        record.kind.value,
        record.text or "",
        amount,
        record.currency or "",
        record.reference_id or "",
        record.reply_to or "",
        record.phone or "",
        record.union_id or "",
    ]


def activity_row(record: ActivityRecord, zone: tzinfo) -> dict[str, str]:
    """One record as a column → cell mapping."""
    return dict(zip(ACTIVITY_COLUMNS, activity_cells(record, zone), strict=True))


def write_activities_csv(sim: Simulator, path: Path) -> int:
    """Stream `sim.activities()` to a CSV file with a header; return the row count."""
    zone = ZoneInfo(sim.config.timezone)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(ACTIVITY_COLUMNS)
        for record in sim.activities():
            writer.writerow(activity_cells(record, zone))
            rows += 1
    return rows


def write_activities_jsonl(sim: Simulator, path: Path) -> int:
    """Stream `sim.activities()` to JSON Lines (one object per line); return the count."""
    zone = ZoneInfo(sim.config.timezone)
    rows = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for record in sim.activities():
            cells = {k: v for k, v in zip(ACTIVITY_COLUMNS, activity_cells(record, zone), strict=True) if v}
            out.write(json.dumps(cells, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            rows += 1
    return rows
