"""The practice legs of a module, after its quiz: coaching given, an assignment graded.

A module whose catalog entry has `practice:` gets, once it is assigned to the hire:
- a **coaching** leg: the owner department owes `sessions` coaching sessions within `due_days`
  working days. Its owner records each session from an emailed link; the hire is then asked
  to confirm it took place or to dispute it. Only confirmed sessions count. Until enough are
  confirmed the run waits on the department (gate `coaching`).
- an **assignment** leg: the hire gets the brief and a link to hand in a file or a link
  (the hand-off's upload rules) within `due_days` working days (gate `submit`, on the hire).
  Each submission asks the department's reviewers (its owner unless it names reviewers) to
  grade it within `review_days` working days (gate `review`, on the department): a score
  0-100 and a comment per rubric criterion. Below the pass mark the hire may hand in again
  until the appraisal is submitted; only the latest submission is graded.

The appraisal ends both legs: what counts for the verdict is how they stood when it was
submitted (`practice_facts`, used by tasks/attribution.py).
"""

from __future__ import annotations

import filecmp
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.catalog import PlannedModule, PracticeAssignment
from storage.models import (
    AppraisalScore,
    CoachingSession,
    Gate,
    GateKind,
    Person,
    Run,
    RunStatus,
    SessionAnswer,
    Submission,
)
from storage.names import InvalidPerson, check_name
from storage.settings import get_settings
from tasks.dates import due_after_working_days, local_date, spoken_day
from tasks.email import Recipient, render
from tasks.env import get_catalog, reading, transaction
from tasks.i18n import gettext, normalize_locale
from tasks.labels import names
from tasks.links import Spent, make_link
from tasks.permissions import check, practice_target
from tasks.runs import resume_run

if TYPE_CHECKING:  # the type only: tasks.materials loads the hand-off modules with it
    from tasks.materials import Upload

PRACTICE_LINK_VALID_FOR = timedelta(days=120)  # coaching and hand-in links: the probation
GRADE_LINK_VALID_FOR = timedelta(days=60)
ANSWER_LINK_VALID_FOR = timedelta(days=30)
MAX_SESSION_MINUTES = 8 * 60
MAX_TOPIC_CHARS = 200
MAX_NOTE_CHARS = 2000
PRACTICE_GATES = (GateKind.COACHING, GateKind.SUBMIT, GateKind.REVIEW)


def practice_key(run_id: int, module_code: str) -> str:
    """A run's practice in one module, as links and paths name it: `12.python-basics`."""
    return f"{run_id}.{module_code}"


def parse_practice_key(key: str) -> tuple[int, str] | None:
    run_id, dot, module = key.partition(".")
    if not dot or not (run_id.isascii() and run_id.isdigit()) or len(run_id) > 18:
        return None
    return int(run_id), module


def coaching_link(*, owner_id: int, run_id: int, module_code: str) -> str:
    key = practice_key(run_id, module_code)
    return make_link(path=f"/coaching/{key}", action="coach", person_id=owner_id, object_id=key,
                     valid_for=PRACTICE_LINK_VALID_FOR)


def submit_link(*, hire_id: int, run_id: int, module_code: str) -> str:
    key = practice_key(run_id, module_code)
    return make_link(path=f"/submit/{key}", action="submit", person_id=hire_id, object_id=key,
                     valid_for=PRACTICE_LINK_VALID_FOR)


def answer_link(*, hire_id: int, session_id: int) -> str:
    return make_link(path=f"/coaching/sessions/{session_id}", action="confirm",
                     person_id=hire_id, object_id=str(session_id),
                     valid_for=ANSWER_LINK_VALID_FOR)


def grade_link(*, reviewer_id: int, submission_id: int) -> str:
    return make_link(path=f"/grade/{submission_id}", action="grade", person_id=reviewer_id,
                     object_id=str(submission_id), valid_for=GRADE_LINK_VALID_FOR)


# --- what a pass does --------------------------------------------------------------------


def _module(run: Run, code: str) -> PlannedModule:
    from tasks.learning import planned_module  # tasks.learning imports this module

    return planned_module(run.plan, code)


