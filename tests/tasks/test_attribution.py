"""The default decision table: each cause fires on its facts, and the first that holds wins."""

from __future__ import annotations

import pytest

from storage.catalog import load_catalog
from tasks.attribution import Facts, first_rule, split_criteria

RULES = load_catalog().rules.attribution


def facts(**changes) -> Facts:
    """A hire who was trained on materials delivered on time, passing every criterion."""
    base = dict(delivered=True, delivered_late=False, started_late=False, trained=True,
                attempts_left=True, failed=set(), passed={"practice", "content", "delivery"})
    base.update(changes)
    return Facts(**base)


def cause(f: Facts) -> str | None:
    rule = first_rule(RULES, f)
    return rule.cause if rule else None


@pytest.mark.parametrize(("expected", "f"), [
    ("content-not-delivered", facts(delivered=False, trained=False)),
    ("onboarding-started-late", facts(trained=False, started_late=True)),
    ("content-late", facts(trained=False, delivered_late=True)),
    ("training-incomplete", facts(trained=False, attempts_left=True)),
    ("quiz-failed", facts(trained=False, attempts_left=False)),
    ("practice-coaching", facts(failed={"practice"}, passed=set())),
    ("practice-coaching", facts(failed={"content"}, passed={"delivery"})),
    ("expression", facts(failed={"delivery"}, passed={"content"})),
])
def test_each_cause_fires_on_its_facts(expected: str, f: Facts):
    assert cause(f) == expected


@pytest.mark.parametrize(("expected", "also_holds", "f"), [
    ("content-not-delivered", "onboarding-started-late",
     facts(delivered=False, trained=False, started_late=True)),
    ("onboarding-started-late", "content-late",
     facts(trained=False, started_late=True, delivered_late=True)),
    ("content-late", "training-incomplete",
     facts(trained=False, delivered_late=True, attempts_left=True)),
    ("content-late", "quiz-failed",
     facts(trained=False, delivered_late=True, attempts_left=False)),
    ("practice-coaching", "expression",
     facts(failed={"practice", "delivery"}, passed={"content"})),
])
def test_the_earlier_cause_wins_when_a_later_one_also_holds(expected, also_holds, f):
    later = next(r for r in RULES if r.cause == also_holds)
    from tasks.attribution import holds

    assert holds(later.when, f), "the later cause must hold too, or the test proves nothing"
    assert cause(f) == expected


def test_expression_prescribes_presentation_skills():
    rule = first_rule(RULES, facts(failed={"delivery"}, passed={"content"}))
    assert rule is not None and rule.remedial == ["presentation-skills"]
    assert rule.responsible.value == "hr"


def test_pass_marks_are_inclusive():
    assert split_criteria({"practice": 60, "content": 59}, 60) == ({"content"}, {"practice"})
    assert split_criteria({"delivery": 100}, 60) == (set(), {"delivery"})


# Fair in time: nobody answers for a leg that was not yet due when the appraisal was
# submitted (a fact about such a leg is None, and no condition on it holds).

@pytest.mark.parametrize(("expected", "f"), [
    # A hand-off not yet due: HR's late start, not the department's.
    ("onboarding-started-late", facts(delivered=None, trained=False, started_late=True,
                                      attempts_left=None)),
    # Neither the hand-off nor the study was due, and HR started on time: nobody's leg broke.
    (None, facts(delivered=None, trained=False, attempts_left=None)),
    # The study not yet due: the hire is not answerable for an unfinished module.
    (None, facts(trained=False, attempts_left=None)),
    # Every attempt used is a fact whatever the due day: the hire did take the quiz.
    ("quiz-failed", facts(trained=False, attempts_left=False)),
])
def test_a_leg_not_yet_due_at_the_appraisal_is_nobodys_fault(expected, f):
    assert cause(f) == expected


APPRAISAL = {"coding-assignment": {"practice": 40}}


@pytest.fixture
def storage(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """Real SQLite storage with the default catalog; Prefect out of reach (runs start later)."""
    from deployments.stack import free_port
    from storage import clock
    from storage.db import get_engine
    from storage.settings import get_settings
    from tasks.env import get_catalog

    monkeypatch.setenv("JIELI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JIELI_PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    get_settings.cache_clear()
    get_catalog.cache_clear()
    from deployments.cli import prepare_storage

    prepare_storage()
    yield
    clock.use_clock(clock.SystemClock())
    get_engine(get_settings().storage_url).dispose()
    get_settings.cache_clear()
    get_catalog.cache_clear()


def appraise_python_developer(started_day: int, appraised_day: int) -> tuple[str, str, list]:
    """HR starts the run `started_day` days after the first day; the appraisal follows on
    `appraised_day`; technology never hands off python-basics. (cause, responsible, evidence)"""
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from storage import clock
    from storage.models import AppraisalScore, Finding
    from tasks.appraisal import appraiser_of
    from tasks.attribution import attribute
    from tasks.env import transaction
    from tasks.handoff import open_handoff_gates
    from tasks.runs import start_onboarding

    first = date(2026, 12, 1)
    at_nine = datetime(2026, 12, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    virtual = clock.VirtualClock(at_nine + timedelta(days=started_day))
    clock.use_clock(virtual)
    run_id = start_onboarding(name="周一", email="zhou.yi@example.com",
                              position="python-developer", start=first,
                              by_email="liu.fang@example.com", via="cli").run_id
    open_handoff_gates.fn(run_id)
    virtual.set(at_nine + timedelta(days=appraised_day, hours=1))
    appraiser = appraiser_of(run_id=run_id)
    with transaction() as session:
        session.add(AppraisalScore(run_id=run_id, item="coding-assignment",
                                   criterion="practice", score=40, appraiser_id=appraiser.id,
                                   submitted_at=clock.now()))
    attribute.fn(run_id)
    with transaction() as session:
        finding = session.scalars(select(Finding).where(Finding.run_id == run_id)).one()
        return finding.cause, finding.responsible, list(finding.evidence)


def test_a_late_started_run_appraised_before_the_handoff_was_due_is_hrs_late_start(storage):
    cause_, responsible, evidence = appraise_python_developer(started_day=31,
                                                              appraised_day=31)
    assert (cause_, responsible) == ("onboarding-started-late", "hr")
    text = " ".join(evidence)
    assert "始终未交接" not in text  # not "never handed off": it was not due yet
    assert "考核前未到期" in text and "晚于入职首日" in text


def test_the_same_handoff_missed_past_its_due_day_is_the_departments(storage):
    cause_, responsible, _ = appraise_python_developer(started_day=0, appraised_day=30)
    assert (cause_, responsible) == ("content-not-delivered", "technology")
