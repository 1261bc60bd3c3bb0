"""The runner: serves the onboarding, start-onboarding and sweep deployments, runs their
flows, keeps house.

Started by `jieli up` (one runner). At start it reschedules the runs a previous runner left
mid-pass, and resumes runs whose delivery arrived while Prefect was down. While it serves, a
thread of its own does the housekeeping (tasks/housekeeping.py) every few seconds and every
minute, so that no flow run a minute is left in the boss's run list for it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import cast
from uuid import UUID

from prefect import Flow
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import TerminationSignal
from prefect.runner import Runner
from prefect.schedules import Cron

from deployments.passes import PRELOADED, serve_passes_from_a_fork_server
from flows.onboarding import onboarding
from flows.reports import WEEKLY, weekly_report
from flows.start import start_deployment, start_hire
from flows.sweep import sweep
from storage.settings import Settings, get_settings
from tasks.housekeeping import quick_chores, timed_chores
from tasks.runs import notice_cancelled_runs, recover_interrupted_runs, resume_requested_runs

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
    # Prefect has set up logging by now (its root handler, at WARNING): `basicConfig` would
    # do nothing, and the runner's own lines below went nowhere. They go to its handler.
    log.setLevel(logging.INFO)
    settings = get_settings()
    # Each deployment with the flow it runs, which the runner then starts in a process of its
    # own without importing it again (deployments/passes.py).
    served: list[tuple[RunnerDeployment, Flow]] = [  # type: ignore[type-arg]
        (onboarding.to_deployment(name="onboarding", tags=["jieli"]), onboarding),  # type: ignore[list-item]
        (sweep.to_deployment(name="sweep", interval=settings.sweep_every_seconds,  # type: ignore[list-item]
                             tags=["housekeeping"]),  # not "jieli": the boss filters hires by it
         sweep),
        (start_deployment(), start_hire),  # HR or the boss starts a hire from Prefect's run form
        (weekly_report.to_deployment(  # type: ignore[list-item]
            name="weekly-report", schedules=[Cron(WEEKLY, timezone=settings.timezone)],
            tags=["reports"]), weekly_report),
    ]
    # Without a limit, the runner starts a process for every scheduled run at once.
    runner = Runner(pause_on_shutdown=True, limit=settings.runner_limit)
    # The deployments must exist before runs are recovered or created against them.
    for deployment, flow in served:
        # Called outside an event loop, `add_deployment` returns the id, not a coroutine.
        deployment_id = cast(UUID, runner.add_deployment(deployment))
        # A deployment the runner knows only by its entrypoint runs as `python -m
        # prefect.engine`, which imports Prefect and the flow anew for every pass; one it has
        # the flow of runs through `run_flow_in_subprocess`. `Runner.add_flow` registers the
        # flow the same way, but cannot take the start form's labelled schema.
        runner._deployment_registry.register_flow(deployment_id, flow)
    log.info("rescheduled %d interrupted run(s)", recover_interrupted_runs())
    # Passes the previous runner cancelled as it stopped go again now, not at the first chore.
    notice_cancelled_runs()
    log.info("resume requests: %s", resume_requested_runs())
    if serve_passes_from_a_fork_server():
        log.info("passes are forked from a process that has imported %s", ", ".join(PRELOADED))
    stop = threading.Event()
    threading.Thread(target=keep_house, args=(settings, stop), name="housekeeping",
                     daemon=True).start()
    log.info("serving %s", ", ".join(deployment.name for deployment, _ in served))
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal) as stopped:  # Ctrl-C, or SIGTERM from `jieli up`
        log.info("%s: stopped", type(stopped).__name__)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
