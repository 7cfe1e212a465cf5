"""Replaying real traffic: the calls of a recorded call history as a scenario's arrivals, instead of drawn ones.

Two formats are read, told apart by their first character:

- JSON Lines of recorded calls (``core.projections.compare.RecordedCall``: what ``simulate --calls`` writes and
  ``audit explain-call --calls`` reads): instant, caller, dialled number, digits; no talk time or patience;
- the JSON array of ``callroute history --json`` (``core.calls.history.CallRecord``, the live adapters' history):
  instant, caller, dialled number, and for an answered call its talk time, for an abandoned one its patience (the
  caller hung up when the call ended).

What the history does not know is drawn from the scenario's distributions when the call is replayed: the talk time
from whoever answers, the patience from ``patience``. Errors name the file and the line (JSON Lines) or the element.
"""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from adapters.inputs import InputError, read_document, read_input, read_json_lines
from core.aggregates.identifiers import whole
from core.calls.history import CallRecord
from core.projections.compare import RecordedCall
from simulator.scenario import ReplayArrivals, ReplayedCall, Scenario, ScenarioError

_LABEL = re.compile(whole(r"[A-Za-z0-9_.:-]{1,40}"))


def _label(call_id: str) -> str | None:
    """The recorded call id as the call's name for assertions and ``--calls``, if it is one (else its number in the run)."""
    return call_id if _LABEL.fullmatch(call_id) else None


def read_history(path: Path, *, to: str | None = None, field: str = "$.arrivals") -> list[ReplayedCall]:
    """The calls of the history at ``path``, in the order of their instants (a stable sort: ties keep the file's order).

    ``to``: the dialled number of calls whose record does not say; without it such a record is refused.
    """
    try:
        head = read_input(path).lstrip()[:1]
        if head == b"[":
            calls = [_from_history(record, f"{path}[{index}]", to, field)
                     for index, record in enumerate(read_document(path, list[CallRecord], format="json"))]
        else:
            calls = [_from_recorded(record, f"{path}:{number}") for number, record in read_json_lines(path, RecordedCall)]
    except InputError as exc:
        raise ScenarioError(f"{exc} - at `{field}.file`") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: {exc.strerror or exc} - at `{field}.file`") from None
    calls.sort(key=lambda c: c.at)
    return calls


def _from_recorded(record: RecordedCall, where: str) -> ReplayedCall:
    return ReplayedCall(at=record.at, to=record.to, caller=record.caller, presentation=record.presentation, digits=record.digits,
                        id=_label(record.call_id), where=where)


def _from_history(record: CallRecord, where: str, to: str | None, field: str) -> ReplayedCall:
    dialled = record.dialled or to
    if dialled is None:
        raise ScenarioError(f"{where}: call {record.call_id} does not say which number was dialled; give the replay a "
                            f"number for such calls - at `{field}.to`")
    talk = record.talk_seconds if record.outcome == "answered" else None
    patience = record.duration_seconds if record.outcome == "abandoned" else None
    # The history shows a withheld caller as None with its presentation; anything else is the number the PBX gave.
    presentation = record.presentation if record.presentation != "allowed" else None
    return ReplayedCall(at=record.started, to=dialled, caller=record.caller, presentation=presentation, id=_label(record.call_id),
                        talk_seconds=talk, patience_seconds=patience, where=where)


def read_replays(scenario: Scenario, base: Path) -> Scenario:
    """``scenario`` with the calls of each replay's ``file`` (relative to ``base``) read into its ``calls``."""
    arrivals = list(scenario.arrivals)
    for index, spec in enumerate(arrivals):
        if isinstance(spec, ReplayArrivals) and spec.file is not None:
            calls = read_history(Path(base, spec.file), to=spec.to, field=f"$.arrivals[{index}]")
            arrivals[index] = msgspec.structs.replace(spec, calls=[*spec.calls, *calls])
    return msgspec.structs.replace(scenario, arrivals=arrivals)


def replay_scenario(scenario: Scenario, path: Path, *, weeks: int | None = None, to: str | None = None) -> Scenario:
    """``scenario`` with its arrivals replaced by a replay of the history at ``path`` (``simulate --replay``)."""
    spec = ReplayArrivals(file=str(path), weeks=weeks, to=to, calls=read_history(path, to=to, field="--replay"))
    return msgspec.structs.replace(scenario, arrivals=[spec])
