"""What the boss sees in Prefect, and a demo that leaves the real installation alone.

One stack (Prefect server, runner, SMTP server, SQLite storage) is the real installation with
one real hire. `jieli demo` runs twice beside it with that installation's whole environment,
and must change nothing of it; then a demo told to use its Prefect server shows a failed
verdict there the way the boss reads it.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text

from deployments.stack import stack_env
from tests.flows.conftest import Live

pytestmark = pytest.mark.slow

# HR starts the run 31 days after the hire's first day, past the appraisal day, and the
# appraisal is submitted at once: technology's hand-off is not due yet, so the verdict goes
# to HR's late start, not to technology.
LATE_START = """
name: Started a month late, appraised at once
hire: {name: 钱多多, email: qian.duoduo@example.com, position: python-developer,
       start: 2026-12-01, started: 31}
ready: [culture, rules, safety]
steps:
  - day: 31
    appraise:
      coding-assignment: {practice: 40}
expect:
  outcome: failed
  findings:
    - {item: coding-assignment, cause: onboarding-started-late, responsible: hr}
"""


def demo(live: Live, scenario: Path, *args: str) -> subprocess.CompletedProcess:
    """`jieli demo` with the installation's whole environment, as its user would run it."""
    result = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "demo", "--scenario", str(scenario), *args],
        env=stack_env(live.settings, COLUMNS="200"), capture_output=True, text=True,
        timeout=900)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result


def installation(live: Live) -> dict:
    """Everything of the real installation a demo could touch."""
    engine = create_engine(live.settings.storage_url)
    try:
        with engine.connect() as c:
            storage = {t: sorted(map(str, c.execute(text(f"select * from {t}"))))
                       for t in inspect(c).get_table_names()}
    finally:
        engine.dispose()
    runs = httpx.post(f"{live.api}/flow_runs/filter", timeout=30,
                      json={"flows": {"name": {"any_": ["onboarding"]}}}).json()
    artifacts = httpx.post(f"{live.api}/artifacts/filter", timeout=30, json={}).json()
    data = live.settings.data_dir
    files = sorted(str(p.relative_to(data)) for p in data.rglob("*")
                   if p.parts[len(data.parts)] not in ("logs", "prefect")
                   and not p.name.startswith("jieli.db-"))
    return {"storage": storage, "files": files,
            "flow_runs": sorted((r["id"], r["name"], r["state"]["name"], tuple(r["tags"]))
                                for r in runs),
            "artifacts": sorted((a["id"], a["key"], str(a["data"]), a["updated"])
                                for a in artifacts)}


def test_two_demos_beside_a_running_installation_change_nothing_of_it(live: Live, tmp_path):
    run_id = live.hire("郑好", "zheng.hao@example.com")
    live.wait_state(run_id, "Suspended", min_pass=1)
    scenario = tmp_path / "late-start.yaml"
    scenario.write_text(LATE_START, encoding="utf-8")
    before = installation(live)

    outputs = [demo(live, scenario).stdout for _ in range(2)]

    after = installation(live)
    for part in before:
        assert after[part] == before[part], part
    for out in outputs:
        assert "入职流程启动过晚" in out and str(live.settings.data_dir) not in out
        assert live.api.removesuffix("/api") not in out  # the demo's UI is its own server
    record = next(line.split(": ", 1)[1] for line in outputs[-1].splitlines()
                  if line.startswith("Training records"))
    index = Path(record).read_text(encoding="utf-8")
    page = Path(record).parent / "01.html"
    assert 'href="01.html"' in index and 'href="index.html"' in page.read_text("utf-8")


def test_a_failed_verdict_reads_as_such_in_prefect_with_one_artifact_per_kind(live: Live,
                                                                             tmp_path):
    scenario = tmp_path / "late-start.yaml"
    scenario.write_text(LATE_START, encoding="utf-8")

    demo(live, scenario, "--prefect-api-url", live.api)  # told to show its runs there

    runs = httpx.post(f"{live.api}/flow_runs/filter", timeout=30, json={
        "flow_runs": {"tags": {"all_": ["verdict:failed"]}}}).json()
    flow_run = next(r for r in runs if r["name"].startswith("钱多多"))
    assert flow_run["state"]["type"] == "COMPLETED" and flow_run["state"]["name"] == "未通过"
    assert {"verdict:failed", "responsible:hr", "jieli",
            "position:python-developer"} <= set(flow_run["tags"])
    assert not [t for t in flow_run["tags"] if t.startswith("waiting:")]
    assert flow_run["name"].endswith("· 未通过")

    artifacts = [a for a in live.artifacts(flow_run["id"]) if a["key"]]  # not Prefect's own
    keys = Counter(a["key"] for a in artifacts)
    assert sorted(k.rsplit("-", 1)[1] for k in keys) == ["blocking", "legs", "progress",
                                                         "verdict"]
    assert set(keys.values()) == {1}, keys  # one card per kind, however many passes
    assert all(not k.startswith("jieli-run-") for k in keys)  # the run's uid, not its number
    by_kind = {a["key"].rsplit("-", 1)[1]: a for a in artifacts}
    assert by_kind["progress"]["description"].startswith("接力环节完成 ")
    legs = by_kind["legs"]["data"]
    assert "## 资料交接" in legs and "| Python基础 | 技术部 王磊 |" in legs
    assert max(len(line.split("|")) - 2 for line in legs.splitlines()) <= 3  # phone-sized
    assert "试用期未通过" in by_kind["verdict"]["data"] or "未通过" in by_kind["verdict"]["data"]

    logs = httpx.post(f"{live.api}/logs/filter", timeout=30, json={
        "logs": {"flow_run_id": {"any_": [flow_run["id"]]}}}).json()
    lines = [log["message"] for log in logs]
    passes = [m for m in lines if m.startswith("第 ") and "轮检查" in m]
    assert len(passes) >= 2, lines
    assert any("待技术部 Emily Chen" in m for m in passes)  # who was waited on, by name
    assert "结论：未通过" in passes[-1] and "责任方：人力资源部" in passes[-1]
