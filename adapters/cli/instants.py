"""Instants as typed on the command line: now, a tenant-local date or time, or an instant with an offset."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from adapters.cli.errors import Failure

if TYPE_CHECKING:
    from core.clock import Clock


_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?")


def parse_instant(value: str | None, clock: Clock, *, option: str = "--at", zone: ZoneInfo | None = None) -> datetime:
    """``now`` (the default), ``2026-11-20T17:59:59+01:00`` or ``…Z``, or a local ``2026-11-20 17:59`` / ``2026-11-20`` in ``zone``."""
    if value is None or value.strip().lower() == "now":
        return clock.now()
    text = value.strip()
    if _LOCAL.fullmatch(text):
        if zone is None:
            raise Failure(f"{option} {value}: add an offset, e.g. {text}+01:00 or {text}Z (no tenant time zone applies here)")
        try:
            naive = datetime.fromisoformat(text) if "T" in text or " " in text else datetime.combine(date.fromisoformat(text), time())
        except ValueError:
            raise Failure(f"{option} {value}: not a date or time; write e.g. 2026-11-20, 2026-11-20T17:59 or "
                          "2026-11-20T17:59:59+01:00") from None
        instant = _localize(naive, zone)
        _check_years(instant, option, value)
        click.echo(f"callroute: {option} {value} read as {zone.key} local time: {instant.isoformat()}", err=True)
        return instant
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise Failure(f"{option} {value}: not an instant; write now, a date (2026-11-20), a local time (2026-11-20T17:59) "
                      "or an instant with an offset (2026-11-20T17:59:59+01:00)") from None
    if instant.tzinfo is None:
        raise Failure(f"{option} {value}: add an offset, e.g. +01:00 or Z")
    _check_years(instant, option, value)
    return instant


def _localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall time in ``zone``; in the spring-forward gap, the wall time that exists an hour later."""
    aware = naive.replace(tzinfo=zone)
    round_trip = aware.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != naive:
        aware = (naive + timedelta(hours=1)).replace(tzinfo=zone)
    return aware


def _check_years(instant: datetime, option: str, value: str) -> None:
    if not 1970 <= instant.year <= 2200:
        raise Failure(f"{option} {value}: outside the years 1970-2200 callroute handles")

