"""`jieli report effectiveness`: what HR and the boss read in a terminal, and the JSON a script
reads, on figures imported through `jieli import`'s own function into a fresh installation."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from tests.forms.conftest import Forms, forms  # noqa: F401  (the fixture, for this module)
from tests.tasks.planted import HR, METRIC, MODULE, plant

KEYS = {"module", "metric", "completed_n", "completed_mean", "not_completed_n",
        "not_completed_mean", "lift_pct", "before_mean", "after_mean", "caution"}


def report(*args: str, by: str = HR) -> Result:
    from deployments.cli import app

    # Wide, so that rich does not wrap a line mid-name.
    return CliRunner().invoke(app, ["--as", by, "report", "effectiveness", *args],
                              env={"COLUMNS": "400"})


def test_the_json_has_every_figure_of_the_spec(forms: Forms, tmp_path: Path):  # noqa: F811
    plant(tmp_path, completers=40, others=40, effect=1.30)
    result = report("--module", MODULE, "--metric", METRIC, "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert set(found) >= KEYS, found
    assert (found["module"], found["metric"]) == (MODULE, METRIC)
    assert (found["completed_n"], found["not_completed_n"]) == (40, 40)
    assert 25 < found["lift_pct"] < 35 and found["caution"] is None
    assert found["before_mean"] < found["after_mean"]


def test_a_small_group_reads_as_a_table_of_names_with_its_caution(
        forms: Forms, tmp_path: Path):  # noqa: F811
    plant(tmp_path, completers=3, others=60, effect=1.30)
    result = report("--module", MODULE, "--metric", METRIC)
    assert result.exit_code == 0, result.output
    assert "培训效果：客户沟通 · 销售额" in result.output
    assert "已完成（完成之后的月份）" in result.output and "未完成" in result.output
    assert "其中 3 人在旧系统中完成" in result.output  # imported history counts, and says so
    assert "提示：" in result.output and "只有 3 人" in result.output
    assert MODULE not in result.output


def test_an_unknown_module_exits_2_and_lists_the_modules(forms: Forms,  # noqa: F811
                                                         tmp_path: Path):
    plant(tmp_path, completers=3, others=3, effect=1.0)
    result = report("--module", "negotiation", "--metric", METRIC)
    assert result.exit_code == 2
    assert "negotiation" in result.output and "客户沟通（customer-communication）" in result.output
    unknown_metric = report("--module", MODULE, "--metric", "利润")
    assert unknown_metric.exit_code == 2 and "销售额" in unknown_metric.output


def test_a_department_owner_may_not_read_reports(forms: Forms, tmp_path: Path):  # noqa: F811
    plant(tmp_path, completers=3, others=3, effect=1.0)
    result = report("--module", MODULE, "--metric", METRIC, by="li.na@example.com")
    assert result.exit_code == 2 and "已拒绝" in result.output
    assert forms.sql("select actor, object_id, via from audit_log where action = 'refused:read'"
                     ) == [("li.na@example.com", "reports", "cli")]
