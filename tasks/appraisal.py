"""The probation appraisal: the appraiser's scores per item and criterion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select

from storage import clock, repo
from storage.models import AppraisalScore, GateKind, Person, QuizAttempt, Run
from storage.settings import get_settings
from tasks.dates import days_overdue, due_after_working_days, spoken_day
from tasks.email import Recipient, render
from tasks.env import reading, transaction
from tasks.i18n import normalize_locale
from tasks.links import Spent, make_link
from tasks.permissions import check, run_target
from tasks.practice import practice_view_in
from tasks.reports.record import practice_lines
from tasks.runs import resume_run

APPRAISAL_LINK_VALID_FOR = timedelta(days=30)
APPRAISAL_DUE_DAYS = 2  # the appraiser scores within two working days of the appraisal day


class AlreadyAppraised(Exception):
    pass


class IncompleteAppraisal(ValueError):
    pass


def appraisal_link(*, appraiser_id: int, run_id: int) -> str:
    return make_link(path=f"/appraise/{run_id}", action="appraise", person_id=appraiser_id,
                     object_id=str(run_id), valid_for=APPRAISAL_LINK_VALID_FOR)


def appraiser_of(*, run_id: int) -> Person:
    """The manager of the department the hire's position belongs to."""
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        dept = repo.department(session=session, code=run.plan.position.department)
        return dept.manager


def submit_appraisal(*, run_id: int, appraiser_id: int, scores: dict[str, dict[str, int]],
                     comments: dict[str, str], via: str,
                     link: repo.LinkUse | None = None) -> None:
    """Store every criterion's score (0-100) once, with comments; then resume the run.

    Only an appraiser of the hire's department may (NotPermitted, audited, for anyone else).
    """
    with reading() as session:
        target = run_target(session, run_id)
    if target is None:
        raise LookupError(f"no onboarding run {run_id}")
    check(action="appraise", target=target, via=via, person_id=appraiser_id)
    now = clock.now()
    with transaction() as session:
        if link is not None:
            repo.spend_link(session=session, link=link, now=now)
        run = repo.get_run(session=session, run_id=run_id)
        items = run.plan.position.appraisal.items
        expected = {(i.code, str(c)) for i in items for c in i.criteria}
        given = {(item, c) for item, crit in scores.items() for c in crit}
        if given != expected:
            missing = sorted(f"{i}.{c}" for i, c in expected - given)
            extra = sorted(f"{i}.{c}" for i, c in given - expected)
            raise IncompleteAppraisal(f"missing {missing}, unexpected {extra}")
        if session.scalar(select(func.count()).select_from(AppraisalScore)
                          .where(AppraisalScore.run_id == run_id)):
            raise AlreadyAppraised(str(run_id))
        appraiser = session.get_one(Person, appraiser_id)
        for item, criteria in scores.items():
            for criterion, score in criteria.items():
                session.add(AppraisalScore(run_id=run_id, item=item, criterion=criterion,
                                           score=score, comment=comments.get(item, ""),
                                           appraiser_id=appraiser_id, submitted_at=now))
        repo.close_gate(session=session, run_id=run_id, kind=GateKind.APPRAISAL,
                        subject="appraisal", now=now)
        run.resume_requested_at = now
        repo.audit(session=session, actor=appraiser.email, action="appraisal-submitted",
                   object_type="run", object_id=str(run_id), via=via, now=now,
                   detail={"scores": scores})
    resume_run(run_id)


@dataclass(frozen=True)
class Trained:
    """One module of the hire's training as the appraiser sees it."""

    title: str
    status: str  # passed | failed | assigned | waiting (no materials yet, or not assigned)
    scores: list[int]
    pass_mark: int
    handoff_late_days: int  # the department's hand-off, days after its due day (0: on time)
    handed_off: bool  # late and handed off, or late and still owed
    department: str  # the department that owns the module, by name
    study_late_days: int  # the hire's study, days after its due day (0: on time)
    finished: bool  # the quiz passed, or every attempt used
    practice: tuple[str, ...] = ()  # coaching and the assignment, a line each (if any)


@dataclass(frozen=True)
class AppraisalForm:
    """What the appraiser needs beside the form: who, the pass mark, the hire's training."""

    hire: str
    position: str
    pass_mark: int
    items: list[dict]  # code, title, module (its title), criteria
    training: list[Trained]


