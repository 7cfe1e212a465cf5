"""``group``: list and show answer groups, and the daily work on their members."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import Failure
from adapters.cli.ledger import REASON, TENANT, echo_receipt
from adapters.cli.output import echo_json, echo_table
from adapters.cli.services import echo_lines, lookup
from adapters.cli.users import JSON, counted
from adapters.render import unknown_mark
from adapters.words import describe, member_spec, ring_time_text, seconds, unknown_text, words
from core import commands as c
from core.aggregates.catalog import PbxLink
from core.aggregates.groups import (
    DEFAULT_MEMBER_RING_SECONDS,
    AnswerGroup,
    CloudMember,
    GroupMember,
    LocalMember,
    MemberRef,
    SipMember,
    member_label,
)
from core.aggregates.handling import CallHandling
from core.aggregates.targets import ToRemote
from core.routing.table import group_mailbox, refused_handling

GROUP = click.option("--group", "group_id", required=True, metavar="GROUP", help="The answer group's id, e.g. reception.")
MEMBER_SHAPE = "an extension (2001), cloud:PBX/MEMBER or sip:PBX/NUMBER"
MEMBER = click.option("--member", "member", required=True, metavar="EXT|cloud:PBX/MEMBER|sip:PBX/NUMBER",
                      help="The member: an extension here, cloud:PBX/MEMBER on another cloud PBX, "
                           "or sip:PBX/NUMBER on an office SIP PBX.")


def parse_member(text: str, option: str = "--member") -> MemberRef:
    """``2001``, ``cloud:nordic-dental-malmo/3001`` or ``sip:kyiv-office/101``."""
    value = text.strip()
    kind, colon, rest = value.partition(":")
    if not colon:
        if value.isdigit():
            return LocalMember(extension=value)
        raise Failure(f"{option} {text}: write {MEMBER_SHAPE}")
    pbx, slash, member = rest.partition("/")
    if kind.lower() not in ("cloud", "sip") or not slash or not pbx or not member:
        raise Failure(f"{option} {text}: write {MEMBER_SHAPE}")
    if kind.lower() == "cloud":
        return CloudMember(pbx=pbx, member=member)
    return SipMember(pbx=pbx, internal_number=member)


@click.group()
def group() -> None:
    """List and show answer groups, and add, remove, exclude, include and reorder their members.

    Creating, changing and deleting groups and their settings stays with callroute apply and a
    command file (create_answer_group, update_answer_group, delete_answer_group).
    """


@group.command("list")
@TENANT
@JSON
@pass_env
def group_list(env: Env, slug: str, as_json: bool) -> None:
    """List a tenant's answer groups with their number, strategy, members and fallback."""
    view = env.readable(slug)
    if as_json:
        echo_json([group_json(g, view.pbx_links) for g in view.groups])
        return
    echo_table(["group", "name", "number", "strategy", "members", "timeout", "if nobody answers"],
               [(g.id, g.settings.name, g.settings.number or "-", words(g.settings.strategy), _members(g, view.pbx_links),
                 seconds(g.settings.timeout_seconds), describe(g.settings.fallback) if g.settings.fallback else "-")
                for g in view.groups], title=f"{slug}: {counted(len(view.groups), 'answer group')}")


def _members(found: AnswerGroup, links: tuple[PbxLink, ...] = ()) -> str:
    """A group's members in order, excluded ones and those the PBX directory stopped listing marked, in one line."""
    return ", ".join(member_spec(m.ref) + (" (excluded)" if m.excluded else "")
                     + (" (unknown)" if unknown_mark(links, m.ref) is not None else "") for m in found.members) or "-"


def group_json(found: AnswerGroup, links: tuple[PbxLink, ...] = ()) -> dict[str, object]:
    """A group with every member's ring time and exclusion spelt out (the stored form leaves defaults out).

    A member the PBX directory stopped listing also has ``unknown`` (since when, and what the directory said).
    """
    members = []
    for m in found.members:
        item: dict[str, object] = {"member": member_spec(m.ref), "ref": m.ref, "ring_seconds": m.ring_seconds, "excluded": m.excluded}
        mark = unknown_mark(links, m.ref)
        if mark is not None:
            item["unknown"] = mark
        members.append(item)
    return {"group": found.id, "settings": found.settings, "supervisors": found.supervisors, "reject_anonymous": found.reject_anonymous,
            "members": members}


