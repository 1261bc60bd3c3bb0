"""Housekeeping: what waits on time or on Prefect itself, not on a person.

Two callers share these functions. The runner of `jieli up` calls `quick_chores` every few
seconds (a resume that landed while a pass was finishing is taken up at once; queued mail
goes out) and `timed_chores` every minute, in its own process, so that housekeeping leaves no
flow run a minute in the boss's run list. The hourly `sweep` flow does the same, visibly, for
installations whose runs are executed by Prefect workers instead, and removes its own earlier
runs (`forget_earlier_sweeps`).
"""

from __future__ import annotations

from uuid import UUID

from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

from tasks.email import send_pending_mail
from tasks.reminders import send_due_reminders, wake_due_runs
from tasks.runs import (
    notice_cancelled_runs,
    prefect_client,
    resume_requested_runs,
    retry_failed_runs,
)

SWEEP_DEPLOYMENT = "sweep"
FINISHED = [StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED]


def quick_chores() -> dict[str, object]:
    """Resume runs someone acted on (one query when nobody did) and send the mail that is due."""
    return {"runs": resume_requested_runs(), "mail": send_pending_mail()}


def timed_chores() -> dict[str, object]:
    """Runs cancelled in Prefect (marked, HR told), reminders and escalations due now, runs
    due to wake, passes that failed."""
    return {"cancelled": notice_cancelled_runs(), "reminded": send_due_reminders(),
            "woken": wake_due_runs(), "retried": retry_failed_runs()}


def forget_earlier_sweeps(current_flow_run_id: str | None) -> int:
    """Delete the sweep's finished flow runs other than the current one; return how many.

    The sweep runs every hour, forever: without this the boss's run list and the Prefect
    database would keep every one of them. What a sweep did is in Jieli's storage (reminders,
    outbox, audit log), so its flow run is worth keeping only while it is the latest.
    """
    keep = UUID(current_flow_run_id) if current_flow_run_id else None
    with prefect_client() as client:
        finished = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=FINISHED))),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(
                any_=[SWEEP_DEPLOYMENT])))
        old = [r.id for r in finished if r.id != keep]
        for flow_run_id in old:
            client.delete_flow_run(flow_run_id)
    return len(old)