def appraised_at(session: Session, run_id: int) -> datetime | None:
    """When the run's appraisal was submitted, if it was: the practice legs end then."""
    return session.scalar(select(func.max(AppraisalScore.submitted_at))
                          .where(AppraisalScore.run_id == run_id))


def graders(session: Session, department: str) -> list[Person]:
    """Who grades a department's assignments: the reviewers it names, else its owner."""
    dept = get_catalog().departments[department]
    people = [repo.person_by_email(session=session, email=p.email) for p in dept.graders()]
    return [p for p in people if p is not None]


@task(cache_policy=NO_CACHE)
def open_practice_legs(run_id: int) -> list[str]:
    """For each assigned module with practice legs, open its coaching and hand-in legs (once):
    the owner is emailed what coaching is owed and by when, the hire the assignment's brief.
    Returns the modules whose practice is still open."""
    now = clock.now()
    opened: list[str] = []
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        if run.status != RunStatus.ACTIVE or appraised_at(session, run_id) is not None:
            return []
        for code, assignment in repo.assignments_of(session=session, run_id=run_id).items():
            module = _module(run, code)
            practice = module.practice
            if practice is None or run.plan.module(code) is None:
                continue  # a remedial module is studied, not practised again
            if practice.coaching is not None:
                due = due_after_working_days(assignment.assigned_at, practice.coaching.due_days)
                gate, created = repo.open_gate(
                    session=session, run_id=run_id, kind=GateKind.COACHING, subject=code,
                    waiting_on=module.owner, now=now, due=due)
                if created:
                    _ask_for_coaching(session, run, module, due, now)
                if gate.closed_at is None and \
                        confirmed_sessions(session, run_id, code) >= practice.coaching.sessions:
                    gate.closed_at = now
            if practice.assignment is not None:
                due = due_after_working_days(assignment.assigned_at,
                                             practice.assignment.due_days)
                _, created = repo.open_gate(session=session, run_id=run_id, kind=GateKind.SUBMIT,
                                            subject=code, waiting_on="hire", now=now, due=due)
                if created:
                    _send_brief(session, run, module, practice.assignment, due, now)
            opened.append(code)
    return opened


def _ask_for_coaching(session: Session, run: Run, module: PlannedModule, due: datetime,
                      now: datetime) -> None:
    assert module.practice is not None and module.practice.coaching is not None
    owner = repo.department(session=session, code=module.owner).owner
    lang = normalize_locale(owner.locale)
    message = render(
        "coaching_request", to=Recipient(owner.name, owner.email, owner.locale),
        hire=run.hire.name, module=module.title.get(lang),
        sessions=module.practice.coaching.sessions, due=spoken_day(due, lang),
        link=coaching_link(owner_id=owner.id, run_id=run.id, module_code=module.code))
    repo.queue_message(session=session, key=f"coaching-request:{run.id}:{module.code}",
                       run_id=run.id, kind="coaching-request", message=message, now=now)
    repo.audit(session=session, actor="system", action="coaching-requested", object_type="run",
               object_id=str(run.id), via="flow", now=now,
               detail={"module": module.code, "owner": owner.email, "due": due.isoformat(),
                       "sessions": module.practice.coaching.sessions})


def _send_brief(session: Session, run: Run, module: PlannedModule,
                assignment: PracticeAssignment, due: datetime, now: datetime) -> None:
    hire = run.hire
    lang = normalize_locale(hire.locale)
    message = render(
        "practice_assignment", to=Recipient(hire.name, hire.email, hire.locale),
        module=module.title.get(lang), title=assignment.title.get(lang),
        brief=assignment.brief.get(lang), due=spoken_day(due, lang),
        pass_mark=assignment.pass_mark,
        rubric=[c.title.get(lang) for c in assignment.rubric],
        link=submit_link(hire_id=hire.id, run_id=run.id, module_code=module.code))
    repo.queue_message(session=session, key=f"practice-assignment:{run.id}:{module.code}",
                       run_id=run.id, kind="practice-assignment", message=message, now=now)
    repo.audit(session=session, actor="system", action="assignment-set", object_type="run",
               object_id=str(run.id), via="flow", now=now,
               detail={"module": module.code, "due": due.isoformat()})


