"""The sweep: a scheduled pass over everything that waits on time or on Prefect itself."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from tasks.email import send_pending_mail
from tasks.reminders import send_due_reminders, wake_due_runs
from tasks.runs import notice_cancelled_runs, resume_requested_runs, retry_failed_runs


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 15])
def send_queued_mail() -> dict[str, int]:
    return send_pending_mail()


@task(cache_policy=NO_CACHE)
def remind_overdue() -> list[int]:
    return send_due_reminders()


@task(cache_policy=NO_CACHE)
def wake_runs() -> list[int]:
    return wake_due_runs()


@task(cache_policy=NO_CACHE)
def resume_waiting_runs() -> dict[str, int]:
    return {**resume_requested_runs(), "retried": retry_failed_runs()}


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 15])
def notice_cancelled() -> list[int]:
    return notice_cancelled_runs()


@flow(name="sweep")
def sweep() -> dict[str, object]:
    """Overdue legs get their reminders, runs due to wake are resumed, runs cancelled in Prefect
    are marked and HR told, queued mail goes."""
    reminded = remind_overdue()
    woken = wake_runs()
    cancelled = notice_cancelled()  # before the mail: HR hears of a cancel in this sweep
    return {"reminded": reminded, "woken": woken, "cancelled": cancelled,
            "mail": send_queued_mail(), "runs": resume_waiting_runs()}
