"""Showing times to people: the company's calendar day, not UTC."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from storage.settings import get_settings


def local_day(moment: datetime) -> str:
    """2026-12-03: the calendar day `moment` falls on in the company's time zone."""
    return moment.astimezone(ZoneInfo(get_settings().timezone)).date().isoformat()


def local_time(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")
