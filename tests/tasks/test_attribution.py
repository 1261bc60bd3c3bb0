"""The default decision table: each cause fires on its facts, and the first that holds wins."""

from __future__ import annotations

import pytest

from storage.catalog import load_catalog
from tasks.attribution import Facts, first_rule
from tasks.reports.verdict import split_criteria

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
def storage(tmp_path):
    """Real SQLite storage with the default catalog; Prefect out of reach (runs start later)."""
    from deployments.cli import prepare_storage
    from storage import clock
    from tests.installation import installed, settings_for

    with installed(settings_for(tmp_path)):
        prepare_storage()
        yield
        clock.use_clock(clock.SystemClock())


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


# The practice legs (format version 2). The cause table's order, written out from
# ../shared/scenarios/README.md by hand: the oracle does not read rules.yaml.
README_ORDER = ["content-not-delivered", "onboarding-started-late", "content-late",
                "training-incomplete", "quiz-failed", "coaching-not-given",
                "assignment-not-submitted", "review-not-done", "assignment-failed",
                "practice-coaching", "expression"]


def test_the_rules_are_in_the_readme_table_order():
    assert [r.cause for r in RULES] == README_ORDER


def practised(**changes) -> Facts:
    """Trained, practice failed, every practice leg of the module done as it should be."""
    base = dict(failed={"practice"}, passed=set(), coaching_given=True, submitted=True,
                reviewed=True, assignment_passed=True)
    base.update(changes)
    return facts(**base)


@pytest.mark.parametrize(("expected", "responsible", "f"), [
    ("coaching-not-given", "owner", practised(coaching_given=False)),
    ("assignment-not-submitted", "hire",
     practised(submitted=False, reviewed=None, assignment_passed=None)),
    ("review-not-done", "owner", practised(reviewed=False, assignment_passed=None)),
    ("assignment-failed", "hire", practised(assignment_passed=False)),
    # Every tracked leg done, the practice still failed: the department's guidance.
    ("practice-coaching", "owner", practised()),
    # A module without practice legs goes straight from quiz-failed to practice-coaching.
    ("practice-coaching", "owner", facts(failed={"practice"}, passed=set())),
    # A content criterion failing is a practice failure too.
    ("assignment-failed", "hire",
     practised(failed={"content"}, passed={"delivery"}, assignment_passed=False)),
])
def test_each_practice_cause_fires_on_its_facts(expected, responsible, f):
    rule = first_rule(RULES, f)
    assert rule is not None and rule.cause == expected
    assert rule.responsible.value == responsible


@pytest.mark.parametrize(("f", "why"), [
    (practised(coaching_given=False, failed={"delivery"}, passed={"content"}),
     "only delivery failed: not a practice failure, whatever the coaching"),
    (practised(submitted=False, reviewed=None, assignment_passed=None, trained=False,
               attempts_left=True), "not trained: the training's causes come first"),
])
def test_practice_causes_need_a_trained_hire_and_a_failed_practice(f, why):
    assert cause(f) not in {"coaching-not-given", "assignment-not-submitted",
                            "review-not-done", "assignment-failed"}, why


# Each pair of causes that can hold together for one module, the earlier of the README's
# table first; facts a real run can have (nothing graded without a hand-in).
PAIRS = [
    ("coaching-not-given", "assignment-not-submitted",
     practised(coaching_given=False, submitted=False, reviewed=None, assignment_passed=None)),
    ("coaching-not-given", "review-not-done",
     practised(coaching_given=False, reviewed=False, assignment_passed=None)),
    ("coaching-not-given", "assignment-failed",
     practised(coaching_given=False, assignment_passed=False)),
    ("coaching-not-given", "practice-coaching", practised(coaching_given=False)),
    ("coaching-not-given", "expression",
     practised(coaching_given=False, failed={"practice", "delivery"}, passed={"content"})),
    ("assignment-not-submitted", "practice-coaching",
     practised(submitted=False, reviewed=None, assignment_passed=None)),
    ("assignment-not-submitted", "expression",
     practised(submitted=False, reviewed=None, assignment_passed=None,
               failed={"practice", "delivery"}, passed={"content"})),
    # The latest hand-in ungraded, an earlier one graded below the mark.
    ("review-not-done", "assignment-failed", practised(reviewed=False, assignment_passed=False)),
    ("review-not-done", "practice-coaching", practised(reviewed=False, assignment_passed=None)),
    ("review-not-done", "expression",
     practised(reviewed=False, assignment_passed=None, failed={"practice", "delivery"},
               passed={"content"})),
    ("assignment-failed", "practice-coaching", practised(assignment_passed=False)),
    ("assignment-failed", "expression",
     practised(assignment_passed=False, failed={"practice", "delivery"}, passed={"content"})),
]


@pytest.mark.parametrize(("earlier", "later", "f"), PAIRS)
def test_of_two_practice_causes_that_hold_the_earlier_wins(earlier, later, f):
    from tasks.attribution import holds

    by_cause = {r.cause: r for r in RULES}
    assert README_ORDER.index(earlier) < README_ORDER.index(later)
    assert holds(by_cause[earlier].when, f) and holds(by_cause[later].when, f), \
        "both causes must hold, or the test proves nothing"
    assert cause(f) == earlier


def test_training_causes_and_practice_causes_never_hold_together():
    """The training causes ask for a hire not trained, the practice ones for a trained one:
    whatever the practice facts, one module meets only one of the two groups."""
    from tasks.attribution import holds

    training = [r for r in RULES if r.when.trained is False]
    practice = [r for r in RULES if r.when.trained is True]
    assert {r.cause for r in training} == set(README_ORDER[1:5])
    for trained in (True, False):
        f = practised(trained=trained, coaching_given=False, submitted=False, reviewed=False,
                      assignment_passed=False, attempts_left=True, started_late=True,
                      delivered_late=True)
        assert not (any(holds(r.when, f) for r in training)
                    and any(holds(r.when, f) for r in practice))
