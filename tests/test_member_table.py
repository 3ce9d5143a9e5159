"""`qunyun members` prints one line per member and never wider than the terminal."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from helpers import rendered_rows
from qunyun.cli.members_cmd import member_table


@pytest.mark.parametrize("width", [80, 130])
def test_member_table_fits_and_keeps_one_line_per_member(width: int) -> None:
    rows = [
        {
            "member_id": 100_000 + i,
            "display_name": "一个很长很长的群昵称",
            "community": "wecom-brand-community-2026",
            "stage": "churning",
            "segment": "silent",
            "last_message_at": datetime(2026, 9, 1, tzinfo=UTC),
            "messages_30d": 0,
            "spend_minor": 1_234_567_00,
            "p_alive": 0.12,
            "outlook": "churned (likely)",
            "clv_minor": 9_876_500,
        }
        for i in range(3)
    ]
    body = rendered_rows(
        member_table(rows, ZoneInfo("Asia/Shanghai"), width), width, ["100000", "100001", "100002"]
    )
    assert all("2026-09-01" in line and "churned (likely)" in line and "98,765" in line for line in body)
    assert all(("1,234,567.00" in line) is (width >= 120) for line in body)
