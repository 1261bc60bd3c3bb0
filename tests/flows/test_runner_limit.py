"""The runner runs at most its limit of passes at once; the others wait their turn in Prefect."""

from __future__ import annotations

import threading

import pytest

from tests.flows.conftest import Live, wait_for

pytestmark = pytest.mark.slow

LIMIT = 2


def test_the_runner_never_runs_more_passes_at_once_than_its_limit(live: Live):
    live.stop_runner()
    # Created while no runner is up, so that all of them are due at once when it starts.
    ids = [live.hire(f"排队{i}", f"queue{i}@example.com", position="python-developer")
           for i in range(LIMIT + 2)]

    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(len(live.runner_passes()))
            done.wait(0.05)

    live.stack.start_runner(JIELI_RUNNER_LIMIT=str(LIMIT))
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for run_id in ids:  # every run got its turn, though never more than LIMIT at once
            live.wait_state(run_id, "Suspended", min_pass=1, timeout=180)
    finally:
        done.set()
        watcher.join(5)
    assert max(seen) == LIMIT, f"processes of the runner over time: {sorted(set(seen))}"


def test_passes_are_forked_from_a_process_that_has_imported_the_flows(live: Live):
    """Each pass is a fork of the runner's fork server, not a new interpreter that imports
    Prefect again (deployments/passes.py): a Prefect upgrade that starts flow runs some other
    way would quietly cost every pass seconds of CPU again."""
    # The pass waits at a failpoint, so that it is seen however busy the machine (a pass
    # lasts about a second, and one walk of the process table can take that long).
    marker = live.settings.data_dir / "failpoint-after-gates"
    with live.failpoints("after-gates"):
        run_id = live.hire("分叉", "fork@example.com", position="python-developer")
        wait_for(marker.exists, 90, what="a pass at its failpoint")
        parents = live.pass_parents()
    assert parents and all("from multiprocessing.forkserver import main" in p
                           for p in parents), parents
    live.wait_state(run_id, "Suspended", timeout=90)  # disarmed, the pass went on


def test_the_runner_log_says_what_it_serves_and_what_it_recovered(live: Live):
    """The operator's first look when runs do not move: the runner's own lines, beside
    Prefect's, in `.data/logs/runner.log` (Prefect's logging set-up once hid them)."""
    log = live.settings.data_dir.resolve() / "logs" / "runner.log"
    text = wait_for(lambda: "serving onboarding" in log.read_text("utf-8")
                    and log.read_text("utf-8"), 60, what="the runner's lines in runner.log")
    assert "serving onboarding, sweep, start-onboarding, weekly-report" in text, text[-2000:]
    assert "rescheduled 0 interrupted run(s)" in text
    assert "passes are forked from a process that has imported flows.onboarding" in text
