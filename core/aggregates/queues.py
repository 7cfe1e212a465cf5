"""Call queues (seed 004 "черга дзвінків"): agents, strategy, ring and wrap-up times, waiting limits."""

from __future__ import annotations

import msgspec

from core.aggregates.commanding import Command, handles
from core.aggregates.context import CommandContext
from core.aggregates.loops import refuse_loops
from core.aggregates.services import CallQueue
from core.aggregates.targets import EntityId
from core.aggregates.tenant import Tenant, TenantEvent
from core.errors import NotFoundError, ValidationFailed


class SaveQueue(Command, kw_only=True, tag="save_queue"):
    """Create or replace a call queue."""

    queue: EntityId
    spec: CallQueue


class QueueSaved(TenantEvent):
    TOPIC = "callroute/QueueSaved"
    queue_id: str
    queue: CallQueue

    def apply(self, tenant: Tenant) -> None:
        tenant.state.queues[self.queue_id] = self.queue


@handles(SaveQueue)
def save_queue(tenant: Tenant, cmd: SaveQueue, ctx: CommandContext) -> None:
    """Agents are users, each once; hold music is an audio file; where calls go next exists and names a mailbox."""
    queue = cmd.spec
    if len(set(queue.agents)) != len(queue.agents):
        raise ValidationFailed("an agent is listed twice", field="spec.agents")
    for index, ext in enumerate(queue.agents):
        tenant.user(ext, field=f"spec.agents[{index}]")
    if queue.hold_music is not None:
        tenant.audio(queue.hold_music, field="spec.hold_music")
    _check_entry_and_exit(queue)
    queue = msgspec.structs.replace(
        queue,
        after_max_wait=tenant.destination(queue.after_max_wait, ctx, field="spec.after_max_wait", mailbox_required=True),
        when_no_agents=tenant.destination(queue.when_no_agents, ctx, field="spec.when_no_agents", mailbox_required=True),
    )
    refuse_loops(tenant.state, [(("queue", cmd.queue), "spec.")], queues={cmd.queue: queue})
    tenant.trigger(QueueSaved, ctx, queue_id=cmd.queue, queue=queue)


def _check_entry_and_exit(queue: CallQueue) -> None:
    """A caller the join or leave rule turns away needs somewhere to go; a pause between rounds must leave time for one."""
    if queue.when_no_agents is None:
        if queue.join_when not in (msgspec.UNSET, "always"):
            raise ValidationFailed(f"callers refused by {queue.join_when!r} need somewhere to go: set spec.when_no_agents",
                                   field="spec.join_when")
        if queue.leave_when not in (msgspec.UNSET, "never"):
            raise ValidationFailed(f"callers leaving by {queue.leave_when!r} need somewhere to go: set spec.when_no_agents",
                                   field="spec.leave_when")
    if queue.retry_pause >= queue.max_wait_seconds:
        raise ValidationFailed(f"a pause of {queue.retry_pause} s between ring rounds must be shorter than the maximum wait "
                               f"({queue.max_wait_seconds} s)", field="spec.retry_seconds")


class DeleteQueue(Command, kw_only=True, tag="delete_queue"):
    """Delete a call queue (refused while referred to)."""

    queue: EntityId


class QueueDeleted(TenantEvent):
    TOPIC = "callroute/QueueDeleted"
    queue_id: str

    def apply(self, tenant: Tenant) -> None:
        del tenant.state.queues[self.queue_id]


@handles(DeleteQueue)
def delete_queue(tenant: Tenant, cmd: DeleteQueue, ctx: CommandContext) -> None:
    """Refused while anything routes to it."""
    if cmd.queue not in tenant.state.queues:
        raise NotFoundError(f"there is no call queue {cmd.queue!r}", field="queue")
    tenant.refuse_if_referenced("queue", cmd.queue, f"call queue {cmd.queue!r}", field="queue")
    tenant.trigger(QueueDeleted, ctx, queue_id=cmd.queue)


__all__ = ["DeleteQueue", "SaveQueue"]
