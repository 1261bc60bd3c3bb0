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
