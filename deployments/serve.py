"""The runner: serves the onboarding and sweep deployments and runs their flows.

Started by `jieli up` (one runner). At start it reschedules the runs a previous runner left
mid-pass, and resumes runs whose delivery arrived while Prefect was down.
"""

from __future__ import annotations

import logging

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from flows.onboarding import onboarding
from flows.sweep import sweep
from storage.settings import get_settings
from tasks.runs import recover_interrupted_runs, resume_requested_runs

SWEEP_EVERY_SECONDS = 60


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    log = logging.getLogger("jieli.runner")
    deployments: list[RunnerDeployment] = [
        onboarding.to_deployment(name="onboarding", tags=["jieli"]),  # type: ignore[list-item]
        sweep.to_deployment(name="sweep", interval=SWEEP_EVERY_SECONDS,  # type: ignore[list-item]
                            tags=["jieli"]),
    ]
    # The deployments must exist before runs are recovered or created against them.
    for deployment in deployments:
        deployment.apply()
    log.info("rescheduled %d interrupted run(s)", recover_interrupted_runs())
    log.info("resume requests: %s", resume_requested_runs())
    # Without a limit, serve() starts a process for every scheduled run at once.
    serve(*deployments, print_starting_message=True, limit=get_settings().runner_limit)


if __name__ == "__main__":
    main()
