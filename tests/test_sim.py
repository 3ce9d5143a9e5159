"""The community simulator: determinism, the membership model, realism, export.

Shares are measured from the records alone (as an operator would see them)
and compared with the ranges docs/simulator.md promises.
"""

import collections
import csv
import itertools
import json
import re
import tracemalloc
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qunyun.domain import MESSAGE_KINDS, ActivityKind, ActivityRecord
from qunyun.sim import (
    ACTIVITY_COLUMNS,
    TRUTH_COLUMNS,
    MemberTruth,
    SimConfig,
    Simulator,
    write_activities_csv,
    write_activities_jsonl,
    write_truth_csv,
)
from qunyun.sim.export import activity_row

K = ActivityKind
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Views move no segment, so the realism checks run with few of them.
LIGHT = {"views_per_day": 0.05}


@dataclass(frozen=True)
class Run:
    sim: Simulator
    records: list[ActivityRecord]
    truth: dict[str, MemberTruth]

    def by_member(self) -> dict[str, list[ActivityRecord]]:
        grouped: dict[str, list[ActivityRecord]] = collections.defaultdict(list)
        for record in self.records:
            grouped[record.member].append(record)
        return grouped


def run(**knobs: object) -> Run:
    sim = Simulator(SimConfig(**knobs))  # type: ignore[arg-type]  # mixed knob types; SimConfig checks
    return Run(sim, list(sim.activities()), {t.member: t for t in sim.members()})


@pytest.fixture(scope="module")
def community() -> Run:
    """The calibrated demo community: 3,000 members over 180 days."""
    return run(members=3000, days=180, **LIGHT)


@pytest.fixture(scope="module")
def small() -> Run:
    return run(members=300, days=60, seed=11)


# --- determinism and independence -------------------------------------------


def test_same_config_gives_identical_streams() -> None:
    config = SimConfig(members=300, days=45, seed=5)
    first, second = Simulator(config), Simulator(config)
    assert list(itertools.islice(first.activities(), 5000)) == list(
        itertools.islice(second.activities(), 5000)
    )
    assert list(first.members()) == list(second.members())


def test_different_seeds_differ() -> None:
    a = Simulator(SimConfig(members=50, days=45, seed=1))
    b = Simulator(SimConfig(members=50, days=45, seed=2))
    assert list(itertools.islice(a.activities(), 200)) != list(itertools.islice(b.activities(), 200))
    assert [t.joined_at for t in a.members()] != [t.joined_at for t in b.members()]


@pytest.mark.parametrize(("fewer", "more"), [(100, 200), (300, 600)])
def test_a_member_does_not_depend_on_the_run_size(fewer: int, more: int) -> None:
    small_run = Simulator(SimConfig(members=fewer, days=40, seed=9))
    large_run = Simulator(SimConfig(members=more, days=40, seed=9))
    kept = {f"m{i:06d}" for i in range(fewer)}
    assert list(small_run.activities()) == [r for r in large_run.activities() if r.member in kept]
    assert list(small_run.members()) == [t for t in large_run.members() if t.member in kept]


# --- shape of the stream ----------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    members=st.integers(1, 30),
    days=st.integers(1, 40),
)
def test_stream_invariants(seed: int, members: int, days: int) -> None:
    sim = Simulator(SimConfig(members=members, days=days, seed=seed))
    records = list(sim.activities())
    order = [r.member for r in records]
    # Grouped by member, in member order, time-ordered within a member.
    assert order == sorted(order)
    for _, group in itertools.groupby(records, key=lambda r: r.member):
        times = [r.occurred_at for r in group]
        assert times == sorted(times)
    assert all(r.occurred_at.tzinfo is UTC for r in records)
    assert all(sim.config.start <= r.occurred_at < sim.end for r in records)
    refs = [r.reference_id for r in records]
    assert len(set(refs)) == len(refs)
    assert len(list(sim.members())) == members
    assert {r.member for r in records} == {t.member for t in sim.members()}