def confirmed_sessions(session: Session, run_id: int, module_code: str,
                       by: datetime | None = None) -> int:
    """Coaching sessions the hire confirmed (by `by`, when given)."""
    query = select(func.count()).select_from(CoachingSession).where(
        CoachingSession.run_id == run_id, CoachingSession.module_code == module_code,
        CoachingSession.answer == SessionAnswer.CONFIRMED)
    if by is not None:
        query = query.where(CoachingSession.answered_at <= by)
    return session.scalar(query) or 0


# --- what people do ----------------------------------------------------------------------


class PracticeClosed(Exception):
    """The appraisal was submitted (or the run is over): the practice legs are closed."""

    def __init__(self, at: datetime | None):
        super().__init__("the probation appraisal was submitted; practice legs are closed")
        self.at = at


class PracticeInvalid(ValueError):
    """What a person typed cannot be recorded; `problems` maps each field to what is wrong
    (a code the form turns into a sentence): nothing was stored."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(", ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


class AlreadyAnswered(Exception):
    def __init__(self, spent: Spent):
        super().__init__("already answered")
        self.spent = spent


class AlreadyGraded(Exception):
    def __init__(self, spent: Spent):
        super().__init__("already graded")
        self.spent = spent


class AlreadyPassed(Exception):
    """The latest hand-in passed: the assignment is done, nothing more is handed in."""

    def __init__(self, number: int):
        super().__init__(f"hand-in {number} passed")
        self.number = number


class Superseded(Exception):
    """A newer submission of the same assignment exists: that one is graded."""

    def __init__(self, newer: int):
        super().__init__(f"submission {newer} is newer")
        self.newer = newer


def _open_run(session: Session, run_id: int) -> Run:
    run = repo.get_run(session=session, run_id=run_id)
    at = appraised_at(session, run_id)
    if at is not None or run.status != RunStatus.ACTIVE:
        raise PracticeClosed(at or run.completed_at)
    return run


def _text(value: str, limit: int, problems: dict[str, str], name: str,
          required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        problems[name] = "required"
    elif len(value) > limit:
        problems[name] = "too-long"
    elif any(ord(c) < 32 and c not in "\n\t" for c in value):
        problems[name] = "control"
    return value


def record_session(*, run_id: int, module_code: str, held_on: date | None, minutes: int | None,
                   topic: str, notes: str, via: str, by_email: str | None = None,
                   person_id: int | None = None) -> int:
    """The owner department records a coaching session it gave; the hire is emailed a link to
    confirm or dispute it. Returns the session's id (the same one for a repeated submit of
    the same session). PracticeInvalid, PracticeClosed, NotPermitted (audited)."""
    with reading() as session:
        target = practice_target(session, run_id, module_code)
    if target is None:
        raise LookupError(f"no practice {practice_key(run_id, module_code)}")
    actor = check(action="coach", target=target, via=via, by_email=by_email,
                  person_id=person_id)
    now = clock.now()
    problems: dict[str, str] = {}
    topic = _text(topic, MAX_TOPIC_CHARS, problems, "topic", required=True)
    if "topic" not in problems:
        try:
            check_name(topic)  # one line, no control or bidi characters
        except InvalidPerson:
            problems["topic"] = "control"
    notes = _text(notes, MAX_NOTE_CHARS, problems, "notes")
    if minutes is None or not 1 <= minutes <= MAX_SESSION_MINUTES:
        problems["minutes"] = "range"
    with transaction() as session:
        run = _open_run(session, run_id)
        assignment = repo.assignments_of(session=session, run_id=run_id).get(module_code)
        module = _module(run, module_code)
        if assignment is None or module.practice is None or module.practice.coaching is None:
            raise LookupError(f"no coaching owed in {module_code} for run {run_id}")
        if held_on is None:
            problems["held_on"] = "required"
        elif held_on > local_date(now):
            problems["held_on"] = "future"
        elif held_on < local_date(assignment.assigned_at):
            problems["held_on"] = "before-assigned"
        if problems:
            raise PracticeInvalid(problems)
        assert held_on is not None and minutes is not None
        coach = repo.person_by_email(session=session, email=actor)
        assert coach is not None
        same = session.scalar(select(CoachingSession).where(
            CoachingSession.run_id == run_id, CoachingSession.module_code == module_code,
            CoachingSession.held_on == held_on, CoachingSession.minutes == minutes,
            CoachingSession.topic == topic))
        if same is not None:  # a double submit, or Back and submit again
            return same.id
        row = CoachingSession(run_id=run_id, module_code=module_code, coach_id=coach.id,
                              held_on=held_on, minutes=minutes, topic=topic, notes=notes,
                              recorded_at=now, answer=SessionAnswer.PENDING, hire_comment="")
        session.add(row)
        session.flush()
        hire = run.hire
        lang = normalize_locale(hire.locale)
        message = render(
            "coaching_confirm", to=Recipient(hire.name, hire.email, hire.locale),
            coach=coach.name, module=module.title.get(lang), held_on=spoken_day(held_on, lang),
            minutes=minutes, topic=topic,
            link=answer_link(hire_id=hire.id, session_id=row.id))
        repo.queue_message(session=session, key=f"coaching-confirm:{row.id}", run_id=run_id,
                           kind="coaching-confirm", message=message, now=now)
        repo.audit(session=session, actor=actor, action="coaching-recorded",
                   object_type="practice", object_id=practice_key(run_id, module_code),
                   via=via, now=now, detail={"session": row.id, "held_on": held_on.isoformat(),
                                             "minutes": minutes})
        return row.id


def answer_session(*, session_id: int, confirmed: bool, comment: str, via: str,
                   link: repo.LinkUse | None = None, by_email: str | None = None,
                   person_id: int | None = None) -> bool:
    """The hire confirms a coaching session took place, or disputes it (it then never counts).
    Returns whether the coaching now owed is complete."""
    with reading() as session:
        row = session.get(CoachingSession, session_id)
        target = practice_target(session, row.run_id, row.module_code) if row else None
    if row is None or target is None:
        raise LookupError(f"no coaching session {session_id}")
    actor = check(action="confirm", target=target, via=via, by_email=by_email,
                  person_id=person_id)
    problems: dict[str, str] = {}
    comment = _text(comment, MAX_NOTE_CHARS, problems, "comment")
    if problems:
        raise PracticeInvalid(problems)
    now = clock.now()
    with transaction() as session:
        row = session.get_one(CoachingSession, session_id)
        if row.answer != SessionAnswer.PENDING:
            raise AlreadyAnswered(Spent(row.answered_at or now, repo.get_run(
                session=session, run_id=row.run_id).hire.name))
        run = _open_run(session, row.run_id)
        if link is not None:
            repo.spend_link(session=session, link=link, now=now)
        row.answer = SessionAnswer.CONFIRMED if confirmed else SessionAnswer.DISPUTED
        row.answered_at, row.hire_comment = now, comment
        module = _module(run, row.module_code)
        owed = module.practice.coaching.sessions \
            if module.practice and module.practice.coaching else 0
        complete = confirmed_sessions(session, run.id, row.module_code) >= owed
        if complete:
            repo.close_gate(session=session, run_id=run.id, kind=GateKind.COACHING,
                            subject=row.module_code, now=now)
        run.resume_requested_at = now
        repo.audit(session=session, actor=actor, action=f"coaching-{row.answer}",
                   object_type="practice", object_id=practice_key(run.id, row.module_code),
                   via=via, now=now, detail={"session": session_id, "comment": comment[:200]})
        run_id = run.id
    resume_run(run_id)
    return complete


@dataclass(frozen=True)
class HandIn:
    """What the hire hands in: a checked file (tasks.materials.Upload) or a web address."""

    upload: Upload | None = None
    link: str | None = None
    note: str = ""


def _same_work(row: Submission, hand_in: HandIn, note: str, staged: Path) -> bool:
    if row.link != hand_in.link or row.note != note:
        return False
    if hand_in.upload is None or row.file_path is None:
        return hand_in.upload is None and row.file_path is None
    return Path(row.file_path).is_file() and filecmp.cmp(row.file_path, staged, shallow=False)


def submit_work(*, run_id: int, module_code: str, hand_in: HandIn, via: str,
                by_email: str | None = None, person_id: int | None = None) -> int:
    """The hire hands in the module's assignment (again, after a grade below the mark); its
    reviewers are emailed a grading link. Returns the submission's number (1, 2 ...), the same
    one for the same work sent again before it is graded. AlreadyPassed once the latest passed,
    PracticeInvalid, PracticeClosed, NotPermitted (audited)."""
    with reading() as session:
        target = practice_target(session, run_id, module_code)
    if target is None:
        raise LookupError(f"no practice {practice_key(run_id, module_code)}")
    actor = check(action="submit", target=target, via=via, by_email=by_email,
                  person_id=person_id)
    problems: dict[str, str] = {}
    note = _text(hand_in.note, MAX_NOTE_CHARS, problems, "note")
    if hand_in.upload is None and not hand_in.link:
        problems["work"] = "required"
    if problems:
        raise PracticeInvalid(problems)
    now = clock.now()
    folder = get_settings().data_dir.resolve() / "submissions" / str(run_id) / module_code
    staging = folder.parent / f".staging-{uuid.uuid4().hex}"
    try:
        stored: dict[str, Any] = {"link": hand_in.link}
        if hand_in.upload is not None:
            staging.mkdir(parents=True, exist_ok=True)
            with (staging / "work").open("wb") as out:
                shutil.copyfileobj(hand_in.upload.file, out, 1024 * 1024)
            stored.update(file_name=hand_in.upload.file_name,
                          size_bytes=(staging / "work").stat().st_size,
                          content_type=hand_in.upload.content_type)
        with transaction() as session:
            run = _open_run(session, run_id)
            module = _module(run, module_code)
            if repo.assignments_of(session=session, run_id=run_id).get(module_code) is None \
                    or module.practice is None or module.practice.assignment is None:
                raise LookupError(f"no assignment to hand in for {module_code}")
            brief = module.practice.assignment
            latest = session.scalar(select(Submission).where(
                Submission.run_id == run_id, Submission.module_code == module_code)
                .order_by(Submission.number.desc()).limit(1))
            # A hand-in after a pass would be the one graded, ungraded, and so a review owed.
            if latest is not None and latest.passed:
                raise AlreadyPassed(latest.number)
            if latest is not None and latest.graded_at is None and _same_work(
                    latest, hand_in, note, staging / "work"):
                return latest.number  # a reload or a double submit: not a second hand-in
            number = (latest.number if latest is not None else 0) + 1
            path = folder / f"{number}{hand_in.upload.suffix}" if hand_in.upload else None
            row = Submission(run_id=run_id, module_code=module_code, number=number,
                             submitted_at=now, note=note,
                             file_path=str(path) if path else None, **stored)
            session.add(row)
            session.flush()
            repo.close_gate(session=session, run_id=run_id, kind=GateKind.SUBMIT,
                            subject=module_code, now=now)
            due = due_after_working_days(now, brief.review_days)
            repo.reopen_gate(session=session, run_id=run_id, kind=GateKind.REVIEW,
                             subject=module_code, waiting_on=module.owner, now=now, due=due)
            for reviewer in graders(session, module.owner):
                lang = normalize_locale(reviewer.locale)
                message = render(
                    "grade_request", to=Recipient(reviewer.name, reviewer.email,
                                                  reviewer.locale),
                    hire=run.hire.name, module=module.title.get(lang),
                    title=brief.title.get(lang), number=number, due=spoken_day(due, lang),
                    link=grade_link(reviewer_id=reviewer.id, submission_id=row.id))
                repo.queue_message(session=session, key=f"grade-request:{row.id}:{reviewer.email}",
                                   run_id=run_id, kind="grade-request", message=message,
                                   now=now)
            run.resume_requested_at = now
            repo.audit(session=session, actor=actor, action="assignment-submitted",
                       object_type="practice", object_id=practice_key(run_id, module_code),
                       via=via, now=now, detail={"submission": row.id, "number": number,
                                                 "file": bool(path), "link": bool(hand_in.link)})
            if path is not None:
                # Moved into place inside the transaction: if the move fails nothing is
                # recorded; if the commit fails the file is an orphan, never a missing file.
                path.parent.mkdir(parents=True, exist_ok=True)
                (staging / "work").rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    resume_run(run_id)
    return number


def grade_submission(*, submission_id: int, scores: dict[str, int | None],
                     comments: dict[str, str], via: str, link: repo.LinkUse | None = None,
                     by_email: str | None = None, person_id: int | None = None) -> bool:
    """A reviewer of the module's department grades a submission: a score 0-100 and a comment
    per rubric criterion. Returns whether it passed; the hire is emailed the grade (with the
    link to hand in again when it did not pass and the appraisal is not in yet)."""
    with reading() as session:
        row = session.get(Submission, submission_id)
        target = practice_target(session, row.run_id, row.module_code) if row else None
    if row is None or target is None:
        raise LookupError(f"no submission {submission_id}")
    actor = check(action="grade", target=target, via=via, by_email=by_email,
                  person_id=person_id)
    now = clock.now()
    with transaction() as session:
        row = session.get_one(Submission, submission_id)
        run = repo.get_run(session=session, run_id=row.run_id)
        module = _module(run, row.module_code)
        assert module.practice is not None and module.practice.assignment is not None
        brief = module.practice.assignment
        if row.graded_at is not None:
            assert row.graded_by is not None
            raise AlreadyGraded(Spent(row.graded_at, row.graded_by.name))
        newer = session.scalar(select(Submission.id).where(
            Submission.run_id == row.run_id, Submission.module_code == row.module_code,
            Submission.number > row.number).order_by(Submission.number.desc()).limit(1))
        if newer is not None:
            raise Superseded(newer)
        problems: dict[str, str] = {}
        given: dict[str, int] = {}
        for criterion in brief.rubric:
            score = scores.get(criterion.code)
            if score is None:
                problems[criterion.code] = "required"
            elif not 0 <= score <= 100:
                problems[criterion.code] = "range"
            else:
                given[criterion.code] = score
        unknown = set(scores) - {c.code for c in brief.rubric}
        for code in sorted(unknown):
            problems[code] = "unknown"
        said = {c.code: _text(comments.get(c.code, ""), MAX_NOTE_CHARS, problems,
                              f"comment-{c.code}") for c in brief.rubric}
        if problems:
            raise PracticeInvalid(problems)
        if link is not None:
            repo.spend_link(session=session, link=link, now=now)
        grader = repo.person_by_email(session=session, email=actor)
        assert grader is not None
        passed = all(s >= brief.pass_mark for s in given.values())
        row.scores, row.comments, row.passed = given, said, passed
        row.graded_at, row.graded_by_id = now, grader.id
        repo.close_gate(session=session, run_id=run.id, kind=GateKind.REVIEW,
                        subject=row.module_code, now=now)
        open_still = run.status == RunStatus.ACTIVE and appraised_at(session, run.id) is None
        hire = run.hire
        lang = normalize_locale(hire.locale)
        message = render(
            "grade_result", to=Recipient(hire.name, hire.email, hire.locale),
            module=module.title.get(lang), title=brief.title.get(lang), number=row.number,
            passed=passed, pass_mark=brief.pass_mark, grader=grader.name,
            scores=[{"criterion": c.title.get(lang), "score": given[c.code],
                     "comment": said[c.code]} for c in brief.rubric],
            link=submit_link(hire_id=hire.id, run_id=run.id, module_code=row.module_code)
            if not passed and open_still else "")
        repo.queue_message(session=session, key=f"grade-result:{row.id}", run_id=run.id,
                           kind="grade-result", message=message, now=now)
        run.resume_requested_at = now
        repo.audit(session=session, actor=actor, action="assignment-graded",
                   object_type="practice", object_id=practice_key(run.id, row.module_code),
                   via=via, now=now, detail={"submission": row.id, "scores": given,
                                             "passed": passed})
        run_id = run.id
    resume_run(run_id)
    return passed


# --- what pages and the verdict read -----------------------------------------------------


@dataclass(frozen=True)
class SessionView:
    id: int
    held_on: date
    minutes: int
    topic: str
    notes: str
    coach: str
    answer: str  # pending | confirmed | disputed
    answered_at: datetime | None
    hire_comment: str


@dataclass(frozen=True)
class SubmissionView:
    id: int
    number: int
    submitted_at: datetime
    link: str | None
    file_name: str | None
    note: str
    graded_at: datetime | None
    graded_by: str
    scores: dict[str, int]
    comments: dict[str, str]
    passed: bool | None


@dataclass(frozen=True)
class PracticeView:
    """One run's practice in one module, as its pages and the training record show it."""

    run_id: int
    module: PlannedModule
    hire: str
    hire_id: int
    owner_department: str
    sessions: list[SessionView] = field(default_factory=list)
    submissions: list[SubmissionView] = field(default_factory=list)
    coaching_due: datetime | None = None
    submit_due: datetime | None = None
    review_due: datetime | None = None
    closed_at: datetime | None = None  # the appraisal's submission: nothing more counts

    @property
    def confirmed(self) -> int:
        return sum(1 for s in self.sessions if s.answer == SessionAnswer.CONFIRMED)

    @property
    def latest(self) -> SubmissionView | None:
        return self.submissions[-1] if self.submissions else None


