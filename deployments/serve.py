"""The runner: serves the onboarding, start-onboarding and sweep deployments, runs their
flows, keeps house.

Started by `jieli up` (one runner). At start it reschedules the runs a previous runner left
mid-pass, and resumes runs whose delivery arrived while Prefect was down. While it serves, a
thread of its own does the housekeeping (tasks/housekeeping.py) every few seconds and every
minute, so that no flow run a minute is left in the boss's run list for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.onboarding import onboarding
from flows.reports import WEEKLY, weekly_report
from flows.start import start_deployment
from flows.sweep import sweep
from storage.settings import Settings, get_settings
from tasks.housekeeping import quick_chores, timed_chores
from tasks.runs import recover_interrupted_runs, resume_requested_runs

log = logging.getLogger("jieli.runner")


def keep_house(settings: Settings, stop: threading.Event) -> None:
    """Run the quick chores every few seconds and the timed ones every minute, until `stop`."""
    chores: list[tuple[Callable[[], object], float]] = [
        (quick_chores, settings.quick_chores_seconds),
        (timed_chores, settings.timed_chores_seconds)]
    due = [time.monotonic()] * len(chores)
    while not stop.is_set():
        for i, (chore, every) in enumerate(chores):
            if time.monotonic() < due[i]:
                continue
            due[i] = time.monotonic() + every
            try:
                chore()
            # This thread must outlive any one failure (Prefect restarting, a locked database):
            # the error is logged with its traceback and the chore is tried again next time.
            except Exception:
                log.exception("housekeeping: %s failed", chore.__name__)
        stop.wait(min(every for _, every in chores) / 2)


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    settings = get_settings()
    deployments: list[RunnerDeployment] = [
        onboarding.to_deployment(name="onboarding", tags=["jieli"]),  # type: ignore[list-item]
        sweep.to_deployment(name="sweep", interval=settings.sweep_every_seconds,  # type: ignore[list-item]
                            tags=["housekeeping"]),  # not "jieli": the boss filters hires by it
        start_deployment(),  # HR or the boss starts a hire from Prefect's run form
        weekly_report.to_deployment(  # type: ignore[list-item]
            name="weekly-report", schedules=[Cron(WEEKLY, timezone=settings.timezone)],
            tags=["reports"]),
    ]
    # The deployments must exist before runs are recovered or created against them.
    for deployment in deployments:
        deployment.apply()
    log.info("rescheduled %d interrupted run(s)", recover_interrupted_runs())
    log.info("resume requests: %s", resume_requested_runs())
    stop = threading.Event()
    threading.Thread(target=keep_house, args=(settings, stop), name="housekeeping",
                     daemon=True).start()
    try:
        # Without a limit, serve() starts a process for every scheduled run at once.
        serve(*deployments, print_starting_message=True, limit=settings.runner_limit)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
