"""Qunyun's community simulator: realistic members and activities, with truth.

    >>> from qunyun.sim import SimConfig, Simulator
    >>> sim = Simulator(SimConfig(members=50, days=60, seed=3))
    >>> kinds = {record.kind.value for record in sim.activities()}
    >>> {"join", "message", "view"} <= kinds
    True

Only `qunyun.domain` is imported: the simulator knows nothing of the store.
See docs/simulator.md for the model, its knobs and the truth columns.
"""

from qunyun.sim.config import SimConfig
from qunyun.sim.export import ACTIVITY_COLUMNS, write_activities_csv, write_activities_jsonl
from qunyun.sim.simulator import Simulator
from qunyun.sim.truth import TRUTH_COLUMNS, MemberTruth, write_truth_csv

__all__ = [
    "ACTIVITY_COLUMNS",
    "TRUTH_COLUMNS",
    "MemberTruth",
    "SimConfig",
    "Simulator",
    "write_activities_csv",
    "write_activities_jsonl",
    "write_truth_csv",
]