def test_every_record_carries_the_community_and_a_nickname(small: Run) -> None:
    config = small.sim.config
    for record in small.records:
        assert record.platform is config.platform
        assert record.community == config.community
        assert record.community_name == config.community_name
        assert record.nickname == small.truth[record.member].nickname


def test_replies_and_reactions_point_at_earlier_messages(small: Run) -> None:
    by_ref = {r.reference_id: r for r in small.records}
    answers = [r for r in small.records if r.kind in (K.REPLY, K.REACTION)]
    targeted = [r for r in answers if r.reply_to]
    # The first cohort has few lower-indexed authors to answer; later ones ~95%.
    assert len(targeted) > 0.75 * len(answers)
    for answer in targeted:
        target = by_ref[answer.reply_to]  # exists in this very run
        assert target.kind in MESSAGE_KINDS
        assert target.member != answer.member
        assert target.occurred_at < answer.occurred_at


# --- the membership model ---------------------------------------------------


def test_truth_agrees_with_the_records(community: Run) -> None:
    for member, records in community.by_member().items():
        truth = community.truth[member]
        joins = [r.occurred_at for r in records if r.kind is K.JOIN]
        leaves = [r.occurred_at for r in records if r.kind is K.LEAVE]
        assert records[0].kind is K.JOIN
        assert joins[0] == truth.joined_at
        assert (leaves[0] if leaves else None) == truth.left_at
        assert (joins[1] if len(joins) > 1 else None) == truth.rejoined_at
        assert truth.in_group_at_end == (len(joins) > len(leaves))


def test_nothing_happens_after_dropout_but_a_leave(community: Run) -> None:
    dropped = 0
    for member, records in community.by_member().items():
        truth = community.truth[member]
        if truth.dropout_at is not None:
            dropped += 1
            late = [r for r in records if r.occurred_at > truth.dropout_at]
            assert all(r.kind is K.LEAVE for r in late), late
        if truth.left_at is not None and truth.rejoined_at is not None:
            gap = [r for r in records if truth.left_at < r.occurred_at < truth.rejoined_at]
            assert not gap
    assert dropped > 0.2 * len(community.truth)


def test_leavers_come_back_and_stay_muted_in_expected_shares(community: Run) -> None:
    truths = community.truth.values()
    dropped = [t for t in truths if t.dropout_at is not None and t.rejoined_at is None]
    leavers = [t for t in truths if t.left_at is not None]
    assert 0.35 < len([t for t in dropped if t.left_at]) / len(dropped) < 0.65
    assert 0.04 < len([t for t in leavers if t.rejoined_at]) / len(leavers) < 0.15
    rejoined = community.by_member()
    resumed = [t for t in leavers if t.rejoined_at and len(rejoined[t.member]) > 0]
    assert any(
        r.occurred_at > t.rejoined_at and r.kind is not K.JOIN
        for t in resumed
        for r in rejoined[t.member]
        if t.rejoined_at is not None
    )


def test_latent_message_rate_is_what_the_records_show(community: Run) -> None:
    end = community.sim.end
    counts = collections.Counter(r.member for r in community.records if r.kind in MESSAGE_KINDS)
    expected = observed = 0.0
    for truth in community.truth.values():
        if truth.rejoined_at is None and not truth.lurker:
            alive = ((truth.dropout_at or end) - truth.joined_at) / timedelta(days=1)
            expected += truth.message_rate * alive
            observed += counts[truth.member]
    # The diurnal redraw drops a few draws on a stint's first and last day.
    assert 0.92 < observed / expected < 1.05