@group.command("show")
@TENANT
@GROUP
@JSON
@pass_env
def group_show(env: Env, slug: str, group_id: str, as_json: bool) -> None:
    """Show one answer group: its settings, and its members in ringing order with their ring times."""
    view = env.readable(slug)
    found = lookup({g.id: g for g in view.groups}, group_id, "--group", "answer group", view)
    if as_json:
        echo_json(group_json(found, view.pbx_links))
        return
    s = found.settings
    lines = [("number", s.number or "-"), ("billing id", s.billing_id or "-"), ("display number", s.display_number or "-"),
             ("strategy", words(s.strategy)), ("timeout", seconds(s.timeout_seconds)),
             ("if nobody answers", describe(s.fallback) if s.fallback else "-"),
             ("anonymous callers", rejection_text(found, view.defaults))]
    zone = ZoneInfo(view.time_zone)
    marks = [unknown_mark(view.pbx_links, m.ref) for m in found.members]
    lines += [(f"member {i}", f"{member_label(m.ref)}, rings {ring_time_text(m.ring_seconds)}"
               + (", excluded" if m.excluded else "") + (f", {unknown_text(mark, zone)}" if mark else "")
               + f"  [--member {member_spec(m.ref)}]")
              for i, (m, mark) in enumerate(zip(found.members, marks, strict=True), start=1)]
    if not found.members:
        lines.append(("members", "none"))
    lines.append(("supervisors", ", ".join(found.supervisors) or "-"))
    echo_lines(lines, f"answer group {found.id}: {s.name}")


@group.command("check-members")
@TENANT
@click.option("--pbx", metavar="PBX", help="Check only the members on this linked PBX (default: every linked PBX).")
@REASON
@pass_env
def group_check_members(env: Env, slug: str, pbx: str | None, reason: str | None) -> None:
    """Check members on other PBXs against the PBX directory, and record who became unknown or is known again.

    Members of another cloud PBX are looked up in that tenant's users, internal numbers of an
    office SIP PBX in the file named by --pbx-directory. Routing skips a member marked unknown.
    Removing or adding a user runs the same check for that tenant's cloud members by itself.

    \b
    Example:
      callroute group check-members --tenant nordic-dental --pbx-directory adapters/data/pbx_directory.toml
    """
    flags = {"tenant": ("--tenant", slug), "pbx": ("--pbx", pbx)}
    receipt = env.execute([c.CheckPbxMembers(tenant=slug, pbx=pbx, reason=reason)], flags=flags)
    if receipt.events:
        echo_receipt(receipt)
    view = env.readable(slug)
    zone = ZoneInfo(view.time_zone)
    marked = [(link, member, mark) for link in view.pbx_links if pbx in (None, link.id)
              for member, mark in link.unknown_members.items()]
    if not marked:
        click.echo(f"{slug}: every member on {'PBX ' + pbx if pbx else 'other PBXs'} is known to the PBX directory")
        return
    click.echo(f"{slug}: {counted(len(marked), 'member')} on other PBXs unknown to the PBX directory")
    for link, member, mark in marked:
        users = [g.id for g in view.groups if _uses(g, link.id, member)]
        click.echo(f"  {link.kind}:{link.id}/{member}  {unknown_text(mark, zone)}"
                   + (f"; in group {', '.join(users)}" if users else ""))


def _uses(found: AnswerGroup, pbx: str, member: str) -> bool:
    """Whether a group has ``pbx``/``member`` as a member or as its fallback."""
    fallback = found.settings.fallback
    if isinstance(fallback, ToRemote) and (fallback.pbx, fallback.member) == (pbx, member):
        return True
    return any(m.ref == CloudMember(pbx=pbx, member=member) or m.ref == SipMember(pbx=pbx, internal_number=member)
               for m in found.members)