def practice_view_in(session: Session, run: Run, module_code: str) -> PracticeView:
    module = _module(run, module_code)
    gates = {g.kind: g for g in session.scalars(select(Gate).where(
        Gate.run_id == run.id, Gate.subject == module_code, Gate.kind.in_(PRACTICE_GATES)))}
    sessions = [SessionView(s.id, s.held_on, s.minutes, s.topic, s.notes, s.coach.name,
                            s.answer, s.answered_at, s.hire_comment)
                for s in session.scalars(select(CoachingSession).where(
                    CoachingSession.run_id == run.id,
                    CoachingSession.module_code == module_code)
                    .order_by(CoachingSession.held_on, CoachingSession.id))]
    submissions = [SubmissionView(s.id, s.number, s.submitted_at, s.link, s.file_name, s.note,
                                  s.graded_at, s.graded_by.name if s.graded_by else "",
                                  dict(s.scores or {}), dict(s.comments or {}), s.passed)
                   for s in session.scalars(select(Submission).where(
                       Submission.run_id == run.id, Submission.module_code == module_code)
                       .order_by(Submission.number))]
    review = gates.get(GateKind.REVIEW)
    return PracticeView(
        run.id, module, run.hire.name, run.hire_id, module.owner, sessions, submissions,
        gates[GateKind.COACHING].due_at if GateKind.COACHING in gates else None,
        gates[GateKind.SUBMIT].due_at if GateKind.SUBMIT in gates else None,
        review.due_at if review is not None and review.closed_at is None else None,
        appraised_at(session, run.id) or (run.completed_at if run.status != RunStatus.ACTIVE
                                          else None))


