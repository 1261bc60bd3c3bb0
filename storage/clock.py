"""The one clock every "now" in Jieli comes from, so a simulation can move time forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that moves only when told to (used by `jieli simulate` and tests).

    Each reading is one microsecond later than the one before, so that what happens after
    something else is also later in time (a resume request after a pass began, say).
    """

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        self._now += timedelta(microseconds=1)
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment


_clock: Clock = SystemClock()


def now() -> datetime:
    """The current time, aware, in UTC."""
    return _clock.now()


def use_clock(clock: Clock) -> None:
    global _clock
    _clock = clock
