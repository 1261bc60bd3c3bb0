"""The sweep: an hourly, visible pass over everything that waits on time or on Prefect.

In `jieli up` the runner does the same chores in-process every few seconds and every minute
(tasks/housekeeping.py); this flow is the record the boss sees, and the housekeeping of
installations whose runs are executed by Prefect workers. It keeps only its latest run.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.process_title import name_the_process
from tasks.housekeeping import forget_earlier_sweeps, quick_chores, timed_chores


@task(cache_policy=NO_CACHE)
def chores_due_by_time() -> dict[str, object]:
    return timed_chores()


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 15])
def resume_runs_and_send_mail() -> dict[str, object]:
    return quick_chores()


@task(cache_policy=NO_CACHE)
def forget_earlier_runs() -> int:
    return forget_earlier_sweeps(flow_run.get_id())


@flow(name="sweep")
def sweep() -> dict[str, object]:
    """Overdue legs get their reminders, runs due to wake or cancelled in Prefect are seen to,
    queued mail goes; then the sweep's earlier runs are removed."""
    name_the_process("sweep")
    timed = chores_due_by_time()
    quick = resume_runs_and_send_mail()
    return {**timed, **quick, "forgotten": forget_earlier_runs()}
