"""Builders of routing tables and decisions for the routing tests (no event store).

Tables are built directly as ``RoutingTable``/``UserRule`` structs, each test stating exactly
the configuration it needs. The tenant's zone is Europe/Stockholm unless a test says
otherwise; call instants are given in UTC. ``decide`` asks for the explanation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.aggregates.groups import AnswerGroup, GroupMember, GroupSettings, LocalMember
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu, SchemeStep
from core.aggregates.targets import BusyTone as BusyToneHandling
from core.aggregates.targets import (
    HandleWithVoicemail,
    NoAnswerRule,
    Off,
    PlayMessage,
    TextToSpeech,
    ToExtension,
    ToGroup,
    ToIvr,
    ToQueue,
    ToScheme,
)
from core.routing import Call, Decision, Endpoint, Leg, Ring, RoutingMemory, RoutingTable, Step, UserRule, Via, Voicemail, route


STOCKHOLM = "Europe/Stockholm"


CALLER = "+46701234567"


MAIN = "+46812345600"
"""A tenant number; where it enters is up to each test."""


SPARE = "+46812345601"
"""A tenant number routed nowhere (unassigned-number handling)."""


MOBILE = "+441234567890"


OTHER_MOBILE = "+441234567891"


WEBHOOK = "https://crm.example/route"


SIP_URI = "sip:desk@partner.example"


NOON = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
"""Wednesday 12:00 CEST."""


SORRY = TextToSpeech(text="Sorry, we cannot take your call", language="en")


CLOSED = TextToSpeech(text="We are closed", language="en")


PROMPT = TextToSpeech(text="Press 1 for sales, 2 for support", language="en")


NOT_IN_USE = TextToSpeech(text="This number is not in use", language="en")


def greeting(ext: str) -> TextToSpeech:
    return TextToSpeech(text=f"You have reached {ext}", language="sv")


def user(ext: str, **rules: Any) -> UserRule:
    """A user whose every rule is off (keeps ringing), overridden by ``rules``."""
    fields: dict[str, Any] = {
        "extension": ext,
        "name": f"User {ext}",
        "reject_anonymous": False,
        "forward_always": Off(),
        "permanent_redirect": None,
        "out_of_hours": None,
        "unreachable": Off(),
        "busy": Off(),
        "call_waiting": False,
        "no_answer": NoAnswerRule(target=Off()),
        "rejected": HandleWithVoicemail(),
        "voicemail_greeting": greeting(ext),
    }
    fields.update(rules)
    return UserRule(**fields)


def member(ref: Any, **options: Any) -> GroupMember:
    if isinstance(ref, str):
        ref = LocalMember(extension=ref)
    return GroupMember(ref=ref, **options)


def group(key: str, *members: Any, **settings: Any) -> AnswerGroup:
    """An answer group ``key``; members are extensions, member refs or ``GroupMember``s."""
    return AnswerGroup(
        id=key,
        settings=GroupSettings(name=key.title(), **settings),
        members=tuple(m if isinstance(m, GroupMember) else member(m) for m in members),
    )


def table(
    *users: UserRule,
    groups: tuple[AnswerGroup, ...] = (),
    queues: dict[str, CallQueue] | None = None,
    ivrs: dict[str, IvrMenu] | None = None,
    schemes: dict[str, ForwardingScheme] | None = None,
    numbers: dict[str, Any] | None = None,
    unassigned: Any = None,
    time_zone: str = STOCKHOLM,
) -> RoutingTable:
    return RoutingTable(
        tenant="acme",
        version=7,
        time_zone=time_zone,
        users={u.extension: u for u in users},
        groups={g.id: g for g in groups},
        queues=queues or {},
        ivrs=ivrs or {},
        schemes=schemes or {},
        numbers=numbers or {},
        unassigned=unassigned if unassigned is not None else BusyToneHandling(),
        pbx_links={},
    )


def decide(
    routing: RoutingTable,
    dialled: str = "2001",
    *,
    at: datetime = NOON,
    caller: str | None = CALLER,
    states: dict[str, Any] | None = None,
    memory: RoutingMemory | None = None,
    **call: Any,
) -> Decision:
    return route(routing, Call(dialled=dialled, at=at, caller=caller, **call), states, memory, explain=True)


def steps(decision: Decision, rule: str, at: str | None = None) -> list[Step]:
    return [s for s in decision.explanation if s.rule == rule and (at is None or s.at == at)]


def the_step(decision: Decision, rule: str, at: str | None = None) -> Step:
    found = steps(decision, rule, at)
    assert len(found) == 1, f"{rule!r} at {at!r}: {decision.explanation}"
    return found[0]


def rules(decision: Decision, at: str) -> list[str]:
    return [s.rule for s in decision.explanation if s.at == at]


def ring(ext: str, seconds: int | None = None, **kwargs: Any) -> Ring:
    return Ring(legs=(Leg(endpoint=Endpoint(kind="user", id=ext), seconds=seconds),), **via(f"user {ext}"), **kwargs)


def via(text: str) -> dict[str, Any]:
    """A ring's ``via`` words and the ``purpose`` data route() gives with them (``scheme sales step 2``)."""
    words = text.split()
    if words[0] == "user":
        purpose = Via(kind="redirect" if len(words) > 2 else "user", target=words[1])
    elif words[0] == "scheme":
        step = int(words[3]) if len(words) == 4 and words[2] == "step" else None
        purpose = Via(kind="scheme", target=words[1], step=step)
    else:
        purpose = Via(kind={"number": "number", "group": "group", "PBX": "pbx", "SIP": "sip"}[words[0]], target=words[1])
    return {"via": text, "purpose": purpose}


def legs(node: Any) -> list[str]:
    assert isinstance(node, Ring), node
    return [leg.endpoint.id for leg in node.legs]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def user_leg(ext: str, seconds: int) -> Leg:
    return Leg(endpoint=Endpoint(kind="user", id=ext), seconds=seconds)


def voicemail(ext: str) -> Voicemail:
    return Voicemail(box=ext, greeting=greeting(ext))


OFFICE = OpeningHours(days={d: (Window(start="09:00", end="18:00"),) for d in ("mon", "tue", "wed", "thu", "fri")})


def office_ivr(**options: Any) -> RoutingTable:
    menu = IvrMenu(name="Main", prompt=PROMPT, options={"1": ToExtension(extension="2001")}, opening_hours=OFFICE,
                   when_closed=PlayMessage(message=CLOSED), **options)
    return table(user("2001"), ivrs={"main": menu}, numbers={MAIN: ToIvr(ivr="main")})


def office_scheme(**options: Any) -> RoutingTable:
    scheme = ForwardingScheme(name="Sales", steps=(SchemeStep(destination=ToExtension(extension="2001"), timeout_seconds=30),),
                              working_hours=OFFICE, **options)
    return table(user("2001"), schemes={"sales": scheme}, numbers={MAIN: ToScheme(scheme="sales")})


TEAM = ("2001", "2002", "2003")


def team_table(*groups: AnswerGroup, **kwargs: Any) -> RoutingTable:
    return table(*(user(e) for e in (*TEAM, "2004")), groups=groups, numbers={MAIN: ToGroup(group="sales")}, **kwargs)


def queue_table(**settings: Any) -> RoutingTable:
    queue = CallQueue(name="Support", agents=("2001", "2002"), **settings)
    return table(user("2001"), user("2002"), user("2003"), queues={"support": queue}, numbers={MAIN: ToQueue(queue="support")})
