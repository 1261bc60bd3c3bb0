"""The hire's side of the relay: modules assigned once their materials exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.catalog import Plan, PlannedModule, Question
from storage.models import (
    Assignment,
    AssignmentStatus,
    DeliveredMaterial,
    Delivery,
    Finding,
    GateKind,
    QuizAttempt,
    Run,
)
from tasks.dates import due_after_working_days, spoken_day
from tasks.email import Recipient, render
from tasks.env import get_catalog, reading, transaction
from tasks.i18n import normalize_locale
from tasks.links import make_link
from tasks.permissions import assignment_target, check
from tasks.quizzes import HireQuiz, QuizChanged, current_quiz_in, planned_quiz_in
from tasks.runs import resume_run

STUDY_LINK_VALID_FOR = timedelta(days=90)


def remedial_codes(session: Session, run_id: int) -> list[str]:
    """The modules the run's findings assigned as remedial training, in the findings' order."""
    codes: list[str] = []
    for remedial in session.scalars(select(Finding.remedial).where(Finding.run_id == run_id)
                                    .order_by(Finding.id)):
        codes += [c for c in remedial or [] if c not in codes]
    return codes


def relay_modules(session: Session, run: Run) -> list[PlannedModule]:
    """The modules the relay works on now: the plan's until the appraisal is submitted; then
    only the remedial modules its verdict assigned (materials asked for, studied, quizzed)."""
    from tasks.practice import appraised_at  # tasks.practice imports this module

    if appraised_at(session, run.id) is None:
        return list(run.plan.modules)
    return [planned_module(run.plan, code) for code in remedial_codes(session, run.id)]


@dataclass(frozen=True)
class Remedial:
    """One remedial module and how far the hire got with it."""

    code: str
    title: str
    status: str  # waiting (no materials yet) | assigned | passed | failed
    due_at: datetime | None
    scores: list[int]


def remedial_progress(session: Session, run: Run, locale: str) -> list[Remedial]:
    lang = normalize_locale(locale)
    assignments = repo.assignments_of(session=session, run_id=run.id)
    progress = []
    for code in remedial_codes(session, run.id):
        a = assignments.get(code)
        scores = list(session.scalars(select(QuizAttempt.score).where(
            QuizAttempt.assignment_id == a.id).order_by(QuizAttempt.attempt_no))) if a else []
        progress.append(Remedial(code, planned_module(run.plan, code).title.get(lang),
                                 a.status if a else "waiting", a.due_at if a else None, scores))
    return progress


@task(cache_policy=NO_CACHE)
def remedial_finished(run_id: int) -> bool:
    """Whether every remedial module was passed or used every attempt (true when none)."""
    with reading() as session:
        run = repo.get_run(session=session, run_id=run_id)
        return all(r.status in (AssignmentStatus.PASSED, AssignmentStatus.FAILED)
                   for r in remedial_progress(session, run, "en"))


@task(cache_policy=NO_CACHE)
def assign_ready_modules(run_id: int) -> list[str]:
    """Assign every module of the relay whose materials exist and email the hire once per
    batch (after the appraisal: the remedial modules)."""
    now = clock.now()
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        assigned = repo.assignments_of(session=session, run_id=run_id)
        new: list[tuple[PlannedModule, Assignment]] = []
        for module in relay_modules(session, run):
            code = module.code
            if code in assigned:
                continue
            delivery = repo.latest_delivery(session=session, module_code=code)
            if delivery is None:
                continue
            # The study window counts from when the hire can study: the materials exist and
            # this pass tells them (a pass delayed by an outage does not eat their window).
            due = due_after_working_days(now, module.study_days)
            assignment = Assignment(run_id=run_id, module_code=code, assigned_at=now,
                                    due_at=due, status=AssignmentStatus.ASSIGNED)
            session.add(assignment)
            session.flush()
            repo.open_gate(session=session, run_id=run_id, kind=GateKind.STUDY, subject=code,
                           waiting_on="hire", now=now, due=due)
            new.append((module, assignment))
        if not new:
            return []
        hire = run.hire
        lang = normalize_locale(hire.locale)
        message = render(
            "assignment", to=Recipient(name=hire.name, email=hire.email, locale=hire.locale),
            pass_mark=min(m.pass_mark for m, _ in new),
            remedial=run.plan.module(new[0][0].code) is None,
            modules=[{
                "title": m.title.get(lang),
                "due": spoken_day(a.due_at, lang),
                "link": study_link(person_id=hire.id, assignment_id=a.id),
                **owner_note(repo.latest_delivery(session=session, module_code=m.code)),
            } for m, a in new],
        )
        codes = [m.code for m, _ in new]
        repo.queue_message(session=session, key=f"assignment:{run_id}:{','.join(codes)}",
                           run_id=run_id, kind="assignment", message=message, now=now)
        repo.audit(session=session, actor="system", action="modules-assigned",
                   object_type="run", object_id=str(run_id), via="flow", now=now,
                   detail={"modules": codes})
        return codes


def owner_note(delivery: Delivery | None) -> dict[str, str]:
    """The owner's note to the hire that came with the materials, and who wrote it."""
    if delivery is None or not delivery.note.strip():
        return {"note": "", "note_by": ""}
    return {"note": delivery.note.strip(), "note_by": delivery.delivered_by.name}


