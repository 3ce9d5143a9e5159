"""`playbooks results`: the statistics by hand, and a simulated community with a known effect."""

import math
import random
from datetime import timedelta

from scipy import stats
from sqlalchemy import Engine, insert, select

from conftest import T0
from journey_helpers import CountingChannel, add_members, community, install, journeys_for
from qunyun.config import Settings
from qunyun.domain import FixedClock
from qunyun.journeys.results import playbook_results
from qunyun.journeys.stats import two_means, two_proportions
from qunyun.store.journey_tables import enrolments
from qunyun.store.tables import activities, identities


def test_two_proportions_by_hand() -> None:
    # 60/200 vs 30/200: diff 0.15; SE = sqrt(.3*.7/200 + .15*.85/200) = 0.041079; pooled p = .225,
    # SE0 = sqrt(.225*.775*(2/200)) = 0.041758; z = 3.5921; p = 0.000328 (two-sided).
    c = two_proportions(60, 200, 30, 200)
    assert math.isclose(c.difference, 0.15)
    assert math.isclose(c.high - c.difference, 1.959964 * 0.0410792, rel_tol=1e-5)
    assert c.p_value is not None
    assert math.isclose(c.p_value, 0.000328, rel_tol=0.01)
    assert two_proportions(5, 10, 0, 0).p_value is None


def test_welch_matches_scipy() -> None:
    treated, control = [0.31, 0.28, 0.35, 0.30, 0.33], [0.22, 0.25, 0.21, 0.27]
    c = two_means(treated, control)
    reference = stats.ttest_ind(treated, control, equal_var=False)
    assert c.p_value is not None
    assert math.isclose(c.p_value, float(reference.pvalue), rel_tol=1e-9)
    assert c.low < c.difference < c.high


WAKE = """
name: wake-test
title: 唤醒
trigger: {manual: true}
holdout: 0.5
window_days: 14
steps:
  - id: hello
    send_message: {template: "{{ member.nickname }}，回来看看"}
"""


def test_results_recover_a_known_wake_up_effect(
    engine: Engine, workspace_id: int, settings: Settings
) -> None:
    clock = FixedClock(T0)
    channel = CountingChannel()
    j = journeys_for(settings, engine, clock, workspace_id, channel)
    cid = community(engine, workspace_id)
    ids = add_members(engine, workspace_id, cid, 2000, segment="silent")
    install(j, WAKE)
    j.enrol_members("wake-test", None, "test")
    j.run_cycle()
    with engine.connect() as conn:
        arms = dict(conn.execute(select(enrolments.c.member_id, enrolments.c.arm)).all())
        identity = dict(conn.execute(select(identities.c.member_id, identities.c.id)).all())
    # The simulated members: a message brings 30% back within two weeks; 10% come back anyway.
    # Leaving is unaffected (4%). Activity after the window must not count.
    rng = random.Random(11)
    rows = []
    for m in ids:
        p = 0.30 if arms[m] == "treated" else 0.10
        if rng.random() < p:
            rows.append(
                _row(cid, identity[m], "message", T0 + timedelta(days=rng.uniform(0.1, 13.9)), len(rows))
            )
        if rng.random() < 0.04:
            rows.append(
                _row(cid, identity[m], "leave", T0 + timedelta(days=rng.uniform(0.1, 13.9)), len(rows))
            )
        rows.append(_row(cid, identity[m], "message", T0 + timedelta(days=20), len(rows)))  # after the window
    with engine.begin() as conn:
        conn.execute(insert(activities), rows)
    early = playbook_results(engine, j.catalog, "wake-test", T0 + timedelta(days=10))
    assert early.matured == {"treated": 0, "control": 0}  # the window has not passed for anyone
    results = playbook_results(engine, j.catalog, "wake-test", T0 + timedelta(days=30))
    assert sum(results.matured.values()) == 2000
    gain = results.metrics["reactivated"]
    assert gain.low < 0.20 < gain.high
    assert gain.p_value is not None
    assert gain.p_value < 1e-6
    harm = results.metrics["harm"]
    assert harm.low < 0 < harm.high
    assert results.counts["reactivated"]["treated"] == sum(
        1 for r in rows if r["kind"] == "message" and r["occurred_at"] < T0 + timedelta(days=14)
        and arms[_member(identity, r["identity_id"])] == "treated"
    )  # fmt: skip


def _member(identity: dict[int, int], identity_id: int) -> int:
    return next(m for m, i in identity.items() if i == identity_id)


def _row(cid: int, identity_id: int, kind: str, at: object, n: int) -> dict[str, object]:
    return {
        "community_id": cid, "identity_id": identity_id, "kind": kind, "occurred_at": at, "source": "sim",
        "idempotency_key": f"sim-{n}", "ingested_at": at,
    }  # fmt: skip
