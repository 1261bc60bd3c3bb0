"""What a pass does for the people watching the machine, beside its work."""

from __future__ import annotations

import multiprocessing

from prefect.runtime import flow_run as prefect_flow_run
from setproctitle import getproctitle, setproctitle

PASS_TITLE = "jieli pass:"

# setproctitle finds the process's arguments by walking back from its environment, which has
# to be where the kernel put it. A pass changes its environment before its first title
# (Prefect applies the runner's), so the lookup is done now, at import: in the runner's fork
# server, before any pass is forked from it (deployments/passes.py).
getproctitle()


def name_the_process(flow: str, run_id: int | None = None) -> None:
    """Name a pass's process after its flow run, first thing in the pass: `ps` and `top` then
    say which hire's run each of the runner's processes works for (`jieli pass: onboarding run
    #12 flow run 7d89…`). (Called by the flow, not as Prefect's on_running hook: Prefect logs
    every hook it runs into the run's log, which the boss reads.)

    Only in a process of its own (the runner's fork of a pass): a flow run inside another
    program's process (`jieli simulate`) leaves that program's name alone.
    """
    if multiprocessing.parent_process() is None:
        return
    run = f" run #{run_id}" if run_id is not None else ""
    setproctitle(f"{PASS_TITLE} {flow}{run} flow run {prefect_flow_run.get_id()}")
