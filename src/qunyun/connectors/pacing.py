"""Keeping to a platform's published rate limits, before the platform has to say so.

A `Rate` is "n sends per period"; a `Pacer` holds one token bucket per scope
(the whole bot, one chat, one channel) and, before each send, waits until every
scope the send belongs to has a token. Time and sleep are injected, so tests
check the pacing of a minute's traffic without waiting a minute.

>>> clock = ManualTime()
>>> pacer = Pacer(clock)
>>> for _ in range(3):
...     pacer.acquire([("chat:1", Rate(2, 1.0))])
>>> round(clock.monotonic(), 3)  # the third send waited for a token
0.5
"""

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """At most `count` sends in any `per_seconds`, smoothed: one token every per/count seconds."""

    count: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.count < 1 or self.per_seconds <= 0:
            raise ValueError(f"a rate needs count >= 1 and a positive period, not {self}")

    @property
    def interval(self) -> float:
        return self.per_seconds / self.count


class Time:
    """Monotonic time and sleep: the real ones, or `ManualTime` in tests."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualTime(Time):
    """Time that passes only by sleeping: sleeps return at once and are recorded."""

    def __init__(self) -> None:
        self._now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.sleeps.append(seconds)
            self._now += seconds


class _Bucket:
    """Token bucket starting full (`count` tokens), refilled at count/per."""

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate.count)
        self.stamp = now

    def refill(self, now: float) -> None:
        gained = (now - self.stamp) / self.rate.interval
        self.tokens = min(float(self.rate.count), self.tokens + gained)
        self.stamp = now

    def wait_needed(self, now: float) -> float:
        self.refill(now)
        # A tolerance: refills in floating point land a hair under 1.0, and a wait
        # shorter than the clock's resolution would never pass.
        return 0.0 if self.tokens >= 1.0 - 1e-9 else (1.0 - self.tokens) * self.rate.interval


class Pacer:
    """Token buckets per scope; `acquire` blocks until all given scopes allow a send.

    Scopes are created on first use. `hold` blocks a scope until a moment the
    platform named (a 429's retry_after, Discord's reset-after header).
    Thread-safe: a dispatcher may send from several threads through one pacer.
    """

    def __init__(self, clock: Time | None = None) -> None:
        self.time = clock or Time()
        self._buckets: dict[str, _Bucket] = {}
        self._held_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, scopes: Iterable[tuple[str, Rate]]) -> float:
        """Wait for a token in every scope, take them; returns the seconds waited."""
        wanted = list(scopes)
        waited = 0.0
        while True:
            with self._lock:
                delay = self._delay(wanted)
                if delay <= 0:
                    for key, _ in wanted:
                        bucket = self._buckets[key]
                        bucket.tokens = max(0.0, bucket.tokens - 1.0)
                    return waited
            self.time.sleep(delay)
            waited += delay

    def hold(self, scope: str, seconds: float) -> None:
        """No send in `scope` for `seconds` from now (the platform said so)."""
        with self._lock:
            until = self.time.monotonic() + max(0.0, seconds)
            self._held_until[scope] = max(self._held_until.get(scope, 0.0), until)

    def held_for(self, scope: str) -> float:
        with self._lock:
            return max(0.0, self._held_until.get(scope, 0.0) - self.time.monotonic())

    def _delay(self, wanted: list[tuple[str, Rate]]) -> float:
        now = self.time.monotonic()
        delay = 0.0
        for key, rate in wanted:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.rate != rate:
                bucket = self._buckets[key] = _Bucket(rate, now)
            delay = max(delay, bucket.wait_needed(now), self._held_until.get(key, 0.0) - now)
        return delay