@group.command("reject-anonymous")
@TENANT
@GROUP
@click.option("--on/--off", "enabled", required=True,
              help="Reject callers who withhold their number on every call to the group, or stop rejecting them.")
@REASON
@pass_env
def group_reject_anonymous(env: Env, slug: str, group_id: str, enabled: bool, reason: str | None) -> None:
    """Reject callers who withhold their number on every call to an answer group.

    A rejected caller gets the tenant's default rejected-call handling (set_default_rejected_call_handling),
    else the engaged tone; "voicemail" there means the group's voicemail fallback, and the engaged tone for a
    group without one.

    \b
    Example:
      callroute group reject-anonymous --tenant nordic-dental --group sales --on
    """
    switch = "--on" if enabled else "--off"
    flags = {"tenant": ("--tenant", slug), "group": ("--group", group_id), "enabled": (switch, None)}
    echo_receipt(env.execute([c.SetGroupRejectAnonymous(tenant=slug, group=group_id, enabled=enabled, reason=reason)],
                             flags=flags))
    click.echo(f"{group_id}: " + ("now rejects anonymous callers" if enabled else "accepts anonymous callers again"))


def rejection_text(found: AnswerGroup, defaults: CallHandling) -> str:
    """What an anonymous caller to the group gets, in words."""
    if not found.reject_anonymous:
        return "accepted"
    return f"rejected: {describe(refused_handling(defaults.rejected, group_mailbox(found)))}"


@group.group("member")
def member() -> None:
    """Add, remove, exclude, include and reorder the members of an answer group."""


def _flags(slug: str, group_id: str, member: str) -> dict[str, tuple[str, object]]:
    return {"tenant": ("--tenant", slug), "group": ("--group", group_id), "member": ("--member", member),
            "excluded": ("--member", member)}


GROUP_TIMEOUT = click.option("--group-timeout", is_flag=True,
                             help="No ring time of its own: the member rings for as long as the group's timeout lets it.")


def _ring_seconds(ring_seconds: int | None, group_timeout: bool, default: int | None) -> int | None:
    """The ring time the flags give (``None``: the group's timeout); both flags at once are refused."""
    if group_timeout and ring_seconds is not None:
        raise Failure("--group-timeout: give either --ring-seconds or --group-timeout, not both")
    if group_timeout:
        return None
    return default if ring_seconds is None else ring_seconds


@member.command("add")
@TENANT
@GROUP
@MEMBER
@click.option("--ring-seconds", type=click.IntRange(5, 300), help="How long this member rings (5-300; default 20).")
@GROUP_TIMEOUT
@REASON
@pass_env
def member_add(env: Env, slug: str, group_id: str, member: str, ring_seconds: int | None, group_timeout: bool,
               reason: str | None) -> None:
    """Add a member at the end of an answer group's order.

    \b
    Examples:
      callroute group member add --tenant nordic-dental --group sales --member 2001
      callroute group member add --tenant nordic-dental --group sales \\
          --member cloud:nordic-dental-malmo/3001 --ring-seconds 30
      callroute group member add --tenant nordic-dental --group sales \\
          --member sip:kyiv-office/102 --group-timeout
    """
    ref = parse_member(member)
    ring = _ring_seconds(ring_seconds, group_timeout, DEFAULT_MEMBER_RING_SECONDS)
    flags = {"member.ring_seconds": ("--ring-seconds", ring), **_flags(slug, group_id, member)}
    command = c.AddGroupMember(tenant=slug, group=group_id, member=GroupMember(ref=ref, ring_seconds=ring), reason=reason)
    echo_receipt(env.execute([command], flags=flags))
    click.echo(f"{group_id}: {member_label(ref)} added last, rings {ring_time_text(ring)}")


