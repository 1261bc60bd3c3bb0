"""The Prefect server of `jieli up` on its own SQLite takes many runs at once without "database is
locked": every request answered the first time, no traceback in its log
(deployments/prefect_server.py). Prefect's own `prefect server start` answered 50 of 82 such
requests 503 and logged the lock on this load (2026-11-28)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from deployments import prefect_server
from deployments.stack import Stack, free_port
from storage.settings import Settings, SmtpSettings

pytestmark = pytest.mark.slow

CLIENTS, RUNS_EACH = 8, 10


@pytest.fixture
def prefect(tmp_path) -> Iterator[Stack]:
    port = free_port()
    stack = Stack(Settings(data_dir=tmp_path, prefect_api_url=f"http://127.0.0.1:{port}/api",
                           smtp=SmtpSettings(port=free_port())))
    try:
        stack.start_prefect_server()
        yield stack
    finally:
        stack.stop()


def test_many_runs_created_suspended_and_resumed_at_once_meet_no_locked_database(
        prefect: Stack):
    # A Prefect upgrade that begins its transactions otherwise leaves them as they are: then
    # this test is the one to say so, before the load below does.
    assert prefect_server.applies()
    api = prefect.settings.prefect_api_url
    with httpx.Client(base_url=api, timeout=120) as client:
        flow = client.post("/flows/", json={"name": "onboarding"}).json()
        deployment = client.post("/deployments/", json={
            "name": "onboarding", "flow_id": flow["id"]}).json()
    answers: Counter[str] = Counter()

    def hire_after_hire(client_no: int) -> None:
        # What many hires' runs do to Prefect: created from the deployment, running,
        # suspended until a hand-off, resumed.
        with httpx.Client(base_url=api, timeout=120) as client:
            for run_no in range(RUNS_EACH):
                created = client.post(f"/deployments/{deployment['id']}/create_flow_run",
                                      json={"name": f"hire-{client_no}-{run_no}"})
                answers[f"create {created.status_code}"] += 1
                if created.status_code != 201:
                    continue
                run = f"/flow_runs/{created.json()['id']}"
                for state in ({"type": "PENDING"}, {"type": "RUNNING"}, {
                        "type": "PAUSED", "name": "Suspended", "state_details": {
                            "pause_reschedule": True, "pause_timeout": "2099-01-01T00:00:00Z"}}):
                    moved = client.post(f"{run}/set_state", json={"state": state})
                    answers[f"set_state {moved.status_code}"] += 1
                answers[f"resume {client.post(f'{run}/resume', json={}).status_code}"] += 1

    threads = [threading.Thread(target=hire_after_hire, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    runs = CLIENTS * RUNS_EACH
    assert answers == {"create 201": runs, "set_state 201": 3 * runs, "resume 201": runs}
    log = prefect.child("prefect-server").log.read_text(errors="replace")
    assert "database is locked" not in log and "Traceback" not in log