def test_lurkers_almost_never_write(community: Run) -> None:
    lurkers = {m for m, t in community.truth.items() if t.lurker}
    assert 0.3 < len(lurkers) / len(community.truth) < 0.45
    spoken = [r for r in community.records if r.kind in MESSAGE_KINDS]
    by_lurkers = [r for r in spoken if r.member in lurkers]
    assert len(by_lurkers) / len(lurkers) < 0.5
    assert len(by_lurkers) < 0.01 * len(spoken)
    reacting = {r.member for r in community.records if r.kind is K.REACTION}
    assert len(reacting & lurkers) > 0.3 * len(lurkers)


def segments(sim: Simulator, records: Iterable[ActivityRecord]) -> dict[str, float]:
    """Segment shares at the end, from the records alone.

    left: the last membership event is a leave; new: first joined within 30
    days; active: in the group and spoke within 30 days; silent: the rest.
    """
    cut = sim.end - timedelta(days=30)
    first_join: dict[str, datetime] = {}
    joins: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    spoke: set[str] = set()
    for r in records:
        if r.kind is K.JOIN:
            first_join.setdefault(r.member, r.occurred_at)
            joins[r.member] += 1
        elif r.kind is K.LEAVE:
            leaves[r.member] += 1
        elif r.kind in MESSAGE_KINDS and r.occurred_at >= cut:
            spoke.add(r.member)
    shares: collections.Counter[str] = collections.Counter()
    for member, joined in first_join.items():
        if leaves[member] >= joins[member]:
            shares["left"] += 1
        elif joined >= cut:
            shares["new"] += 1
        else:
            shares["active" if member in spoke else "silent"] += 1
    return {name: count / len(first_join) for name, count in shares.items()}


def test_segment_shares_at_the_end(community: Run) -> None:
    shares = segments(community.sim, community.records)
    assert 0.25 <= shares["active"] <= 0.40, shares
    assert 0.25 <= shares["silent"] <= 0.40, shares
    assert 0.10 <= shares["left"] <= 0.25, shares
    assert 0.08 <= shares["new"] <= 0.15, shares


def test_members_join_in_a_founding_cohort_then_steadily(community: Run) -> None:
    start, end = community.sim.config.start, community.sim.end
    joined = [t.joined_at for t in community.truth.values()]
    first_week = sum(j < start + timedelta(days=7) for j in joined) / len(joined)
    last_month = sum(j >= end - timedelta(days=30) for j in joined) / len(joined)
    assert 0.25 < first_week < 0.40
    assert 0.08 < last_month < 0.15


# --- realism of content and timing --------------------------------------------


def test_activity_peaks_at_morning_noon_and_evening_local_time(community: Run) -> None:
    hours = collections.Counter(
        r.occurred_at.astimezone(SHANGHAI).hour for r in community.records if r.kind in MESSAGE_KINDS
    )
    night = hours[3] + hours[4]
    for peak in (8, 12, 21):
        assert hours[peak] > 5 * night / 2
        assert hours[peak] > hours[peak - 2]


def test_messages_are_mostly_chinese_with_acknowledgements(community: Run) -> None:
    texts = [r.text or "" for r in community.records if r.kind in MESSAGE_KINDS]
    english = [t for t in texts if re.search(r"[A-Za-z]{3}", t) and not re.search(r"[一-鿿]", t)]
    assert 0.08 < len(english) / len(texts) < 0.16
    acks = {"收到", "谢谢", "好的", "+1", "👍", "[表情]", "ok", "Thanks!"}
    assert 0.05 < sum(t in acks for t in texts) / len(texts) < 0.15
    assert len(set(texts)) > 0.4 * len(texts)  # composed, not a handful of strings


def test_all_kinds_of_the_model_occur(community: Run) -> None:
    kinds = {r.kind for r in community.records}
    assert kinds == set(K) - {K.SURVEY_ANSWER, K.REFERRAL, K.TEXT_FLAG, K.DELIVERY}  # the last two: by Qunyun


