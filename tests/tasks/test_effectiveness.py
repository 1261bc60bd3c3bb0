"""Training effectiveness on data imported through `jieli import`'s own function (SQLite and
PostgreSQL): a planted +30 % on completers' sales is found within one percentage point, no
effect is found as none, and a small group or months that do not overlap get a caution."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from storage import repo
from tasks.env import get_catalog, reading
from tests.installation import ready_storage
from tests.tasks.planted import HR, METRIC, MODULE, months, plant, write

# With 800 a group, the lift found scatters about ±0.3 points across seeds (σ 3 % between
# employees, 5 % between months): one point is well outside what chance gives.
COMPLETERS = OTHERS = 800


@pytest.fixture
def storage(database_url: str, tmp_path: Path) -> Iterator[str]:
    with ready_storage(tmp_path, database_url):
        yield database_url


def report(locale: str = "zh_CN", module: str = MODULE, metric: str = METRIC):
    from tasks.reports.effectiveness import effectiveness

    with reading() as session:
        return effectiveness(session=session, module=module, metric=metric, locale=locale)


def change(before: float | None, after: float | None) -> float:
    assert before is not None and after is not None
    return (after - before) / before * 100


def test_a_planted_30_percent_on_completers_sales_is_found_within_a_point(storage: str,
                                                                          tmp_path: Path):
    plant(tmp_path, completers=COMPLETERS, others=OTHERS, effect=1.30)
    found = report()
    assert (found.completed_n, found.not_completed_n) == (COMPLETERS, OTHERS)
    assert found.lift_pct is not None and abs(found.lift_pct - 30) <= 1, found
    # The same completers' own months: before at the others' level, after 30 % above.
    assert found.before_after_n == COMPLETERS
    assert abs(change(found.before_mean, found.after_mean) - 30) <= 1, found
    assert found.completed_imported_n == COMPLETERS  # their completions are the old system's
    assert found.caution is None


def test_no_effect_is_found_as_none_within_a_point(storage: str, tmp_path: Path):
    plant(tmp_path, completers=COMPLETERS, others=OTHERS, effect=1.0, seed=12)
    found = report("en")
    assert found.lift_pct is not None and abs(found.lift_pct) <= 1, found
    assert abs(change(found.before_mean, found.after_mean)) <= 1, found
    assert found.caution is None


def test_a_group_of_three_gets_a_caution_in_the_readers_language(storage: str,
                                                                 tmp_path: Path):
    plant(tmp_path, completers=3, others=60, effect=1.30)
    zh, en = report(), report("en")
    assert zh.completed_n == en.completed_n == 3
    assert zh.caution and "3" in zh.caution and "客户沟通" in zh.caution, zh.caution
    assert en.caution and "Only 3 employee(s) completed “Customer communication”" in en.caution
    assert MODULE not in zh.caution + en.caution  # its name, not its code


def test_months_that_do_not_overlap_get_a_caution(storage: str, tmp_path: Path):
    plant(tmp_path, completers=40, others=40, effect=1.30,
          completers_months=months("2025-01", 12), others_months=months("2023-01", 12))
    found = report("en")
    assert found.caution and "do not overlap" in found.caution, found.caution
    assert "Dec 2023" in found.caution and "Dec 2025" in found.caution


def test_a_quiz_passed_in_jieli_counts_as_completing_the_module(storage: str, tmp_path: Path):
    """E00001 passed the quiz in Jieli (their hire's address is the employee's), E00000 in the
    old system, E00002 never: two completers, one of them imported, one other."""
    from storage.models import Assignment, AssignmentStatus
    from tasks.env import transaction

    people = plant(tmp_path, completers=1, others=2, effect=1.30)
    with transaction() as session:  # their run (as `jieli hire` stores it), quiz passed in April
        hire = repo.upsert_person(session=session, name="员工E00001", email=people[1].email)
        run = repo.create_run(session=session, catalog=get_catalog(), hire=hire,
                              position_code="marketing-specialist", start_date=date(2024, 3, 1),
                              now=datetime(2024, 2, 20, tzinfo=UTC))
        session.add(Assignment(run_id=run.id, module_code=MODULE,
                               assigned_at=datetime(2024, 4, 1, 2, tzinfo=UTC),
                               due_at=datetime(2024, 4, 4, 2, tzinfo=UTC),
                               status=AssignmentStatus.PASSED,
                               completed_at=datetime(2024, 4, 3, 2, tzinfo=UTC)))
    found = report()
    assert (found.completed_n, found.completed_imported_n, found.not_completed_n) == (2, 1, 1)


def test_an_unknown_module_or_metric_names_the_known_ones(storage: str, tmp_path: Path):
    from tasks.reports.effectiveness import UnknownMetric, UnknownModule

    plant(tmp_path, completers=2, others=2, effect=1.0)
    with pytest.raises(UnknownModule) as module:
        report(module="negotiation")
    assert MODULE in module.value.known
    with pytest.raises(UnknownMetric) as metric:
        report(metric="利润")
    assert metric.value.known == [METRIC]


def test_the_figures_of_every_module_and_metric_with_data(storage: str, tmp_path: Path):
    from tasks.import_columns import Kind
    from tasks.importing import import_file
    from tasks.reports.effectiveness import every_effectiveness

    plant(tmp_path, completers=3, others=3, effect=1.0)
    extra = write(tmp_path / "tickets.csv", [["工号", "月份", "指标", "数值"],
                                             ["E00000", "2024-05", "工单数", 12]])
    assert import_file(kind=Kind.METRICS, path=extra, by_email=HR, locale="en").written
    with reading() as session:
        found = every_effectiveness(session=session, locale="zh_CN")
    assert [(f.module, f.metric) for f in found] == [(MODULE, "工单数"), (MODULE, METRIC)]
