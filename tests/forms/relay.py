"""One hire's relay played on real storage, for tests that read what it shows."""

from __future__ import annotations

from datetime import date

from tasks.env import get_catalog
from tests.forms.conftest import Forms

HIRE = "zhang.wei@example.com"
HR = "liu.fang@example.com"
MARKETING_OWNER = "li.na@example.com"
APPRAISER = "zhou.qiang@example.com"  # the marketing manager


def play_relay(forms: Forms, start: date) -> int:
    """A marketing specialist's relay up to the appraisal day, on real storage."""
    from tasks.appraisal import request_appraisal
    from tasks.handoff import deliver_materials, open_handoff_gates
    from tasks.learning import assign_ready_modules, take_quiz
    from tasks.runs import start_onboarding

    run_id = start_onboarding(name="张伟", email=HIRE, position="marketing-specialist",
                              start=start, by_email=HR, via="cli").run_id
    open_handoff_gates.fn(run_id)
    deliver_materials(module_code="culture", by_email=HR, via="cli")
    for module in ("customer-communication", "proposal-writing"):
        deliver_materials(module_code=module, by_email=MARKETING_OWNER, via="cli")
    assign_ready_modules.fn(run_id)
    quiz = get_catalog().modules["proposal-writing"].quiz
    take_quiz(assignment_id=assignment_of(forms, run_id, "proposal-writing"),
              answers={i: q.answer for i, q in enumerate(quiz.questions)}, via="cli", by_email=HIRE)
    request_appraisal.fn(run_id)  # the appraisal day has come: the manager is asked
    return run_id


def assignment_of(forms: Forms, run_id: int, module: str) -> int:
    return forms.sql("select id from assignments where run_id = :r and module_code = :m",
                     r=run_id, m=module)[0][0]