def test_purchases_are_priced_in_cny_fen(community: Run) -> None:
    purchases = [r for r in community.records if r.kind is K.PURCHASE]
    assert purchases
    for p in purchases:
        assert p.currency == "CNY"
        assert p.amount_minor is not None
        assert 1990 <= p.amount_minor <= 99900
    others = [r for r in community.records if r.kind is not K.PURCHASE]
    assert all(r.amount_minor is None and r.currency is None for r in others)


def test_some_members_carry_a_phone_on_their_join_only(community: Run) -> None:
    with_phone = [r for r in community.records if r.phone]
    assert all(r.kind is K.JOIN and re.fullmatch(r"\+86 1\d{10}", r.phone or "") for r in with_phone)
    share = sum(t.phone is not None for t in community.truth.values()) / len(community.truth)
    assert 0.15 < share < 0.25


# --- scale ------------------------------------------------------------------


@pytest.mark.slow
def test_streaming_memory_stays_flat() -> None:
    sim = Simulator(SimConfig(members=1_000_000, activity_scale=0.3, views_per_day=0.2))
    stream = sim.activities()
    next(stream)  # import-time tables are built before measuring
    tracemalloc.start()
    try:
        count = sum(1 for _ in itertools.islice(stream, 200_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 10 * 2**20, f"peak {peak / 2**20:.1f} MiB"


# --- export -----------------------------------------------------------------


def expected_cells(sim: Simulator) -> list[dict[str, str]]:
    return [activity_row(r, SHANGHAI) for r in sim.activities()]


def test_csv_round_trip(tmp_path: Path) -> None:
    sim = Simulator(SimConfig(members=40, days=30, seed=3))
    path = tmp_path / "activities.csv"
    rows = write_activities_csv(sim, path)
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == ACTIVITY_COLUMNS
        read = list(reader)
    assert rows == len(read) > 0
    assert read == expected_cells(sim)


def test_jsonl_round_trip(tmp_path: Path) -> None:
    sim = Simulator(SimConfig(members=40, days=30, seed=3))
    path = tmp_path / "activities.jsonl"
    rows = write_activities_jsonl(sim, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert rows == len(lines)
    records = list(sim.activities())
    for line, record in zip(lines, records, strict=True):
        cells = json.loads(line)
        assert cells == {k: v for k, v in activity_row(record, SHANGHAI).items() if v}
        assert datetime.fromisoformat(cells["occurred_at"]) == record.occurred_at
        assert cells["occurred_at"].endswith("+08:00")
        if record.amount_minor is not None:
            assert round(float(cells["amount"]) * 100) == record.amount_minor


def test_truth_csv(tmp_path: Path) -> None:
    sim = Simulator(SimConfig(members=70, days=90, seed=4))
    path = tmp_path / "truth.csv"
    assert write_truth_csv(sim, path) == 70
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    truths = list(sim.members())
    assert [r["member"] for r in rows] == [t.member for t in truths]
    assert tuple(rows[0]) == TRUTH_COLUMNS
    for row, truth in zip(rows, truths, strict=True):
        assert datetime.fromisoformat(row["joined_at"]) == truth.joined_at
        assert row["alive_at_end"] == ("true" if truth.dropout_at is None else "false")
        assert row["interests"].split("|") == list(truth.interests)


# --- configuration ------------------------------------------------------------


@pytest.mark.parametrize(
    "knobs",
    [
        {"lurker_share": 1.5},
        {"message_rate_mean": -1.0},
        {"lifetime_shape": 0.0},
        {"days": 0},
        {"timezone": "Mars/Olympus"},
        {"start": datetime(2026, 5, 1)},  # noqa: DTZ001 - naive on purpose
    ],
)
def test_bad_knobs_are_refused(knobs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        SimConfig(**knobs)  # type: ignore[arg-type]  # deliberately wrong values


def test_volume_knobs_tune_activities_per_member() -> None:
    light = Simulator(SimConfig(members=500, activity_scale=0.3, views_per_day=0.2))
    per_member = sum(1 for _ in light.activities()) / 500
    assert 15 < per_member < 26
