"""A run cancelled in the Prefect UI (which has no login) does not strand the hire."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.flows.conftest import Live, wait_for
from tests.forms.conftest import Forms

pytestmark = pytest.mark.slow

HR = "liu.fang@example.com"


def run_sweep(live: Live) -> None:
    """Run the sweep deployment now (as its schedule would) and wait until it is done."""
    deployment = httpx.get(f"{live.api}/deployments/name/sweep/sweep", timeout=10).json()

    def created() -> dict | None:
        # The Prefect server on SQLite may answer 503 while it is busy; ask again.
        r = httpx.post(f"{live.api}/deployments/{deployment['id']}/create_flow_run", json={},
                       timeout=10)
        return r.json() if r.status_code in (200, 201) else None
    flow_run = wait_for(created, 60, every=1, what="the sweep's flow run created")

    def finished() -> str | None:
        state = httpx.get(f"{live.api}/flow_runs/{flow_run['id']}", timeout=10).json()["state"]
        return state["type"] if state["type"] in ("COMPLETED", "FAILED", "CRASHED") else None

    assert wait_for(finished, 180, what="the sweep's flow run") == "COMPLETED"


def test_a_run_cancelled_in_prefect_is_marked_hr_told_once_and_brought_back(live: Live):
    hire = "周小梅"
    run_id = live.hire(hire, "zhou.quxiao@example.com")
    waiting = live.wait_state(run_id, "Suspended", min_pass=1, timeout=180)
    (pass_no,), = live.sql("select pass_no from runs where id = :i", i=run_id)

    # What the UI's Cancel button sends; a suspended run goes straight to Cancelled.
    answer = httpx.post(f"{live.api}/flow_runs/{waiting['id']}/set_state", timeout=10,
                        json={"state": {"type": "CANCELLING", "name": "Cancelling"}})
    assert answer.status_code in (200, 201), answer.text
    wait_for(lambda: live.flow_run(run_id)["state"]["type"] == "CANCELLED", 30,
             what="the flow run cancelled")

    run_sweep(live)
    assert live.sql("select status from runs where id = :i", i=run_id) == [("cancelled",)]
    audit = live.sql("select actor, via, detail from audit_log where action = 'run-cancelled' "
                     "and object_id = :i", i=str(run_id))
    assert len(audit) == 1 and audit[0][:2] == ("prefect", "prefect")
    detail = audit[0][2] if isinstance(audit[0][2], dict) else json.loads(audit[0][2])
    # The runner's own housekeeping may have seen it first, while it was still Cancelling.
    assert detail["flow_run"] == waiting["id"] and detail["state"] in ("Cancelling", "Cancelled")

    def told() -> list:
        return [m for m in live.mail(HR) if hire in str(m["Subject"])
                and "被取消" in str(m["Subject"])]
    (message,) = wait_for(told, 60, what="HR's email about the cancel")
    body = message.get_body(("plain",)).get_content()
    assert f"jieli resume {run_id}" in body and waiting["id"] in body

    listed = live.jieli("runs").stdout
    row = next(line for line in listed.splitlines() if hire in line)
    assert "已取消" in row and f"jieli resume {run_id}" in row

    run_sweep(live)  # a later sweep neither marks it again nor tells HR again
    assert len(told()) == 1
    assert live.sql("select count(*) from audit_log where action = 'run-cancelled' "
                    "and object_id = :i", i=str(run_id)) == [(1,)]

    out = live.jieli("resume", str(run_id)).stdout
    assert f"入职流程 #{run_id} 已恢复" in out, out
    assert live.sql("select status from runs where id = :i", i=run_id) == [("active",)]
    assert live.sql("select actor from audit_log where action = 'run-brought-back' "
                    "and object_id = :i", i=str(run_id)) == [(HR,)]  # who ran `jieli resume`
    back = live.wait_state(run_id, "Suspended", min_pass=pass_no + 1, timeout=180)
    assert back["id"] == waiting["id"]  # the same flow run: HR's UI link still works
    assert "waiting:marketing" in back["tags"]
    run_sweep(live)  # waiting again is not taken for a new cancel
    assert live.sql("select status from runs where id = :i", i=run_id) == [("active",)]
    assert len(told()) == 1


def test_a_delivery_does_not_undo_a_cancel(live: Live):
    hire = "吴晓东"
    run_id = live.hire(hire, "wu.zanting@example.com", position="python-developer")
    waiting = live.wait_state(run_id, "Suspended", min_pass=1, timeout=180)
    httpx.post(f"{live.api}/flow_runs/{waiting['id']}/set_state", timeout=10,
               json={"state": {"type": "CANCELLING", "name": "Cancelling"}})
    run_sweep(live)
    assert live.sql("select status from runs where id = :i", i=run_id) == [("cancelled",)]

    live.jieli("deliver", "python-basics", "--by", "wang.lei@example.com")
    assert live.flow_run(run_id)["state"]["type"] == "CANCELLED"
    assert live.sql("select status from runs where id = :i", i=run_id) == [("cancelled",)]


def test_the_hr_overview_shows_a_cancelled_run_and_how_to_bring_it_back(forms: Forms):
    from storage import repo
    from storage.models import RunStatus
    from tasks.env import transaction
    from tests.security.conftest import sign_in

    run_id = forms.start_run()
    with transaction() as session:  # as the runner's housekeeping leaves it
        repo.get_run(session=session, run_id=run_id).status = RunStatus.CANCELLED
    sign_in(forms, "liu.fang@example.com")
    zh = forms.client.get("/hr", headers={"Accept-Language": "zh-CN"}).text
    assert "已在 Prefect 中取消" in zh and f"jieli resume {run_id}" in zh
