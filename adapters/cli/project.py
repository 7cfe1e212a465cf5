"""``callroute project [--follow]``: keep the routing projection up to date in a process of its own (``adapters/projector.py``).

Without ``--follow``: catch up once with every event stored, print the position, exit 0. With ``--follow``: catch
up, then follow new events until SIGINT or SIGTERM (on SQLite by looking every ``--interval`` seconds; on PostgreSQL
woken by LISTEN/NOTIFY, with a watchdog that restarts a dead listener, and looking at least every ``--interval``
seconds whatever it hears); a batch under way when the signal comes is committed first, then the position is printed
and the process exits 0. The watchdog logs on stderr (``--log-level``, default ``info`` here).
"""

from __future__ import annotations

import signal

import click

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import Failure
from adapters.projector import DEFAULT_BATCH_SIZE, DEFAULT_FALLBACK_SECONDS, DEFAULT_INTERVAL_SECONDS


@click.command("project")
@click.option("--follow", is_flag=True, help="Keep following new events until SIGINT or SIGTERM (default: catch up once and exit).")
@click.option("--interval", type=click.FloatRange(min=0.01, max=3600), default=None, metavar="SECONDS",
              help=f"With --follow: how often to look for new events on SQLite (default {DEFAULT_INTERVAL_SECONDS:g}); on "
                   f"PostgreSQL new events wake the process at once, and this is the longest it goes without looking "
                   f"(default {DEFAULT_FALLBACK_SECONDS:g}).")
@click.option("--batch-size", type=click.IntRange(min=1, max=100_000), default=DEFAULT_BATCH_SIZE, show_default=True,
              help="Events committed together with the position (a kill loses at most the batch under way).")
@pass_env
def project(env: Env, follow: bool, interval: float | None, batch_size: int) -> None:
    """Keep the routing projection (tables, pending changes, timelines) up to date in this process."""
    from adapters.bootstrap import shown, store_problem
    from adapters.projector import Projector

    problem = store_problem(env.db)
    if problem is not None:
        raise Failure(problem, problem.exit_code)
    if not follow:
        projector = Projector(env.db, clock=env.clock, batch_size=batch_size)
        try:
            processed = projector.catch_up()
            click.echo(f"projection: at position {projector.position} ({processed} events processed now)")
        finally:
            projector.close()
        return
    _follow(env, interval, batch_size, str(shown(env.db)))


def _follow(env: Env, interval: float | None, batch_size: int, where: str) -> None:
    import trio

    from adapters.cli.common import setting
    from adapters.http.worker import StoreThread
    from adapters.logging import configure_logging
    from adapters.projector import Projector, follow, follower_for

    configure_logging(setting(click.get_current_context(), "log_level") or "info")  # the watchdog's restarts are worth seeing
    follower, note = follower_for(env.db, interval)
    if note:
        click.echo(f"callroute: {note}", err=True)

    def stepped(processed: int, position: int) -> None:
        click.echo(f"callroute: projection at position {position} (+{processed})", err=True)

    async def main() -> int:
        # The projector's SQLite connections belong to the thread that opened them: every call on it runs in that one.
        worker = StoreThread("callroute-projector")
        try:
            projector = await worker.run(lambda: Projector(env.db, clock=env.clock, batch_size=batch_size), cancellable=False)
            try:
                async with trio.open_nursery() as nursery:
                    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

                        async def following() -> None:
                            await nursery.start(lambda task_status: follow(projector, follower, worker, on_step=stepped,
                                                                           task_status=task_status))
                            at = await worker.run(lambda: projector.position, cancellable=False)
                            click.echo(f"callroute: following {where} ({follower.describe()}) from position {at}", err=True)

                        nursery.start_soon(following)
                        async for received in signals:
                            click.echo(f"callroute: {signal.Signals(received).name}: stopping", err=True)
                            nursery.cancel_scope.cancel()
                            break
                return await worker.run(lambda: projector.position, cancellable=False)  # type: ignore[no-any-return]
            finally:
                await worker.run(projector.close, cancellable=False)
        finally:
            await trio.to_thread.run_sync(worker.close)

    position = trio.run(main)
    click.echo(f"projection: at position {position}")
