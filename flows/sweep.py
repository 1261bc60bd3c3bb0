"""The sweep: a scheduled pass over everything that waits on time or on Prefect itself."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from tasks.email import send_pending_mail
from tasks.runs import resume_requested_runs, retry_failed_runs


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 15])
def send_queued_mail() -> dict[str, int]:
    return send_pending_mail()


@task(cache_policy=NO_CACHE)
def resume_waiting_runs() -> dict[str, int]:
    return {**resume_requested_runs(), "retried": retry_failed_runs()}


@flow(name="sweep")
def sweep() -> dict[str, dict[str, int]]:
    return {"mail": send_queued_mail(), "runs": resume_waiting_runs()}
