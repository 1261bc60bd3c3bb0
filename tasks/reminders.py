"""Reminders and escalations for open gates, each recorded: they are evidence.

Who is reminded, from when:
- a department owner, from the first working day after the hand-off or coaching due day;
- its reviewers (else its owner), from the first working day after a grading due day;
- the hire, from the study or assignment due day itself;
- the appraiser, from the first working day after the appraisal due day.
Once the leg is the catalog's `escalation_after_days` working days overdue, once per gate: the
owner's manager and the boss; HR and the position's manager; HR and the boss.

When: on the company's working days only (`tasks.dates.is_working_day`: no reminder nor
escalation on a weekend, a statutory holiday or a closure day), and a person's reminders at
most every two working days (`REMIND_EVERY_WORKING_DAYS`): never on two working days in a
row. One email then lists every leg that person owes, with the hires waiting on each; every
leg it names that is overdue gets its row in `reminders`. Escalations go on the working day
they fall due, once each; a person's escalations of one sweep share one email (with their
reminders, when those are due the same sweep).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.models import Gate, GateKind, Person, Reminder, Run, RunStatus, Submission
from tasks.appraisal import appraisal_link
from tasks.dates import is_working_day, local_date, spoken_day, working_days_between
from tasks.email import Recipient, render
from tasks.env import get_catalog, transaction
from tasks.handoff import HANDOFF_LINK_VALID_FOR
from tasks.i18n import N_, gettext, normalize_locale
from tasks.learning import planned_module, study_link
from tasks.links import make_link
from tasks.practice import coaching_link, grade_link, graders, submit_link
from tasks.reports.relay import who_owes

REMIND_EVERY_WORKING_DAYS = 2
# What a reminder says is owed, per kind of leg (the appraisal has its own words).
OWED = {"handoff": N_("the materials of %(module)s"),
        "study": N_("the module %(module)s"),
        "coaching": N_("the coaching sessions of %(module)s"),
        "submit": N_("the assignment of %(module)s"),
        "review": N_("grading the assignment of %(module)s")}


@dataclass(frozen=True)
class Notice:
    person: Person
    role: str  # hire | owner | appraiser | hr | boss
    department: str | None
    kind: str  # reminder | escalation


@dataclass(frozen=True)
class Leg:
    """One overdue gate as one person is told about it."""

    gate: Gate
    run: Run
    notice: Notice
    overdue: int  # calendar days after the due day (what the email says)


def _people(session: Session, run: Run, gate: Gate, late: bool) -> list[Notice]:
    """Who is told about this overdue gate: its reminder, and its escalations when late."""
    catalog = get_catalog()
    boss = repo.person_by_email(session=session, email=catalog.boss.email)
    hr = repo.department(session=session, code="hr")
    position_dept = repo.department(session=session, code=run.plan.position.department)
    notices: list[Notice] = []
    if gate.kind in (GateKind.HANDOFF, GateKind.COACHING, GateKind.REVIEW):
        dept = repo.department(session=session, code=gate.waiting_on)
        if gate.kind == GateKind.REVIEW:
            notices += [Notice(p, "owner", dept.code, "reminder")
                        for p in graders(session, dept.code)]
        else:
            notices.append(Notice(dept.owner, "owner", dept.code, "reminder"))
        if late:
            notices.append(Notice(dept.manager, "appraiser", dept.code, "escalation"))
            if boss:
                notices.append(Notice(boss, "boss", None, "escalation"))
    elif gate.kind in (GateKind.STUDY, GateKind.SUBMIT):
        notices.append(Notice(run.hire, "hire", None, "reminder"))
        if late:
            notices.append(Notice(hr.owner, "hr", "hr", "escalation"))
            notices.append(Notice(position_dept.manager, "appraiser", position_dept.code,
                                  "escalation"))
    elif gate.kind == GateKind.APPRAISAL:
        notices.append(Notice(position_dept.manager, "appraiser", position_dept.code,
                              "reminder"))
        if late:
            notices.append(Notice(hr.owner, "hr", "hr", "escalation"))
            if boss:
                notices.append(Notice(boss, "boss", None, "escalation"))
    return notices


def send_due_reminders(now: datetime | None = None) -> list[int]:
    """Queue the reminders and escalations due now, one email per person; return the runs."""
    now = now or clock.now()
    today = local_date(now)
    if not is_working_day(today):
        return []
    delay = get_catalog().rules.escalation_after_days
    owed: dict[str, list[Leg]] = {}
    escalate: dict[str, list[Leg]] = {}
    touched: set[int] = set()
    with transaction() as session:
        gates = session.execute(
            select(Gate, Run).join(Run, Run.id == Gate.run_id)
            .where(Gate.closed_at.is_(None), Gate.due_at.is_not(None),
                   Run.status == RunStatus.ACTIVE)
            .order_by(Gate.due_at, Gate.id)).all()
        for gate, run in gates:
            due = gate.due_at
            if due is None:  # the query excludes these; this tells the type checker
                continue
            overdue = (today - local_date(due)).days
            # The hire is reminded on the due day itself; a department from the day after.
            if overdue < (0 if gate.waiting_on == "hire" else 1):
                continue
            late = working_days_between(local_date(due), today) >= delay
            for notice in _people(session, run, gate, late):
                leg = Leg(gate, run, notice, overdue)
                if notice.kind == "reminder":
                    owed.setdefault(notice.person.email, []).append(leg)
                elif not _escalated(session, gate, notice):
                    escalate.setdefault(notice.person.email, []).append(leg)
        for email in sorted(owed.keys() | escalate.keys()):
            reminders = owed.get(email, []) if may_remind(session, email, today) else []
            escalations = escalate.get(email, [])
            if not reminders and not escalations:
                continue
            rows = [Reminder(run_id=leg.run.id, gate_id=leg.gate.id, kind=leg.notice.kind,
                             to_email=email, role=leg.notice.role,
                             department=leg.notice.department, about=leg.gate.subject,
                             day_no=leg.overdue, sent_at=now)
                    for leg in reminders + escalations]
            session.add_all(rows)
            session.flush()
            legs = reminders + escalations
            person = legs[0].notice.person
            runs = {leg.run.id for leg in legs}
            repo.queue_message(
                session=session, key=f"reminder:{email}:{today.isoformat()}:{rows[0].id}",
                run_id=next(iter(runs)) if len(runs) == 1 else None,
                kind="reminder" if reminders else "escalation",
                message=_message(session, person, reminders, escalations, today), now=now)
            touched |= runs
    return sorted(touched)


def may_remind(session: Session, email: str, today: date) -> bool:
    """Whether `email` may get a reminder today: a working day, and the last one at least
    REMIND_EVERY_WORKING_DAYS working days ago."""
    if not is_working_day(today):
        return False
    last = session.scalar(select(func.max(Reminder.sent_at)).where(
        Reminder.to_email == email, Reminder.kind == "reminder"))
    return last is None or \
        working_days_between(local_date(last), today) >= REMIND_EVERY_WORKING_DAYS


def _escalated(session: Session, gate: Gate, notice: Notice) -> bool:
    """An escalation goes once per gate and person."""
    return session.scalar(select(Reminder.id).where(
        Reminder.gate_id == gate.id, Reminder.to_email == notice.person.email,
        Reminder.kind == "escalation").limit(1)) is not None


def _message(session: Session, person: Person, reminders: list[Leg], escalations: list[Leg],
             today: date) -> Any:
    lang = normalize_locale(person.locale)
    items = [_item(session, lang, group, today) for group in _grouped(reminders)]
    late = [_item(session, lang, group, today) for group in _grouped(escalations)]
    first = (items or late)[0]
    return render("reminder", to=Recipient(person.name, person.email, person.locale),
                  items=items, escalations=late, first=first, count=len(items) + len(late))


def _grouped(legs: list[Leg]) -> list[list[Leg]]:
    """Hand-offs of one module form one item (one link, every hire listed); others stand alone."""
    groups: dict[tuple[str, str | int], list[Leg]] = {}
    for leg in legs:
        key: tuple[str, str | int] = ("handoff", leg.gate.subject) \
            if leg.gate.kind == GateKind.HANDOFF else ("gate", leg.gate.id)
        groups.setdefault(key, []).append(leg)
    return list(groups.values())


def _item(session: Session, lang: str, group: list[Leg], today: date) -> dict[str, Any]:
    """What one email line says: what is owed, by whom, for which hires, and the link."""
    leg = group[0]
    gate, run, notice = leg.gate, leg.run, leg.notice
    if gate.kind == GateKind.APPRAISAL:
        what = gettext(lang, "the probation appraisal")
    else:
        title = planned_module(run.plan, gate.subject).title.get(lang)
        what = gettext(lang, OWED.get(gate.kind, OWED["study"])) % {"module": title}
    hires = [(run.hire.name, gate.due_at)]
    who = who_owes(session, run, gate, lang)
    if gate.kind == GateKind.HANDOFF:
        hires = _waiting_on_module(session, gate.subject, today)
    lines = [_due_line(lang, None if notice.role == "hire" else name, due, today)
             for name, due in hires]
    return {"what": what, "who": who, "lines": lines, "days": max(g.overdue for g in group),
            "link": _link(gate, run, notice, session), "handoff": gate.kind == GateKind.HANDOFF}


def _waiting_on_module(session: Session, module_code: str,
                       today: date) -> list[tuple[str, datetime | None]]:
    """Every hire of an active run still waiting on this module, overdue or not."""
    rows = session.execute(
        select(Run, Gate.due_at).join(Gate, Gate.run_id == Run.id)
        .where(Gate.kind == GateKind.HANDOFF, Gate.subject == module_code, Gate.closed_at.is_(None),
               Run.status == RunStatus.ACTIVE).order_by(Gate.due_at, Run.id)).all()
    return [(run.hire.name, due) for run, due in rows]


def _due_line(lang: str, name: str | None, due: datetime | None, today: date) -> str:
    if due is None:
        when = ""
    else:
        days, day = (today - local_date(due)).days, spoken_day(local_date(due), lang)
        when = (gettext(lang, "due %(due)s, %(days)s day(s) overdue") % {"due": day, "days": days}
                if days > 0 else gettext(lang, "due today, %(due)s") % {"due": day}
                if days == 0 else gettext(lang, "due %(due)s") % {"due": day})
    return when if name is None else gettext(lang, "%(hire)s: %(when)s") % {
        "hire": name, "when": when}


def _link(gate: Gate, run: Run, notice: Notice, session: Session) -> str | None:
    """The link to act on the leg: only for the person who owes it."""
    if notice.kind == "escalation":
        return None
    if gate.kind == GateKind.STUDY:
        assignment = repo.assignments_of(session=session, run_id=run.id).get(gate.subject)
        return study_link(person_id=run.hire_id, assignment_id=assignment.id) \
            if assignment else None
    if gate.kind == GateKind.APPRAISAL:
        return appraisal_link(appraiser_id=notice.person.id, run_id=run.id)
    if gate.kind == GateKind.COACHING:
        return coaching_link(owner_id=notice.person.id, run_id=run.id, module_code=gate.subject)
    if gate.kind == GateKind.SUBMIT:
        return submit_link(hire_id=run.hire_id, run_id=run.id, module_code=gate.subject)
    if gate.kind == GateKind.REVIEW:
        latest = session.scalar(select(Submission.id).where(
            Submission.run_id == run.id, Submission.module_code == gate.subject)
            .order_by(Submission.number.desc()).limit(1))
        return grade_link(reviewer_id=notice.person.id, submission_id=latest) \
            if latest is not None else None
    return make_link(path=f"/handoff/{gate.subject}", action="handoff",
                     person_id=notice.person.id, object_id=gate.subject,
                     valid_for=HANDOFF_LINK_VALID_FOR)


def wake_due_runs(now: datetime | None = None) -> list[int]:
    """Ask runs whose wake-up time has come (their appraisal day) to take a pass."""
    now = now or clock.now()
    with transaction() as session:
        runs = list(session.scalars(select(Run).where(
            Run.status == RunStatus.ACTIVE, Run.wake_at.is_not(None), Run.wake_at <= now)))
        for run in runs:
            run.wake_at, run.resume_requested_at = None, now
        return [r.id for r in runs]