def practice_view(run_id: int, module_code: str) -> PracticeView:
    with reading() as session:
        return practice_view_in(session, repo.get_run(session=session, run_id=run_id),
                                module_code)


def session_of(session_id: int) -> tuple[SessionView, PracticeView]:
    with reading() as session:
        row = session.get_one(CoachingSession, session_id)
        view = practice_view_in(session, repo.get_run(session=session, run_id=row.run_id),
                                row.module_code)
        return next(s for s in view.sessions if s.id == session_id), view


def submission_of(submission_id: int) -> tuple[SubmissionView, PracticeView, str | None]:
    """The submission, its module's practice, and the stored file's path (if a file)."""
    with reading() as session:
        row = session.get_one(Submission, submission_id)
        view = practice_view_in(session, repo.get_run(session=session, run_id=row.run_id),
                                row.module_code)
        return next(s for s in view.submissions if s.id == submission_id), view, row.file_path


@dataclass
class PracticeFacts:
    """The practice legs of one module as they stood when the appraisal was submitted (see
    storage.catalog.Condition); None where the module has no such leg or it was not yet due."""

    coaching_given: bool | None = None
    submitted: bool | None = None
    reviewed: bool | None = None
    assignment_passed: bool | None = None
    evidence: list[str] = field(default_factory=list)


