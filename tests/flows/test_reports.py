"""The weekly report in the Prefect UI: the runner serves `weekly-report` on a weekly schedule,
and a run of it publishes the effectiveness table the boss reads (real stack, figures
imported with `jieli import`)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.flows.conftest import HR, Live, wait_for
from tests.tasks.planted import plant

pytestmark = pytest.mark.slow


def test_the_weekly_report_publishes_each_modules_effectiveness_as_a_table(live: Live,
                                                                          tmp_path: Path):
    plant(tmp_path, completers=40, others=40, effect=1.30, import_them=False)
    for kind, name in (("employees", "员工.csv"), ("history", "培训记录.csv"),
                       ("metrics", "月度指标.csv")):
        live.jieli("--as", HR, "import", kind, str(tmp_path / name))

    deployment = wait_for(lambda: (r := httpx.get(
        f"{live.api}/deployments/name/weekly-report/weekly-report", timeout=10)).status_code
        == 200 and r.json(), 60, what="the weekly-report deployment")
    schedule = deployment["schedules"][0]["schedule"]
    assert (schedule["cron"], schedule["timezone"]) == ("0 8 * * 1", "Asia/Shanghai")

    def create() -> dict | None:  # the Prefect server on SQLite may answer 503 while busy
        r = httpx.post(f"{live.api}/deployments/{deployment['id']}/create_flow_run", json={},
                       timeout=10)
        return r.json() if r.status_code in (200, 201) else None

    run = wait_for(create, 60, every=1, what="a weekly-report flow run")
    wait_for(lambda: httpx.get(f"{live.api}/flow_runs/{run['id']}", timeout=10)
             .json()["state"]["type"] == "COMPLETED", 120, what="the weekly report to complete")
    tables = [a for a in live.artifacts(run["id"]) if a["type"] == "table"]
    assert [a["key"] for a in tables] == ["jieli-training-effectiveness"]
    rows = json.loads(tables[0]["data"])
    assert [(r["模块"], r["指标"]) for r in rows] == [("客户沟通", "销售额")]
    assert rows[0]["完成者（人）"] == rows[0]["未完成者（人）"] == 40
    assert 25 < float(rows[0]["提升"].strip("+%")) < 35, rows
