"""Writes the AMI traffic files of this directory (run it after changing a scenario: ``python write_traffic.py``).

Each file is what an Asterisk manager sends, byte for byte, in one scenario: frames of CRLF lines
ended by an empty line, with the fields, their order and their values as Asterisk writes them
(the sources of each layout are cited in ``README.md``). The scenarios are written here rather
than as text so that each channel's snapshot (14 lines in every channel event) is written once,
consistently, and a scenario reads as the sequence of events it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
T0 = 1721901000.0
"""2024-07-25T09:50:00Z: the instant the timestamped scenarios start at."""


@dataclass(frozen=True)
class Chan:
    """A channel's snapshot as ``ast_manager_build_channel_state_string_prefix`` (main/manager_channels.c) writes it."""

    name: str
    uid: str
    linkedid: str
    state: int = 0
    num: str = "<unknown>"
    cname: str = "<unknown>"
    conn_num: str = "<unknown>"
    conn_name: str = "<unknown>"
    context: str = "from-internal"
    exten: str = "s"
    priority: int = 1

    def at(self, **changes: object) -> Chan:
        return replace(self, **changes)

    def fields(self, prefix: str = "") -> list[tuple[str, str]]:
        return [
            (f"{prefix}Channel", self.name),
            (f"{prefix}ChannelState", str(self.state)),
            (f"{prefix}ChannelStateDesc", STATE_DESC[self.state]),
            (f"{prefix}CallerIDNum", self.num),
            (f"{prefix}CallerIDName", self.cname),
            (f"{prefix}ConnectedLineNum", self.conn_num),
            (f"{prefix}ConnectedLineName", self.conn_name),
            (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""),
            (f"{prefix}Context", self.context),
            (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", str(self.priority)),
            (f"{prefix}Uniqueid", self.uid),
            (f"{prefix}Linkedid", self.linkedid),
        ]


class Script:
    """A scenario: frames in order; ``t`` is the server's clock (written as ``Timestamp`` when ``stamped``)."""

    def __init__(self, stamped: bool = True) -> None:
        self.frames: list[list[tuple[str, str]]] = []
        self.t = T0
        self.stamped = stamped

    def wait(self, seconds: float) -> None:
        self.t += seconds

    def event(self, name: str, privilege: str, *parts: list[tuple[str, str]], **extra: str) -> None:
        self.t += 0.000131
        frame = [("Event", name), ("Privilege", privilege)]
        if self.stamped:
            frame.append(("Timestamp", f"{self.t:.6f}"))
        for part in parts:
            frame.extend(part)
        frame.extend((k.replace("_", "-"), v) for k, v in extra.items())
        self.frames.append(frame)

    def raw(self, *pairs: tuple[str, str]) -> None:
        self.frames.append(list(pairs))

    # -- the events of main/manager_channels.c, main/manager_bridges.c, main/stasis_channels.c --------------------

    def newchannel(self, c: Chan) -> None:
        self.event("Newchannel", "call,all", c.fields())

    def newstate(self, c: Chan) -> None:
        self.event("Newstate", "call,all", c.fields())

    def newexten(self, c: Chan, app: str, data: str) -> None:
        self.event("Newexten", "dialplan,all", c.fields(), Extension=c.exten, Application=app, AppData=data)

    def varset(self, c: Chan, variable: str, value: str) -> None:
        self.event("VarSet", "dialplan,all", c.fields(), Variable=variable, Value=value)

    def dial_begin(self, c: Chan, d: Chan, dialstring: str) -> None:
        self.event("DialBegin", "call,all", c.fields(), d.fields("Dest"), DialString=dialstring)

    def dial_state(self, c: Chan, d: Chan, status: str) -> None:
        self.event("DialState", "call,all", c.fields(), d.fields("Dest"), DialStatus=status)

    def dial_end(self, c: Chan, d: Chan, status: str) -> None:
        self.event("DialEnd", "call,all", c.fields(), d.fields("Dest"), DialStatus=status)

    def bridge(self, kind: str, bridge: str, count: int, c: Chan | None = None) -> None:
        fields = [("BridgeUniqueid", bridge), ("BridgeType", "basic"), ("BridgeTechnology", "simple_bridge"),
                  ("BridgeCreator", "<unknown>"), ("BridgeName", "<unknown>"), ("BridgeNumChannels", str(count)),
                  ("BridgeVideoSourceMode", "none")]
        self.event(kind, "call,all", fields, *([c.fields()] if c else []))

    def hangup_request(self, c: Chan, cause: int = 16) -> None:
        self.event("HangupRequest", "call,all", c.fields(), Cause=str(cause))

    def hangup(self, c: Chan, cause: int, text: str) -> None:
        self.event("Hangup", "call,all", c.fields(), Cause=str(cause), Cause_txt=text)

    def device(self, device: str, state: str) -> None:
        self.event("DeviceStateChange", "call,all", [("Device", device), ("State", state)])

    def extension_status(self, exten: str, hint: str, status: int, text: str) -> None:
        self.event("ExtensionStatus", "call,all", [("Exten", exten), ("Context", "ext-local"), ("Hint", hint),
                                                   ("Status", str(status)), ("StatusText", text)])

    # -- app_queue.c --------------------------------------------------------------------------------------------

    def queue_caller(self, kind: str, c: Chan, queue: str, **extra: str) -> None:
        self.event(f"QueueCaller{kind}", "agent,all", c.fields(), [("Queue", queue)], **extra)

    def agent(self, kind: str, c: Chan, d: Chan, queue: str, interface: str, member: str, **extra: str) -> None:
        self.event(f"Agent{kind}", "agent,all", c.fields(), d.fields("Dest"),
                   [("Queue", queue), ("Interface", interface), ("MemberName", member)], **extra)

    def member(self, kind: str, queue: str, interface: str, name: str, paused: int = 0, status: int = 1) -> None:
        self.event(f"QueueMember{kind}", "agent,all", [
            ("Queue", queue), ("MemberName", name), ("Interface", interface), ("StateInterface", interface_state(interface)),
            ("Membership", "dynamic"), ("Penalty", "0"), ("CallsTaken", "0"), ("LastCall", "0"), ("LastPause", "0"),
            ("LoginTime", str(int(T0) - 3600)), ("InCall", "0"), ("Status", str(status)), ("Paused", str(paused)),
            ("PausedReason", "lunch" if paused else ""), ("Ringinuse", "0"), ("Wrapuptime", "0")])

    def write(self, name: str) -> None:
        data = "".join("".join(f"{k}: {v}\r\n" for k, v in frame) + "\r\n" for frame in self.frames)
        (HERE / name).write_bytes(data.encode("utf-8"))


def interface_state(interface: str) -> str:
    """The device a queue member's state follows: ``Local/201@from-queue/n`` → ``PJSIP/201``."""
    if interface.startswith("Local/"):
        return "PJSIP/" + interface[6:].partition("@")[0]
    return interface


def trunk_call(uid: str, caller: str, did: str, seq: int) -> Chan:
    return Chan(f"PJSIP/telia-{seq:08x}", uid, uid, 0, caller, caller, context="from-pstn", exten=did)


# ---------------------------------------------------------------------------------------------------------------------


def call_answered() -> Script:
    """A call from the PSTN to a DID, dialled to extension 201, answered, hung up by the caller.

    The order of events is the published chan_sip capture's (goami2 ``fixtures_test.go``, ``getAmiFixtureCall``),
    with PJSIP channels; like that capture, the ``DialEnd`` frame follows the previous frame without its empty line.
    """
    s = Script()
    a = trunk_call("1721901000.101", "+46701234567", "+4640123456", 0x65)
    s.newchannel(a)
    a = a.at(state=4)
    s.newstate(a)
    s.newexten(a, "NoOp", "DID +4640123456")
    s.varset(a, "__FROM_DID", "+4640123456")
    s.newexten(a.at(priority=2), "Dial", "PJSIP/201,30,tT")
    b = Chan("PJSIP/201-00000066", "1721901000.102", "1721901000.101", 0, "201", "Anna Berg", "+46701234567",
             "+46701234567", "from-pstn", "+4640123456")
    s.newchannel(b)
    s.newexten(b, "AppDial", "(Outgoing Line)")
    s.dial_begin(a.at(priority=2), b, "201")
    s.device("PJSIP/201", "RINGING")
    b = b.at(state=5)
    s.newstate(b)
    s.dial_state(a.at(priority=2), b, "RINGING")
    s.extension_status("201", "PJSIP/201", 8, "Ringing")
    s.wait(7.2)
    b = b.at(state=6)
    s.newstate(b)
    s.device("PJSIP/201", "INUSE")
    s.dial_end(a.at(priority=2), b, "ANSWER")
    s.frames[-2].append(("", "__GLUE__"))  # marks the missing empty line (see write_glued)
    a = a.at(state=6, priority=2, conn_num="201", conn_name="Anna Berg")
    s.newstate(a)
    s.bridge("BridgeCreate", "4d5a6b1e-0001", 0)
    s.bridge("BridgeEnter", "4d5a6b1e-0001", 1, b)
    s.bridge("BridgeEnter", "4d5a6b1e-0001", 2, a)
    s.wait(95.4)
    s.hangup_request(a)
    s.bridge("BridgeLeave", "4d5a6b1e-0001", 1, a)
    s.bridge("BridgeLeave", "4d5a6b1e-0001", 0, b)
    s.bridge("BridgeDestroy", "4d5a6b1e-0001", 0)
    s.hangup(b, 16, "Normal Clearing")
    s.device("PJSIP/201", "NOT_INUSE")
    s.extension_status("201", "PJSIP/201", 0, "Idle")
    s.newexten(a.at(exten="h", priority=1), "NoOp", "hangup")
    s.hangup(a, 16, "Normal Clearing")
    return s


def call_busy() -> Script:
    """Extension 202 calls 201, which is busy (no timestamps: ``timestampevents`` is off by default)."""
    s = Script(stamped=False)
    a = Chan("PJSIP/202-00000070", "1721901100.112", "1721901100.112", 0, "202", "Bo Ek", exten="201")
    s.newchannel(a)
    a = a.at(state=4)
    s.newstate(a)
    s.newexten(a, "Dial", "PJSIP/201,30")
    b = Chan("PJSIP/201-00000071", "1721901100.113", "1721901100.112", 0, "201", "Anna Berg", "202", "Bo Ek", exten="201")
    s.newchannel(b)
    s.dial_begin(a, b, "201")
    s.dial_end(a, b, "BUSY")
    s.hangup(b, 17, "User busy")
    s.newexten(a.at(priority=2), "Hangup", "17")
    s.hangup(a, 17, "User busy")
    return s


def call_voicemail() -> Script:
    """A call to 201 that rings 20 s unanswered and goes to 201's voicemail box (FreePBX's ``VoiceMail(201@default,u)``)."""
    s = Script()
    a = trunk_call("1721901200.120", "+46709876543", "+4640123457", 0x78)
    s.newchannel(a)
    a = a.at(state=4)
    s.newstate(a)
    s.newexten(a, "Dial", "PJSIP/201,20")
    b = Chan("PJSIP/201-00000079", "1721901200.121", "1721901200.120", 0, "201", "Anna Berg", "+46709876543",
             "+46709876543", "from-pstn", "+4640123457")
    s.newchannel(b)
    s.dial_begin(a, b, "201")
    b = b.at(state=5)
    s.newstate(b)
    s.dial_state(a, b, "RINGING")
    s.wait(20.0)
    s.dial_end(a, b, "NOANSWER")
    s.hangup(b, 19, "No answer")
    a = a.at(priority=2)
    s.newexten(a, "VoiceMail", "201@default,u")
    a = a.at(state=6)
    s.newstate(a)
    s.wait(31.0)
    s.hangup(a, 16, "Normal Clearing")
    return s


def local_agent(queue_call: Chan, member: str, seq: int, uid1: str, uid2: str) -> tuple[Chan, Chan]:
    """The two halves of ``Local/<member>@from-queue/n`` as app_queue creates them for a call (FreePBX's queue members)."""
    base = f"Local/{member}@from-queue-{seq:08x}"
    one = Chan(f"{base};1", uid1, queue_call.linkedid, 0, queue_call.exten, "<unknown>", queue_call.num, queue_call.cname,
               "from-queue", queue_call.exten)
    two = Chan(f"{base};2", uid2, queue_call.linkedid, 4, queue_call.num, queue_call.cname, "<unknown>", "<unknown>",
               "from-queue", member)
    return one, two


def ring_agent(s: Script, a: Chan, queue: str, member: str, name: str, seq: int, ids: tuple[str, str, str]) -> tuple[Chan, Chan, Chan]:
    """app_queue rings a Local member: AgentCalled, DialBegin to the ;1 half, the ;2 half dials the phone."""
    one, two = local_agent(a, member, seq, ids[0], ids[1])
    s.newchannel(one)
    s.newchannel(two.at(state=0))
    interface = f"Local/{member}@from-queue/n"
    s.agent("Called", a, one, queue, interface, name)
    s.dial_begin(a, one, f"{member}@from-queue/n")
    s.newstate(two)
    s.newexten(two, "Dial", f"PJSIP/{member},,tr")
    phone = Chan(f"PJSIP/{member}-{seq + 1:08x}", ids[2], a.linkedid, 0, member, name, a.num, a.cname, "from-queue",
                 member)
    s.newchannel(phone)
    s.dial_begin(two, phone, member)
    phone = phone.at(state=5)
    s.newstate(phone)
    s.dial_state(two, phone, "RINGING")
    one = one.at(state=5)
    s.newstate(one)
    s.dial_state(a, one, "RINGING")
    return one, two, phone


def unring_agent(s: Script, a: Chan, queue: str, member: str, name: str, one: Chan, two: Chan, phone: Chan, status: str,
                 cause: tuple[int, str]) -> None:
    """A ringing Local member that does not answer (``NOANSWER``) or is called off (``CANCEL``), as app_queue reports it."""
    s.dial_end(a, one, status)
    if status == "NOANSWER":
        s.agent("RingNoAnswer", a, one, queue, f"Local/{member}@from-queue/n", name, RingTime="15000")
    s.hangup(one, *cause)
    s.dial_end(two, phone, "CANCEL")
    s.hangup(phone, *cause)
    s.hangup(two, *cause)


def queue_answered() -> Script:
    """A call to the support queue (``ringall``, FreePBX Local members 201 and 202).

    First round: both agents ring 15 s and do not answer (``DialEnd NOANSWER`` and ``AgentRingNoAnswer`` each).
    Second round: both ring again; 202 answers, 201's leg is called off (``CANCEL``, cause 26 answered elsewhere).
    The order follows app_queue.c (``AgentCalled`` before ``DialBegin``; ``ANSWER`` then ``CANCEL`` for the others;
    ``QueueCallerLeave`` before ``AgentConnect``) and the fields the published FreePBX capture shows (README).
    """
    s = Script()
    a = trunk_call("1721901300.130", "+46705550101", "+4640123400", 0x82)
    s.newchannel(a)
    a = a.at(state=4)
    s.newstate(a)
    s.newexten(a, "Answer", "")
    a = a.at(state=6)
    s.newstate(a)
    a = a.at(priority=2, exten="+4640123400")
    s.newexten(a, "Queue", "support,tr,,,60")
    s.queue_caller("Join", a, "support", Position="1", Count="1")
    legs1 = {m: ring_agent(s, a, "support", m, n, seq, ids) for m, n, seq, ids in (
        ("201", "Anna Berg", 0x83, ("1721901300.131", "1721901300.132", "1721901300.133")),
        ("202", "Carl Dahl", 0x85, ("1721901300.134", "1721901300.135", "1721901300.136")))}
    s.wait(15.0)
    for m, n in (("201", "Anna Berg"), ("202", "Carl Dahl")):
        unring_agent(s, a, "support", m, n, *legs1[m], "NOANSWER", (16, "Normal Clearing"))
    s.wait(2.0)
    legs2 = {m: ring_agent(s, a, "support", m, n, seq, ids) for m, n, seq, ids in (
        ("201", "Anna Berg", 0x87, ("1721901317.137", "1721901317.138", "1721901317.139")),
        ("202", "Carl Dahl", 0x89, ("1721901317.140", "1721901317.141", "1721901317.142")))}
    s.wait(4.0)
    one, two, phone = legs2["202"]
    phone = phone.at(state=6)
    s.newstate(phone)
    s.dial_end(two, phone, "ANSWER")
    two = two.at(state=6)
    s.newstate(two)
    one = one.at(state=6, num="202", cname="Carl Dahl")
    s.newstate(one)
    s.dial_end(a, one, "ANSWER")
    unring_agent(s, a, "support", "201", "Anna Berg", *legs2["201"], "CANCEL", (26, "Answered elsewhere"))
    s.queue_caller("Leave", a, "support", Position="1", Count="0")
    s.bridge("BridgeCreate", "7c1f0c2e-0002", 0)
    s.bridge("BridgeEnter", "7c1f0c2e-0002", 1, a)
    s.bridge("BridgeEnter", "7c1f0c2e-0002", 2, one)
    s.agent("Connect", a, one, "support", "Local/202@from-queue/n", "Carl Dahl", HoldTime="21", RingTime="4")
    s.bridge("BridgeCreate", "7c1f0c2e-0003", 0)
    s.bridge("BridgeEnter", "7c1f0c2e-0003", 1, two)
    s.bridge("BridgeEnter", "7c1f0c2e-0003", 2, phone)
    s.wait(180.0)
    s.hangup_request(phone)
    s.bridge("BridgeLeave", "7c1f0c2e-0003", 1, phone)
    s.hangup(phone, 16, "Normal Clearing")
    s.bridge("BridgeLeave", "7c1f0c2e-0003", 0, two)
    s.hangup(two, 16, "Normal Clearing")
    s.bridge("BridgeLeave", "7c1f0c2e-0002", 1, one)
    s.hangup(one, 16, "Normal Clearing")
    s.agent("Complete", a, one, "support", "Local/202@from-queue/n", "Carl Dahl", HoldTime="21", TalkTime="180",
            Reason="agent")
    s.bridge("BridgeLeave", "7c1f0c2e-0002", 0, a)
    s.hangup(a, 16, "Normal Clearing")
    return s


def queue_abandoned() -> Script:
    """A caller waits in the sales queue while agent 203 (a PJSIP member) rings, and hangs up after 12 s."""
    s = Script()
    a = trunk_call("1721901500.150", "+46705550202", "+4640123401", 0x96)
    s.newchannel(a)
    a = a.at(state=6, priority=2, exten="+4640123401")
    s.newstate(a)
    s.newexten(a, "Queue", "sales,t")
    s.queue_caller("Join", a, "sales", Position="1", Count="1")
    b = Chan("PJSIP/203-00000097", "1721901500.151", a.linkedid, 0, "203", "Dan Falk", a.num, a.num, "from-pstn", a.exten)
    s.newchannel(b)
    s.agent("Called", a, b, "sales", "PJSIP/203", "Dan Falk")
    s.dial_begin(a, b, "203")
    b = b.at(state=5)
    s.newstate(b)
    s.wait(12.0)
    s.hangup_request(a)
    s.dial_end(a, b, "CANCEL")
    s.hangup(b, 16, "Normal Clearing")
    s.queue_caller("Abandon", a, "sales", Position="1", OriginalPosition="1", HoldTime="12")
    s.queue_caller("Leave", a, "sales", Position="1", Count="0")
    s.hangup(a, 16, "Normal Clearing")
    return s


def presence() -> Script:
    """Device, hint and queue member states (res_manager_devicestate.c, extension_state.c, app_queue.c)."""
    s = Script()
    s.device("PJSIP/201", "INUSE")
    s.extension_status("201", "PJSIP/201", 1, "InUse")
    s.device("PJSIP/201", "NOT_INUSE")
    s.device("Queue:support", "INUSE")
    s.device("PJSIP/202", "UNAVAILABLE")
    s.device("PJSIP/202", "UNAVAILABLE")
    s.extension_status("204", "PJSIP/204", -1, "Unknown")
    s.extension_status("205", "PJSIP/205", 9, "InUse&Ringing")
    s.member("Added", "support", "Local/203@from-queue/n", "Dan Falk")
    s.member("Pause", "support", "Local/203@from-queue/n", "Dan Falk", paused=1)
    s.member("Status", "support", "Local/203@from-queue/n", "Dan Falk", paused=1, status=2)
    s.member("Pause", "support", "Local/203@from-queue/n", "Dan Falk", paused=0)
    s.member("Removed", "support", "Local/203@from-queue/n", "Dan Falk")
    s.event("PeerStatus", "system,all", [("ChannelType", "PJSIP"), ("Peer", "PJSIP/201"), ("PeerStatus", "Reachable")])
    return s


# -- the reconnect scenario: before the server drops the connection, the snapshot after, and the rest ------------------

QA = trunk_call("1721902000.200", "+46705550303", "+4640123400", 0xC8).at(state=6, priority=2)
"""A queue call answered by agent 201 before the disconnect, still talking in the snapshot."""
QB = trunk_call("1721902000.210", "+46705550404", "+4640123402", 0xD2)
"""A call that was ringing 202 before the disconnect and ended while the client was away."""
QC = trunk_call("1721902060.220", "+46705550505", "+4640123403", 0xDC)
"""A call that came in while the client was away: ringing 204 in the snapshot, answered after."""


def reconnect_before() -> Script:
    s = Script()
    s.t = 1721902000.0
    a = QA.at(state=4, priority=1)
    s.newchannel(a)
    a = a.at(state=6, priority=2)
    s.newstate(a)
    s.newexten(a, "Queue", "support,tr")
    s.queue_caller("Join", a, "support", Position="1", Count="1")
    one, two, phone = ring_agent(s, a, "support", "201", "Anna Berg", 0xC9, ("1721902000.201", "1721902000.202",
                                                                             "1721902000.203"))
    s.wait(3.0)
    phone = phone.at(state=6)
    s.newstate(phone)
    s.dial_end(two, phone, "ANSWER")
    one = one.at(state=6)
    s.newstate(one)
    s.dial_end(a, one, "ANSWER")
    s.queue_caller("Leave", a, "support", Position="1", Count="0")
    s.agent("Connect", a, one, "support", "Local/201@from-queue/n", "Anna Berg", HoldTime="3", RingTime="3")
    b = QB
    s.newchannel(b)
    b = b.at(state=4)
    s.newstate(b)
    s.newexten(b, "Dial", "PJSIP/202,30")
    d = Chan("PJSIP/202-000000d3", "1721902000.211", b.linkedid, 0, "202", "Carl Dahl", b.num, b.num, "from-pstn", b.exten)
    s.newchannel(d)
    s.dial_begin(b, d, "202")
    s.newstate(d.at(state=5))
    return s


def reconnect_snapshot() -> dict[str, Script]:
    """What ``CoreShowChannels``, ``QueueStatus`` and ``DeviceStateList`` answer after the reconnect (manager.c,
    app_queue.c, res_manager_devicestate.c): the list's events only; the test server adds the ``ActionID``."""
    channels = Script(stamped=False)
    listed = [
        (QA.at(exten="+4640123400"), "Queue", "support,tr", "00:01:10", "b-200"),
        (QC.at(state=4, priority=2), "Dial", "PJSIP/204,30", "00:00:10", ""),
        (Chan("PJSIP/201-000000cb", "1721902000.203", QA.linkedid, 6, "201", "Anna Berg", QA.num, QA.num, "from-queue",
              "201"), "AppDial", "(Outgoing Line)", "00:01:08", "b-201"),
        (Chan("Local/201@from-queue-000000c9;1", "1721902000.201", QA.linkedid, 6, "201", "Anna Berg", QA.num, QA.num,
              "from-queue", "+4640123400"), "AppQueue", "(Outgoing Line)", "00:01:08", "b-200"),
        (Chan("PJSIP/204-000000dd", "1721902060.221", QC.linkedid, 5, "204", "Eva Gran", QC.num, QC.num, "from-pstn",
              QC.exten), "AppDial", "(Outgoing Line)", "00:00:09", ""),
        (Chan("Local/201@from-queue-000000c9;2", "1721902000.202", QA.linkedid, 6, QA.num, QA.num, "201", "Anna Berg",
              "from-queue", "201", 2), "Dial", "PJSIP/201,,tr", "00:01:08", "b-201"),
    ]
    for chan, app, data, duration, bridge in listed:
        channels.event("CoreShowChannel", "", chan.fields(), Application=app, ApplicationData=data, Duration=duration,
                       BridgeId=bridge)
    for frame in channels.frames:
        del frame[1]  # a listing line has no Privilege
    queues = Script(stamped=False)
    queues.raw(("Event", "QueueParams"), ("Queue", "support"), ("Max", "0"), ("Strategy", "ringall"), ("Calls", "0"),
               ("Holdtime", "3"), ("TalkTime", "0"), ("Completed", "0"), ("Abandoned", "0"), ("ServiceLevel", "60"),
               ("ServicelevelPerf", "0.0"), ("ServicelevelPerf2", "0.0"), ("Weight", "0"))
    for member, name, paused in (("201", "Anna Berg", 0), ("202", "Carl Dahl", 1)):
        queues.raw(("Event", "QueueMember"), ("Queue", "support"), ("Name", name), ("Location", f"Local/{member}@from-queue/n"),
                   ("StateInterface", f"PJSIP/{member}"), ("Membership", "dynamic"), ("Penalty", "0"), ("CallsTaken", "1"),
                   ("LastCall", "1721902003"), ("LastPause", "0"), ("LoginTime", "1721898000"), ("InCall", "0"),
                   ("Status", "2" if member == "201" else "1"), ("Paused", str(paused)),
                   ("PausedReason", "lunch" if paused else ""), ("Wrapuptime", "0"))
    devices = Script(stamped=False)
    for device, state in (("PJSIP/201", "INUSE"), ("PJSIP/202", "NOT_INUSE"), ("PJSIP/204", "RINGING"),
                          ("Queue:support", "NOT_INUSE")):
        devices.raw(("Event", "DeviceStateChange"), ("Device", device), ("State", state))
    return {"CoreShowChannels": channels, "QueueStatus": queues, "DeviceStateList": devices}


def reconnect_after() -> Script:
    s = Script()
    s.t = 1721902075.0
    c = QC.at(state=4, priority=2)
    e = Chan("PJSIP/204-000000dd", "1721902060.221", QC.linkedid, 6, "204", "Eva Gran", QC.num, QC.num, "from-pstn", QC.exten)
    s.newstate(e)
    s.dial_end(c, e, "ANSWER")
    s.wait(30.0)
    s.hangup(e, 16, "Normal Clearing")
    s.hangup(c.at(state=6), 16, "Normal Clearing")
    a = QA.at(exten="+4640123400")
    one = Chan("Local/201@from-queue-000000c9;1", "1721902000.201", QA.linkedid, 6, "201", "Anna Berg", QA.num, QA.num,
               "from-queue", "+4640123400")
    two = Chan("Local/201@from-queue-000000c9;2", "1721902000.202", QA.linkedid, 6, QA.num, QA.num, "201", "Anna Berg",
               "from-queue", "201", 2)
    phone = Chan("PJSIP/201-000000cb", "1721902000.203", QA.linkedid, 6, "201", "Anna Berg", QA.num, QA.num, "from-queue", "201")
    s.hangup(phone, 16, "Normal Clearing")
    s.hangup(two, 16, "Normal Clearing")
    s.hangup(one, 16, "Normal Clearing")
    s.agent("Complete", a, one, "support", "Local/201@from-queue/n", "Anna Berg", HoldTime="3", TalkTime="100", Reason="agent")
    s.hangup(a, 16, "Normal Clearing")
    return s


def write_glued(script: Script, name: str) -> None:
    """Like ``Script.write``, but a frame marked ``__GLUE__`` is written without its empty line (a real server's slip)."""
    out = []
    for frame in script.frames:
        glued = ("", "__GLUE__") in frame
        out.append("".join(f"{k}: {v}\r\n" for k, v in frame if (k, v) != ("", "__GLUE__")) + ("" if glued else "\r\n"))
    (HERE / name).write_bytes("".join(out).encode("utf-8"))


def main() -> None:
    write_glued(call_answered(), "call_answered.ami")
    call_busy().write("call_busy.ami")
    call_voicemail().write("call_voicemail.ami")
    queue_answered().write("queue_answered.ami")
    queue_abandoned().write("queue_abandoned.ami")
    presence().write("presence.ami")
    reconnect_before().write("reconnect_before.ami")
    for action, script in reconnect_snapshot().items():
        script.write(f"reconnect_snapshot_{action}.ami")
    reconnect_after().write("reconnect_after.ami")


if __name__ == "__main__":
    main()
