"""``queue show`` says when callers join and leave a queue and how long they wait between ring rounds.

On a copy of the seeded sample tenant, whose ``support`` queue was saved without the rules
(with a no-agents destination: voicemail of 2002).
"""

from __future__ import annotations

from pathlib import Path

from adapters.render_plan import plan_lines
from core.aggregates.targets import ToExtension
from tests.adapters.test_cli import write_json
from tests.adapters.test_cli_admin import T, as_json, ok
from tests.core.routing_builders import MAIN, decide, queue_table

VOICEMAIL_2002 = {"kind": "voicemail", "extension": "2002"}


def save_support(db: Path, tmp_path: Path, **rules: object) -> None:
    spec = {"name": "Support queue", "agents": ["2002", "2003"], "when_no_agents": VOICEMAIL_2002, **rules}
    ok(db, "apply", str(write_json(tmp_path / "queue.json", [{"command": "save_queue", "tenant": T, "queue": "support",
                                                                "spec": spec}])))


def test_queue_show_gives_the_old_rules_of_a_queue_saved_before_they_existed(db: Path) -> None:
    out = ok(db, "queue", "show", "--tenant", T, "--queue", "support")
    for text in ("callers join when   an agent is logged in and reachable, else voicemail of 2002",
                 "callers leave when  never", "next ring round     at once"):
        assert text in out


def test_queue_show_gives_the_rules_a_queue_was_saved_with(db: Path, tmp_path: Path) -> None:
    save_support(db, tmp_path, join_when="agent_free", leave_when="no_agent_logged_in", retry_seconds=10)
    out = ok(db, "queue", "show", "--tenant", T, "--queue", "support")
    for text in ("callers join when   an agent is free, else voicemail of 2002",
                 "callers leave when  no agent is logged in, to voicemail of 2002",
                 "next ring round     10 s after nobody answered"):
        assert text in out


def test_queue_show_json_gives_the_rules_in_force_of_a_queue_saved_without_them(db: Path) -> None:
    shown = as_json(db, "queue", "show", "--tenant", T, "--queue", "support")
    assert isinstance(shown, dict)
    assert (shown["join_when"], shown["leave_when"], shown["retry_seconds"]) == ("agent_reachable", "never", 0)


def test_the_plan_of_a_queue_with_rules_says_when_callers_go_to_its_no_agents_destination() -> None:
    routing = queue_table(when_no_agents=ToExtension(extension="2003"), join_when="agent_free", leave_when="no_agent_logged_in",
                          retry_seconds=5)
    lines = plan_lines(decide(routing, MAIN).plan)
    assert lines[0].endswith("wait at most 600 s, 5 s between ring rounds")
    assert lines[3:] == ["└─ if no agent is free when the caller comes or no agent is logged in while they wait:",
                         "   └─ ring user 2003  (user 2003)"]