def appraisal_form(run_id: int, locale: str) -> AppraisalForm:
    """The run's appraisal items with the hire's training so far (modules, scores, late legs,
    coaching and the assignment's grades)."""

    lang = normalize_locale(locale)
    now = clock.now()
    with reading() as session:
        run = repo.get_run(session=session, run_id=run_id)
        handoffs = repo.handoffs_of(session=session, run_id=run_id)
        assignments = repo.assignments_of(session=session, run_id=run_id)
        titles = {m.code: m.title.get(lang) for m in run.plan.modules}
        training = []
        for module in run.plan.modules:
            handoff, assignment = handoffs.get(module.code), assignments.get(module.code)
            dept = repo.department(session=session, code=module.owner)
            scores = list(session.scalars(
                select(QuizAttempt.score).where(QuizAttempt.assignment_id == assignment.id)
                .order_by(QuizAttempt.attempt_no))) if assignment else []
            handed = handoff.delivered_at if handoff and handoff.delivered_at else now
            studied = assignment.completed_at if assignment and assignment.completed_at else now
            training.append(Trained(
                title=module.title.get(lang),
                status=assignment.status if assignment else "waiting",
                scores=scores, pass_mark=module.pass_mark,
                handoff_late_days=days_overdue(handoff.due_at, handed) if handoff else 0,
                handed_off=bool(handoff and handoff.delivered_at),
                department=dept.name_en if lang == "en" else dept.name_zh,
                study_late_days=days_overdue(assignment.due_at, studied) if assignment else 0,
                finished=bool(assignment and assignment.completed_at),
                practice=tuple(practice_lines(practice_view_in(session, run, module.code),
                                              locale))
                if module.practice is not None and assignment is not None else ()))
        appraisal = run.plan.position.appraisal
        return AppraisalForm(
            hire=run.hire.name, position=run.plan.position.title.get(lang),
            pass_mark=appraisal.pass_mark,
            items=[{"code": i.code, "title": i.title.get(lang), "criteria": i.criteria,
                    "module": titles.get(i.module, i.module)} for i in appraisal.items],
            training=training)


def appraisal_submitted(run_id: int) -> Spent | None:
    """When the run's appraisal was submitted and by whom, if it was."""
    with reading() as session:
        row = session.execute(
            select(AppraisalScore.submitted_at, Person.name)
            .join(Person, Person.id == AppraisalScore.appraiser_id)
            .where(AppraisalScore.run_id == run_id).limit(1)).first()
        return Spent(row.submitted_at, row.name) if row else None


def appraisal_day(run: Run) -> datetime:
    """The start of the position's appraisal day (day N after the hire's first day)."""
    day = run.start_date + timedelta(days=run.plan.position.appraisal.day)
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(get_settings().timezone))


@task(cache_policy=NO_CACHE)
def request_appraisal(run_id: int) -> bool:
    """On the appraisal day, ask the appraiser (once); True once the scores are in."""
    now = clock.now()
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        if session.scalar(select(func.count()).select_from(AppraisalScore)
                          .where(AppraisalScore.run_id == run_id)):
            repo.close_gate(session=session, run_id=run_id, kind=GateKind.APPRAISAL,
                            subject="appraisal", now=now)
            return True
        opens = appraisal_day(run)
        if now < opens:
            run.wake_at = opens  # nothing to do until then; the sweep wakes the run
            return False
        dept = repo.department(session=session, code=run.plan.position.department)
        due = due_after_working_days(opens, APPRAISAL_DUE_DAYS)
        _, created = repo.open_gate(session=session, run_id=run_id, kind=GateKind.APPRAISAL,
                                    subject="appraisal", waiting_on=dept.code, now=now, due=due)
        if created:
            manager = dept.manager
            lang = normalize_locale(manager.locale)
            message = render(
                "appraisal_request", to=Recipient(manager.name, manager.email, manager.locale),
                hire=run.hire.name, position=run.plan.position.title.get(lang),
                due=spoken_day(due, lang),
                link=appraisal_link(appraiser_id=manager.id, run_id=run_id))
            repo.queue_message(session=session, key=f"appraisal-request:{run_id}",
                               run_id=run_id, kind="appraisal-request", message=message,
                               now=now)
            repo.audit(session=session, actor="system", action="appraisal-requested",
                       object_type="run", object_id=str(run_id), via="flow", now=now,
                       detail={"appraiser": manager.email, "due": due.isoformat()})
        return False