@member.command("ring-time")
@TENANT
@GROUP
@MEMBER
@click.option("--ring-seconds", type=click.IntRange(5, 300), help="How long this member rings (5-300).")
@GROUP_TIMEOUT
@REASON
@pass_env
def member_ring_time(env: Env, slug: str, group_id: str, member: str, ring_seconds: int | None, group_timeout: bool,
                     reason: str | None) -> None:
    """Set how long one member rings, or let the group's timeout govern it (--group-timeout).

    \b
    Examples:
      callroute group member ring-time --tenant nordic-dental --group sales --member 2004 --ring-seconds 30
      callroute group member ring-time --tenant nordic-dental --group sales --member 2004 --group-timeout
    """
    ref = parse_member(member)
    ring = _ring_seconds(ring_seconds, group_timeout, None)
    if ring is None and not group_timeout:
        raise Failure("--ring-seconds: give --ring-seconds SECONDS or --group-timeout")
    flags = {"ring_seconds": ("--ring-seconds", ring), **_flags(slug, group_id, member)}
    command = (c.ClearGroupMemberRingTime(tenant=slug, group=group_id, member=ref, reason=reason) if ring is None
               else c.SetGroupMemberRingTime(tenant=slug, group=group_id, member=ref, ring_seconds=ring, reason=reason))
    echo_receipt(env.execute([command], flags=flags))
    click.echo(f"{group_id}: {member_label(ref)} now rings {ring_time_text(ring)}")


@member.command("remove")
@TENANT
@GROUP
@MEMBER
@REASON
@pass_env
def member_remove(env: Env, slug: str, group_id: str, member: str, reason: str | None) -> None:
    """Remove a member from an answer group."""
    ref = parse_member(member)
    echo_receipt(env.execute([c.RemoveGroupMember(tenant=slug, group=group_id, member=ref, reason=reason)],
                             flags=_flags(slug, group_id, member)))
    click.echo(f"{group_id}: {member_label(ref)} removed")


def _exclusion(env: Env, slug: str, group_id: str, member: str, excluded: bool, reason: str | None) -> None:
    ref = parse_member(member)
    command = c.SetGroupMemberExcluded(tenant=slug, group=group_id, member=ref, excluded=excluded, reason=reason)
    echo_receipt(env.execute([command], flags=_flags(slug, group_id, member)))
    click.echo(f"{group_id}: {member_label(ref)} " + ("excluded; the group skips them until included again" if excluded
                                                       else "included again"))


@member.command("exclude")
@TENANT
@GROUP
@MEMBER
@REASON
@pass_env
def member_exclude(env: Env, slug: str, group_id: str, member: str, reason: str | None) -> None:
    """Exclude a member from the group's calls for now, keeping their place."""
    _exclusion(env, slug, group_id, member, True, reason)


@member.command("include")
@TENANT
@GROUP
@MEMBER
@REASON
@pass_env
def member_include(env: Env, slug: str, group_id: str, member: str, reason: str | None) -> None:
    """Bring an excluded member back into the group's calls."""
    _exclusion(env, slug, group_id, member, False, reason)


@member.command("reorder")
@TENANT
@GROUP
@click.option("--order", required=True, metavar="MEMBER,MEMBER,...",
              help="Every member once, as --member names them, in the new ringing order (see the example above).")
@REASON
@pass_env
def member_reorder(env: Env, slug: str, group_id: str, order: str, reason: str | None) -> None:
    """Put an answer group's members in a new ringing order.

    \b
    Example:
      callroute group member reorder --tenant nordic-dental --group reception \\
          --order 2002,2001,cloud:nordic-dental-malmo/3001,sip:kyiv-office/101
    """
    refs = tuple(parse_member(part, "--order") for part in order.split(",") if part.strip())
    flags = {"tenant": ("--tenant", slug), "group": ("--group", group_id), "order": ("--order", order)}
    echo_receipt(env.execute([c.ReorderGroupMembers(tenant=slug, group=group_id, order=refs, reason=reason)], flags=flags))
    click.echo(f"{group_id}: members now ring in the order {', '.join(member_label(r) for r in refs)}")
