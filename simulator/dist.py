"""Replications on a Dask distributed cluster (the optional ``dist`` extra: ``pip install 'callroute[dist]'``).

The client stays outside trio: it submits each replication's task (``simulator.replications.run_task``, which runs its
own ``trio.run`` in the worker, if it lasts more than a batch) and gathers the results as they finish. A task carries
everything it needs (the scenario, its files, the seed), so a worker needs callroute installed and nothing else: the
same task gives the same bytes on the cluster as in this process.

Start a cluster on other machines with ``dask scheduler`` (it listens on port 8786) and, on each worker machine,
``dask worker tcp://SCHEDULER:8786``; then ``callroute simulate X --replications 100 --cluster tcp://SCHEDULER:8786``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

DIST_EXTRA = "--cluster needs the dist extra: pip install 'callroute[dist]'"


class ClusterError(RuntimeError):
    """The cluster could not be reached, or a replication failed on it."""


def run_on_cluster(address: str, tasks: Sequence[bytes], progress: Callable[[int, bytes], None] | None = None,
                   *, timeout: float = 30.0) -> list[bytes]:
    """Each task's result from the Dask cluster at ``address``, in the order of the tasks."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ClusterError(DIST_EXTRA) from None
    from simulator.replications import run_task

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"--cluster {address}: cannot reach the scheduler ({exc})") from None
    try:
        # Keys from the tasks' contents: the same replication asked for twice is computed once.
        keys = [f"callroute-replication-{hashlib.sha256(task).hexdigest()[:32]}" for task in tasks]
        futures = client.map(run_task, list(tasks), key=keys, pure=False)
        index = {future.key: position for position, future in enumerate(futures)}
        results: list[bytes | None] = [None] * len(tasks)
        for future in as_completed(futures, loop=client.loop):
            position = index[future.key]
            try:
                results[position] = data = future.result()
            except Exception as exc:  # noqa: BLE001 - a replication that failed on a worker: one line naming it
                raise ClusterError(f"replication {position + 1} failed on the cluster: {type(exc).__name__}: {exc}") from None
            if progress is not None:
                progress(position, data)
        return [r for r in results if r is not None]
    finally:
        client.close()
