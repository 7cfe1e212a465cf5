"""``callroute token create|revoke|list``: the bearer tokens of the HTTP API (``callroute serve``).

Issuing and revoking a token is platform administration: core lets only an operator do it, and these
commands act as one, recorded under ``--actor``. Whoever can run callroute on the store is trusted that
far already (see the README's Security section: file permissions are the boundary). A token is printed
once, alone on standard output (``TOKEN=$(callroute token create --principal P)``); the store keeps only
its SHA-256, as an event on the store's access record, so every grant is in the audited history.
"""

from __future__ import annotations

import click

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import Failure, exit_code
from adapters.cli.output import echo_json, echo_table, instant_text


def _operator(env: Env):  # type: ignore[no-untyped-def]
    from core.aggregates.context import Actor

    return Actor(principal=env.actor.principal, operator=True)


@click.group("token")
def token() -> None:
    """Bearer tokens of the HTTP API: create (printed once), revoke, list."""


@token.command("create")
@click.option("--principal", required=True, metavar="PRINCIPAL", help="Whom the token stands for (as --actor names a principal).")
@click.option("--partner", "token_partner", metavar="PARTNER", help="The channel partner the principal acts for, if any.")
@click.option("--operator", "token_operator", is_flag=True, help="The principal is platform staff: it may act for every tenant.")
@click.option("--reason", metavar="TEXT", help="Why the token is issued (recorded with it).")
@pass_env
def create(env: Env, principal: str, token_partner: str | None, token_operator: bool, reason: str | None) -> None:
    """Issue a token for a principal and print it once (standard output); the store keeps only its hash."""
    from adapters.tokens import new_token
    from core.aggregates.tokens import issue_token
    from core.errors import DomainError

    token_id, secret, digest = new_token()
    try:
        grant = issue_token(env.app, _operator(env), token_id=token_id, token_hash=digest, principal=principal,
                            partner=token_partner, operator=token_operator, reason=reason)
    except DomainError as exc:
        flags = {"principal": "--principal", "partner": "--partner", "reason": "--reason"}
        raise Failure(f"{flags.get(exc.field or '', exc.field or 'token')}: {exc.message}", exit_code(exc)) from None
    who = grant.principal + (f" for partner {grant.partner}" if grant.partner else "") + (" (operator)" if grant.operator else "")
    click.echo(f"token {grant.token_id} for {who}: shown once, keep it secret; revoke with callroute token revoke --id "
               f"{grant.token_id}", err=True)
    click.echo(secret)


@token.command("revoke")
@click.option("--id", "token_id", required=True, metavar="ID", help="The token's id (callroute token list shows them).")
@click.option("--reason", metavar="TEXT", help="Why it is revoked (recorded).")
@pass_env
def revoke(env: Env, token_id: str, reason: str | None) -> None:
    """Revoke a token: from its next use on, it is refused (401)."""
    from core.aggregates.tokens import revoke_token
    from core.errors import DomainError

    try:
        grant = revoke_token(env.app, _operator(env), token_id, reason=reason)
    except DomainError as exc:
        raise Failure(f"--id {token_id}: {exc.message}", exit_code(exc)) from None
    click.echo(f"token {grant.token_id} of {grant.principal} is revoked")


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (instants in UTC).")
@pass_env
def list_command(env: Env, as_json: bool) -> None:
    """List every token issued: its id, principal, partner, who issued it and when, and whether it was revoked (no secret)."""
    from core.aggregates.tokens import list_tokens

    grants = list_tokens(env.app, _operator(env))
    if as_json:
        echo_json(grants)
        return
    if not grants:
        click.echo("no tokens")
        return
    echo_table(["id", "principal", "partner", "operator", "issued", "by", "revoked"],
               [(g.token_id, g.principal, g.partner or "", "yes" if g.operator else "", instant_text(g.issued_at, None),
                 g.issued_by, instant_text(g.revoked_at, None) if g.revoked_at else "") for g in grants])
