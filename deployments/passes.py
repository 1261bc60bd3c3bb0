"""How the runner starts a pass: as a fork of a process that has already imported the flows.

Prefect's runner starts every flow run in a new interpreter. For a deployment it knows only by
its entrypoint that is `python -m prefect.engine`; for one it holds the flow of, it is
`run_flow_in_subprocess`, multiprocessing's "spawn". Either way the new process imports Prefect
and Jieli again: 2.5-4 CPU-seconds before the pass reads a row, more than most passes then
take. On a 2-core machine where many hires wake at once (a delivery, the hourly sweep), that is
most of the machine.

`serve_passes_from_a_fork_server` makes the runner fork each pass from multiprocessing's fork
server instead, which imports the flows once (`PRELOADED`); a fork costs about 0.1 CPU-second.
Prefect hands the child everything a pass needs (the pickled call, its environment, the control
channel's port) in the call itself, so a fork receives what a spawned process would.
"""

from __future__ import annotations

import copyreg
import importlib
import inspect
import logging
import multiprocessing
import multiprocessing.context
import sys
from typing import Any

from prefect import Flow, flow_engine

log = logging.getLogger("jieli.runner")

# The modules of the flows the runner serves, imported once by the fork server.
PRELOADED = ["flows.onboarding", "flows.sweep", "flows.start", "flows.reports"]


def flow_named(module: str, name: str) -> Flow[Any, Any]:
    """The flow `module.name`, as the child's unpickling finds it (already imported there)."""
    flow: Flow[Any, Any] = getattr(importlib.import_module(module), name)
    return flow


def _pickle_flow_by_name(flow: Flow[Any, Any]) -> Any:
    """Pickle a module-level flow as its name, any other as Prefect would (by value).

    By value, cloudpickle copies the flow's function and the globals it reads, with the tasks
    they call and theirs: the catalog (which holds a lock) cannot be copied, and module state
    copied into a pass would no longer be the module's. By name, the pass uses the module as
    it is, and the pickle is a few dozen bytes.
    """
    module, name = flow.fn.__module__, flow.fn.__name__
    if getattr(sys.modules.get(module), name, None) is flow:
        return flow_named, (module, name)
    return flow.__reduce_ex__(4)


class _ForkServer:
    """Stands in for the `multiprocessing` module inside `prefect.flow_engine`: whichever
    context Prefect asks for, it gets the fork server's."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOADED)

    def get_context(self, method: str | None = None) -> multiprocessing.context.BaseContext:
        return self._context


def serve_passes_from_a_fork_server() -> bool:
    """Make this process's runner fork passes from a fork server; False if it cannot.

    Prefect has no setting for it: `run_flow_in_subprocess` asks `multiprocessing` for the
    "spawn" context by name. So the name `multiprocessing` in that one module is pointed at a
    stand-in, and only when Prefect's code still reads as expected; otherwise passes are
    spawned as before and a warning says so (tests/flows/test_runner_limit.py notices).
    """
    # Forked or spawned, the runner pickles the flow for the pass.
    copyreg.pickle(Flow, _pickle_flow_by_name)
    source = inspect.getsource(flow_engine.run_flow_in_subprocess)
    if 'multiprocessing.get_context("spawn")' not in source:
        log.warning("this Prefect starts flow runs differently: each pass imports Prefect anew")
        return False
    flow_engine.multiprocessing = _ForkServer()  # type: ignore[assignment]
    return True
