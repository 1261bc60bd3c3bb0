"""Reminders and escalations for open gates, each recorded: they are evidence.

- a department owner: each day after the hand-off due day; after the catalog's delay, the
  department's manager and the boss are told too (once);
- the hire: on the study due day and each day after; after the delay, HR and the manager;
- the appraiser: each day after the appraisal due day; after the delay, HR and the boss.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.models import Gate, Person, Reminder, Run, RunStatus
from tasks.appraisal import appraisal_link
from tasks.dates import local_date, local_day
from tasks.email import Recipient, render
from tasks.env import get_catalog, transaction
from tasks.i18n import gettext, normalize_locale
from tasks.learning import study_link


@dataclass(frozen=True)
class Notice:
    person: Person
    role: str  # hire | owner | appraiser | hr | boss
    department: str | None
    kind: str  # reminder | escalation


def _people(session: Session, run: Run, gate: Gate, overdue: int, delay: int) -> list[Notice]:
    catalog = get_catalog()
    boss = repo.person_by_email(session=session, email=catalog.boss.email)
    hr = repo.department(session=session, code="hr")
    position_dept = repo.department(session=session, code=run.plan["position"]["department"])
    late = overdue >= delay
    notices: list[Notice] = []
    if gate.kind == "handoff":
        dept = repo.department(session=session, code=gate.waiting_on)
        notices.append(Notice(dept.owner, "owner", dept.code, "reminder"))
        if late:
            notices.append(Notice(dept.manager, "appraiser", dept.code, "escalation"))
            if boss:
                notices.append(Notice(boss, "boss", None, "escalation"))
    elif gate.kind == "study":
        notices.append(Notice(run.hire, "hire", None, "reminder"))
        if late:
            notices.append(Notice(hr.owner, "hr", "hr", "escalation"))
            notices.append(Notice(position_dept.manager, "appraiser", position_dept.code,
                                  "escalation"))
    elif gate.kind == "appraisal":
        notices.append(Notice(position_dept.manager, "appraiser", position_dept.code,
                              "reminder"))
        if late:
            notices.append(Notice(hr.owner, "hr", "hr", "escalation"))
            if boss:
                notices.append(Notice(boss, "boss", None, "escalation"))
    return notices


def _what(run: Run, gate: Gate, locale: str) -> str:
    lang = normalize_locale(locale)
    if gate.kind == "appraisal":
        return gettext(lang, "the probation appraisal")
    title = next((m["title"][lang] for m in run.plan["modules"] if m["code"] == gate.subject),
                 gate.subject)
    if gate.kind == "handoff":
        return gettext(lang, "the materials of %(module)s") % {"module": title}
    return gettext(lang, "the module %(module)s") % {"module": title}


def _link(run: Run, gate: Gate, notice: Notice, session: Session) -> str | None:
    if notice.kind == "escalation":
        return None
    if gate.kind == "study":
        assignment = repo.assignments_of(session=session, run_id=run.id).get(gate.subject)
        return study_link(person_id=run.hire_id, assignment_id=assignment.id) \
            if assignment else None
    if gate.kind == "appraisal":
        return appraisal_link(appraiser_id=notice.person.id, run_id=run.id)
    return None  # the owner's hand-off link is in the request email; it is still valid


def send_due_reminders(now: datetime | None = None) -> list[int]:
    """Queue every reminder and escalation due now, once each; return the runs concerned."""
    now = now or clock.now()
    delay = get_catalog().rules.escalation_after_days
    touched: set[int] = set()
    with transaction() as session:
        gates = session.execute(
            select(Gate, Run).join(Run, Run.id == Gate.run_id)
            .where(Gate.closed_at.is_(None), Gate.due_at.is_not(None),
                   Run.status == RunStatus.ACTIVE)).all()
        for gate, run in gates:
            due = gate.due_at
            if due is None:  # the query excludes these; this tells the type checker
                continue
            overdue = (local_date(now) - local_date(due)).days
            if overdue < (0 if gate.kind == "study" else 1):
                continue
            for notice in _people(session, run, gate, overdue, delay):
                if _already_told(session, gate, notice, overdue):
                    continue
                session.add(Reminder(run_id=run.id, gate_id=gate.id, kind=notice.kind,
                                     to_email=notice.person.email, role=notice.role,
                                     department=notice.department, about=gate.subject,
                                     day_no=overdue, sent_at=now))
                person = notice.person
                dept = repo.department(session=session, code=gate.waiting_on) \
                    if gate.kind != "study" else None
                # Who is late: the hire, the owner of the materials, or the appraiser.
                late = run.hire.name if dept is None else (
                    dept.owner.name if gate.kind == "handoff" else dept.manager.name)
                message = render(
                    "reminder", to=Recipient(person.name, person.email, person.locale),
                    escalation=notice.kind == "escalation", days=overdue,
                    what=_what(run, gate, person.locale), hire=run.hire.name, late=late,
                    due=local_day(due), link=_link(run, gate, notice, session))
                repo.queue_message(
                    session=session, key=f"{notice.kind}:{gate.id}:{person.email}:{overdue}",
                    run_id=run.id, kind=notice.kind, message=message, now=now)
                touched.add(run.id)
    return sorted(touched)


def _already_told(session: Session, gate: Gate, notice: Notice, overdue: int) -> bool:
    query = select(Reminder.id).where(Reminder.gate_id == gate.id,
                                      Reminder.to_email == notice.person.email,
                                      Reminder.kind == notice.kind)
    if notice.kind == "reminder":
        query = query.where(Reminder.day_no == overdue)  # one a day
    return session.scalar(query.limit(1)) is not None  # an escalation goes once


def wake_due_runs(now: datetime | None = None) -> list[int]:
    """Ask runs whose wake-up time has come (their appraisal day) to take a pass."""
    now = now or clock.now()
    with transaction() as session:
        runs = list(session.scalars(select(Run).where(
            Run.status == RunStatus.ACTIVE, Run.wake_at.is_not(None), Run.wake_at <= now)))
        for run in runs:
            run.wake_at, run.resume_requested_at = None, now
        return [r.id for r in runs]
