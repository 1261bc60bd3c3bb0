"""Housekeeping keeps the boss's run list quiet and never makes a person's act wait for it.

Against a real stack (Prefect server, runner, forms, SMTP server): the hourly sweep keeps only
its latest run, and an act that lands while the run's pass is finishing moves the run at
once, through the runner's own housekeeping, not the next sweep (an hour away).
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.flows.conftest import PROMPTLY, Live, wait_for

pytestmark = pytest.mark.slow

MARKETING_OWNER = "li.na@example.com"


def flow_runs_of(live: Live, deployment: str) -> list[dict]:
    r = httpx.post(f"{live.api}/flow_runs/filter", timeout=10,
                   json={"deployments": {"name": {"any_": [deployment]}}})
    r.raise_for_status()
    return r.json()


def test_hours_of_housekeeping_leave_at_most_two_housekeeping_runs(live: Live):
    sweep = httpx.get(f"{live.api}/deployments/name/sweep/sweep", timeout=10).json()
    # Three hourly sweeps, started the way the schedule starts them; each waits for the last.
    def create() -> dict | None:
        # The Prefect server on SQLite may answer 503 while it is busy; ask again.
        r = httpx.post(f"{live.api}/deployments/{sweep['id']}/create_flow_run", json={},
                       timeout=10)
        return r.json() if r.status_code in (200, 201) else None

    for _ in range(3):
        started = wait_for(create, 60, every=1, what="a sweep's flow run created")
        wait_for(lambda id=started["id"]: httpx.get(f"{live.api}/flow_runs/{id}", timeout=10)
                 .json()["state"]["type"] == "COMPLETED", 60, what="a sweep to complete")

    runs = flow_runs_of(live, "sweep")
    # The latest sweep, and at most one scheduled for the next hour: nothing piles up.
    assert len(runs) <= 2, [(r["name"], r["state"]["type"]) for r in runs]
    assert [r["id"] for r in runs if r["state"]["type"] == "COMPLETED"] == [started["id"]]
    everything = httpx.post(f"{live.api}/flow_runs/filter", json={}, timeout=10).json()
    onboarding = [r for r in everything if r["flow_id"] != sweep["flow_id"]]
    assert len(everything) - len(onboarding) <= 2


def test_a_hand_off_landing_while_the_pass_finishes_reaches_the_hire_at_once(
        live: Live):
    marker = live.settings.data_dir / "failpoint-before-suspend"
    with live.failpoints("before-suspend"):
        hire = "qiao.an@example.com"
        live.hire("乔安", hire)
        # The pass has decided to wait (nobody had acted) and is about to suspend.
        wait_for(marker.exists, 60, what="the pass to reach its suspension")
        live.jieli("deliver", "customer-communication", "--by", MARKETING_OWNER)
        delivered = time.monotonic()
        marker.unlink()  # the pass goes on and suspends, unaware of the delivery

        def assignment_mail() -> list:
            # Later passes stop at the failpoint again; let each go on.
            marker.unlink(missing_ok=True)
            return [m for m in live.mail(hire) if "客户沟通" in m.get_body(("plain",))
                    .get_content()]
        wait_for(assignment_mail, PROMPTLY, every=0.1, what="the hire's assignment email")
        print(f"delivery during a pass to the hire's email: "
              f"{time.monotonic() - delivered:.1f}s")