@dataclass(frozen=True)
class Studying:
    """What the hire's study page shows of one assignment."""

    assignment_id: int
    run_id: int
    module: str
    status: AssignmentStatus
    due_at: datetime
    materials: list[DeliveredMaterial]
    scores: list[int]
    note: str = ""
    note_by: str = ""
    delivered_at: datetime | None = None


# What `studying` reads of the assignment: columns, not the entity, in a statement built once
# (every study page asks; see storage/repo.py). The study page reads its run's plan with it.
_STUDIED = select(Assignment.id, Assignment.run_id, Assignment.module_code, Assignment.status,
                  Assignment.due_at).where(Assignment.id == bindparam("assignment_id"))
_STUDIED_PLANNED = _STUDIED.add_columns(Run.plan).join(Run, Run.id == Assignment.run_id)


def study_page(assignment_id: int) -> tuple[Studying, HireQuiz]:
    """What the hire's study page shows: the assignment as `studying` has it, and its quiz as
    the hire would take it now, in one read."""
    with reading() as session:
        assignment = session.execute(_STUDIED_PLANNED, {"assignment_id": assignment_id}).one()
        return (_studying(session, assignment),
                planned_quiz_in(session, assignment.plan, assignment.module_code))


def studying(assignment_id: int) -> Studying:
    """The assignment with its module's latest materials, the owner's note and the scores."""
    with reading() as session:
        return _studying(session, session.execute(_STUDIED, {"assignment_id": assignment_id})
                         .one())


def _studying(session: Session, assignment: Row[*tuple[Any, ...]]) -> Studying:
    """The `Studying` of a `_STUDIED` row."""
    delivery = repo.latest_delivery(session=session, module_code=assignment.module_code,
                                    with_items=True)
    scores = repo.quiz_scores(session=session, assignment_id=assignment.id)
    return Studying(assignment.id, assignment.run_id, assignment.module_code,
                    assignment.status, assignment.due_at,
                    list(delivery.items) if delivery else [], scores,
                    delivered_at=delivery.delivered_at if delivery else None,
                    **owner_note(delivery))


class QuizClosed(Exception):
    """The assignment's quiz cannot be taken: passed already, or no attempts left."""


@dataclass(frozen=True)
class QuizResult:
    assignment_id: int
    module: str
    score: int
    pass_mark: int
    passed: bool
    attempt_no: int
    attempts_left: int
    wrong: dict[int, int | None] = field(default_factory=dict)  # question -> the choice given
    next_assignment: int | None = None  # another module of the run still to study
    quiz_version: int = 1  # the version of the module's quiz answered (tasks/quizzes.py)

    @property
    def next_step(self) -> str:
        """passed | retest | no-attempts-left"""
        if self.passed:
            return "passed"
        return "retest" if self.attempts_left else "no-attempts-left"


def grade(questions: list[Question], answers: dict[int, int]) -> int:
    """The percentage of questions answered with the right choice, rounded."""
    right = sum(1 for i, q in enumerate(questions) if answers.get(i) == q.answer)
    return round(100 * right / len(questions))


def wrong_answers(questions: list[Question], answers: dict[int, int]) -> dict[int, int | None]:
    """The questions not answered with the right choice, each with the choice given (if any)."""
    return {i: answers.get(i) for i, q in enumerate(questions) if answers.get(i) != q.answer}