def practice_facts(session: Session, run: Run, module_code: str, at: datetime,
                   locale: str) -> PracticeFacts:
    """The facts of the module's practice legs at `at` (the appraisal), with evidence lines:
    the sessions with their dates and whether the hire confirmed them, the submissions with
    their dates and lateness, the grades."""
    def _(s: str) -> str:
        return gettext(locale, s)

    def day(moment: date | datetime) -> str:
        return spoken_day(moment, locale)

    facts = PracticeFacts()
    module = _module(run, module_code)
    practice = module.practice
    if practice is None:
        return facts
    lang = normalize_locale(locale)
    title = module.title.get(lang)
    view = practice_view_in(session, run, module_code)
    if practice.coaching is not None:
        owed = practice.coaching.sessions
        counted = [s for s in view.sessions if s.answer == SessionAnswer.CONFIRMED
                   and s.answered_at is not None and s.answered_at <= at]
        shown = [s for s in view.sessions if s.answered_at is None or s.answered_at <= at]
        lines = "; ".join(
            _("%(day)s, %(minutes)s min, %(state)s") % {
                "day": day(s.held_on), "minutes": s.minutes,
                "state": names(locale).session_answer(
                    s.answer if s.answered_at is not None and s.answered_at <= at
                    else SessionAnswer.PENDING)}
            for s in shown) or _("none recorded")
        facts.evidence.append(_("coaching %(module)s: %(confirmed)s of %(owed)s session(s) "
                                "confirmed by the hire (%(sessions)s)") % {
            "module": title, "confirmed": len(counted), "owed": owed, "sessions": lines})
        if len(counted) >= owed:
            facts.coaching_given = True
        elif view.coaching_due is not None and view.coaching_due < at:
            facts.coaching_given = False
            facts.evidence.append(_("coaching %(module)s was due %(due)s") % {
                "module": title, "due": day(view.coaching_due)})
    if practice.assignment is not None:
        brief = practice.assignment
        handed = [s for s in view.submissions if s.submitted_at <= at]
        for s in handed:
            late = view.submit_due is not None and s.submitted_at > view.submit_due
            facts.evidence.append(
                (_("assignment %(module)s: handed in %(day)s (#%(number)s), late, due "
                   "%(due)s") if late else
                 _("assignment %(module)s: handed in %(day)s (#%(number)s)")) % {
                    "module": title, "day": day(s.submitted_at), "number": s.number,
                    "due": day(view.submit_due) if view.submit_due else ""})
            if s.graded_at is not None and s.graded_at <= at:
                marks = ", ".join(f"{c.title.get(lang)} {s.scores.get(c.code)}"
                                  for c in brief.rubric)
                facts.evidence.append(_("assignment %(module)s #%(number)s graded %(day)s by "
                                        "%(who)s: %(scores)s (pass mark %(mark)s)") % {
                    "module": title, "number": s.number, "day": day(s.graded_at),
                    "who": s.graded_by, "scores": marks, "mark": brief.pass_mark})
        if handed:
            facts.submitted = True
            latest = handed[-1]
            if latest.graded_at is not None and latest.graded_at <= at:
                facts.reviewed = True
            else:
                review_due = due_after_working_days(latest.submitted_at, brief.review_days)
                facts.evidence.append(_("assignment %(module)s #%(number)s not graded "
                                        "(due %(due)s)") % {"module": title,
                                                            "number": latest.number,
                                                            "due": day(review_due)})
                if review_due < at:
                    facts.reviewed = False
            graded = [s for s in handed if s.graded_at is not None and s.graded_at <= at]
            if graded:
                facts.assignment_passed = bool(graded[-1].passed)
        elif view.submit_due is not None and view.submit_due < at:
            facts.evidence.append(_("assignment %(module)s: never handed in (due %(due)s)") % {
                "module": title, "due": day(view.submit_due)})
            facts.submitted = False
        elif view.submit_due is not None:
            facts.evidence.append(_("assignment %(module)s: not handed in yet, not due before "
                                    "the appraisal (due %(due)s)") % {
                "module": title, "due": day(view.submit_due)})
    return facts
