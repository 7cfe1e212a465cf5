"""``group``: list and show answer groups, and the daily work on their members."""

from __future__ import annotations

import click

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import Failure
from adapters.cli.ledger import REASON, TENANT, echo_receipt
from adapters.cli.output import echo_json, echo_table
from adapters.cli.services import echo_lines, lookup
from adapters.cli.users import JSON, counted
from adapters.words import describe, member_spec, seconds, words
from core import commands as c
from core.aggregates.groups import AnswerGroup, CloudMember, GroupMember, LocalMember, MemberRef, SipMember, member_label

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
        echo_json([group_json(g) for g in view.groups])
        return
    echo_table(["group", "name", "number", "strategy", "members", "timeout", "if nobody answers"],
               [(g.id, g.settings.name, g.settings.number or "-", words(g.settings.strategy), _members(g),
                 seconds(g.settings.timeout_seconds), describe(g.settings.fallback) if g.settings.fallback else "-")
                for g in view.groups], title=f"{slug}: {counted(len(view.groups), 'answer group')}")


def _members(found: AnswerGroup) -> str:
    """A group's members in order, excluded ones marked, in one line."""
    return ", ".join(member_spec(m.ref) + (" (excluded)" if m.excluded else "") for m in found.members) or "-"


def group_json(found: AnswerGroup) -> dict[str, object]:
    """A group with every member's ring time and exclusion spelt out (the stored form leaves defaults out)."""
    return {"group": found.id, "settings": found.settings, "supervisors": found.supervisors,
            "members": [{"member": member_spec(m.ref), "ref": m.ref, "ring_seconds": m.ring_seconds, "excluded": m.excluded}
                        for m in found.members]}


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
        echo_json(group_json(found))
        return
    s = found.settings
    lines = [("number", s.number or "-"), ("billing id", s.billing_id or "-"), ("display number", s.display_number or "-"),
             ("strategy", words(s.strategy)), ("timeout", seconds(s.timeout_seconds)),
             ("if nobody answers", describe(s.fallback) if s.fallback else "-")]
    lines += [(f"member {i}", f"{member_label(m.ref)}, rings {seconds(m.ring_seconds)}"
               + (", excluded" if m.excluded else "") + f"  [--member {member_spec(m.ref)}]")
              for i, m in enumerate(found.members, start=1)]
    if not found.members:
        lines.append(("members", "none"))
    lines.append(("supervisors", ", ".join(found.supervisors) or "-"))
    echo_lines(lines, f"answer group {found.id}: {s.name}")


@group.group("member")
def member() -> None:
    """Add, remove, exclude, include and reorder the members of an answer group."""


def _flags(slug: str, group_id: str, member: str) -> dict[str, tuple[str, object]]:
    return {"tenant": ("--tenant", slug), "group": ("--group", group_id), "member": ("--member", member),
            "excluded": ("--member", member)}


@member.command("add")
@TENANT
@GROUP
@MEMBER
@click.option("--ring-seconds", type=click.IntRange(5, 300), default=20, show_default=True, help="How long this member rings (5-300).")
@REASON
@pass_env
def member_add(env: Env, slug: str, group_id: str, member: str, ring_seconds: int, reason: str | None) -> None:
    """Add a member at the end of an answer group's order.

    \b
    Examples:
      callroute group member add --tenant nordic-dental --group sales --member 2001
      callroute group member add --tenant nordic-dental --group sales \\
          --member cloud:nordic-dental-malmo/3001 --ring-seconds 30
      callroute group member add --tenant nordic-dental --group sales \\
          --member sip:kyiv-office/102
    """
    ref = parse_member(member)
    flags = {"member.ring_seconds": ("--ring-seconds", ring_seconds), **_flags(slug, group_id, member)}
    command = c.AddGroupMember(tenant=slug, group=group_id, member=GroupMember(ref=ref, ring_seconds=ring_seconds),
                               reason=reason)
    echo_receipt(env.execute([command], flags=flags))
    click.echo(f"{group_id}: {member_label(ref)} added last, rings {seconds(ring_seconds)}")


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