def study_link(*, person_id: int, assignment_id: int) -> str:
    return make_link(path=f"/study/{assignment_id}", action="study", person_id=person_id,
                     object_id=str(assignment_id), valid_for=STUDY_LINK_VALID_FOR)


def planned_module(plan: Plan, code: str) -> PlannedModule:
    """The module as the run's plan has it; a remedial module (not in the plan) as the
    catalog has it now."""
    found = plan.module(code)
    if found is not None:
        return found
    return PlannedModule.of(get_catalog().modules[code])


def take_quiz(*, assignment_id: int, answers: dict[int, int], via: str,
              link: repo.LinkUse | None = None, by_email: str | None = None,
              quiz_version: int | None = None) -> QuizResult:
    """Grade an attempt against the module's newest quiz and record it, with the materials
    and quiz versions it was taken on; a failed one with attempts left sends the retest email.

    The person taking it is the link's, or `by_email`; only the hire whose assignment it is
    may (NotPermitted, audited, for anyone else). `quiz_version`: the version the answers were
    given to (the quiz page's); QuizChanged, and nothing recorded, when it is not the newest.
    Then the run is resumed so that its next pass sees the result.
    """
    with reading() as session:
        target = assignment_target(session, assignment_id)
    if target is None:
        raise LookupError(f"no assignment {assignment_id}")
    check(action="quiz", target=target, via=via, by_email=by_email,
          person_id=link.person_id if link is not None else None)
    now = clock.now()
    with transaction() as session:
        if link is not None:
            repo.spend_link(session=session, link=link, now=now)
        assignment = session.get(Assignment, assignment_id)
        if assignment is None:
            raise LookupError(f"no assignment {assignment_id}")
        if assignment.status != AssignmentStatus.ASSIGNED:
            raise QuizClosed(assignment.status)
        run = repo.get_run(session=session, run_id=assignment.run_id)
        planned = planned_module(run.plan, assignment.module_code)
        taken = session.scalar(select(func.count()).select_from(QuizAttempt).where(
            QuizAttempt.assignment_id == assignment_id)) or 0
        quiz = current_quiz_in(session, assignment.module_code)
        if quiz_version is not None and quiz_version != quiz.version:
            raise QuizChanged(quiz.version)  # rolled back: the link is not spent
        questions = quiz.quiz.questions
        score = grade(questions, answers)
        passed = score >= planned.pass_mark
        attempt_no = taken + 1
        studied = repo.latest_delivery(session=session, module_code=assignment.module_code)
        session.add(QuizAttempt(assignment_id=assignment_id, attempt_no=attempt_no,
                                score=score, passed=passed, taken_at=now,
                                delivery_id=studied.id if studied else None,
                                quiz_version=quiz.version))
        left = planned.attempts - attempt_no
        if passed or left == 0:
            assignment.status = AssignmentStatus.PASSED if passed else AssignmentStatus.FAILED
            assignment.completed_at = now
            repo.close_gate(session=session, run_id=run.id, kind=GateKind.STUDY,
                            subject=assignment.module_code, now=now)
        else:
            hire = run.hire
            lang = normalize_locale(hire.locale)
            message = render(
                "retest", to=Recipient(hire.name, hire.email, hire.locale),
                module=planned.title.get(lang), score=score, pass_mark=planned.pass_mark,
                attempts_left=left,
                link=study_link(person_id=hire.id, assignment_id=assignment_id))
            repo.queue_message(session=session, key=f"retest:{assignment_id}:{attempt_no}",
                               run_id=run.id, kind="retest", message=message, now=now)
        run.resume_requested_at = now
        repo.audit(session=session, actor=run.hire.email, action="quiz-taken",
                   object_type="assignment", object_id=str(assignment_id), via=via, now=now,
                   detail={"module": assignment.module_code, "attempt": attempt_no,
                           "score": score, "passed": passed})
        following = session.scalar(
            select(Assignment.id).where(Assignment.run_id == run.id,
                                        Assignment.status == AssignmentStatus.ASSIGNED,
                                        Assignment.id != assignment_id)
            .order_by(Assignment.due_at, Assignment.id).limit(1))
        result = QuizResult(assignment_id, assignment.module_code, score, planned.pass_mark,
                            passed, attempt_no, left, wrong_answers(questions, answers),
                            following, quiz.version)
        run_id = run.id
    resume_run(run_id)
    return result
