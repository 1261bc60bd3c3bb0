"""Repository functions. Keyword-only, they never commit: the caller owns the transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload

from storage import catalog as cat
from storage.models import (
    Assignment,
    AuditEntry,
    DeliveredMaterial,
    Delivery,
    Department,
    Gate,
    GateKind,
    Handoff,
    ImportedEmployee,
    ImportedTraining,
    Material,
    Module,
    OutboxMessage,
    OutboxStatus,
    Person,
    Position,
    QuizAttempt,
    QuizVersion,
    RefusalCount,
    Run,
    RunStatus,
    UsedLink,
)


def upsert_person(*, session: Session, name: str, email: str, locale: str = "zh_CN") -> Person:
    """The person with this email, created or updated to the given name and locale."""
    email = email.strip().lower()
    person = session.scalar(select(Person).where(Person.email == email))
    if person is None:
        person = Person(name=name, email=email, locale=locale)
        session.add(person)
        session.flush()
    else:
        person.name, person.locale = name, locale
    return person


def person_by_email(*, session: Session, email: str) -> Person | None:
    return session.scalar(select(Person).where(Person.email == email.strip().lower()))


def sync_catalog(*, session: Session, catalog: cat.Catalog) -> None:
    """Copy the catalog's departments, people, modules, materials and positions into storage."""
    for p in [catalog.boss]:
        upsert_person(session=session, name=p.name, email=p.email, locale=p.locale)
    for d in catalog.departments.values():
        owner = upsert_person(session=session, **d.owner.model_dump())
        manager = upsert_person(session=session, **d.manager.model_dump())
        session.merge(Department(code=d.code, name_zh=d.name.zh_CN, name_en=d.name.en,
                                 owner_id=owner.id, manager_id=manager.id))
    session.flush()
    for m in catalog.modules.values():
        session.merge(Module(code=m.code, kind=m.kind.value, owner_department=m.owner,
                             title_zh=m.title.zh_CN, title_en=m.title.en,
                             study_days=m.study_days, pass_mark=m.quiz.pass_mark,
                             attempts=m.quiz.attempts))
        session.flush()
        existing = {x.code: x for x in session.scalars(
            select(Material).where(Material.module_code == m.code))}
        for i, mat in enumerate(m.materials):
            row = existing.get(mat.code) or Material(module_code=m.code, code=mat.code)
            row.title_zh, row.title_en, row.position = mat.title.zh_CN, mat.title.en, i
            session.add(row)
    for pos in catalog.positions.values():
        session.merge(Position(code=pos.code, department=pos.department,
                               title_zh=pos.title.zh_CN, title_en=pos.title.en,
                               spec=pos.model_dump(mode="json")))
    session.flush()


def plan_for(catalog: cat.Catalog, position_code: str,
             quizzes: dict[str, cat.Quiz] | None = None) -> cat.Plan:
    """A snapshot of the position at the run's start: what the run will hold the hire to.

    `quizzes`: the modules' quizzes as edited since the catalog (`latest_quizzes`); their
    pass marks and attempts are the ones a new run takes."""
    position = catalog.positions[position_code]
    edited = quizzes or {}

    def planned(code: str) -> cat.PlannedModule:
        module = cat.PlannedModule.of(catalog.modules[code])
        quiz = edited.get(code)
        return module if quiz is None else module.model_copy(
            update={"pass_mark": quiz.pass_mark, "attempts": quiz.attempts})

    return cat.Plan(position=position, modules=[planned(c) for c in position.modules],
                    handoff_due_days=catalog.rules.handoff_due_days)


def latest_quiz(*, session: Session, module_code: str) -> QuizVersion | None:
    """The module's newest quiz version edited on the department pages, if it has one."""
    return session.scalar(select(QuizVersion).where(QuizVersion.module_code == module_code)
                          .order_by(QuizVersion.number.desc()).limit(1))


def latest_quizzes(*, session: Session) -> dict[str, cat.Quiz]:
    """Every module's newest edited quiz, by module code (modules never edited are absent)."""
    found: dict[str, cat.Quiz] = {}
    for row in session.scalars(select(QuizVersion).order_by(QuizVersion.number)):
        found[row.module_code] = cat.Quiz.model_validate(row.quiz)
    return found


def create_run(
    *, session: Session, catalog: cat.Catalog, hire: Person, position_code: str,
    start_date: date, now: datetime,
) -> Run:
    run = Run(hire_id=hire.id, position_code=position_code, start_date=start_date,
              started_at=now, status=RunStatus.ACTIVE,
              plan=plan_for(catalog, position_code, latest_quizzes(session=session)),
              pass_no=0, uid=uuid.uuid4().hex)
    session.add(run)
    session.flush()
    return run


def get_run(*, session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"no onboarding run {run_id}")
    return run


def active_runs(*, session: Session) -> list[Run]:
    return list(session.scalars(select(Run).order_by(Run.id)))


def begin_pass(*, session: Session, run_id: int) -> int:
    """Take the run's next pass number."""
    run = get_run(session=session, run_id=run_id)
    run.pass_no += 1
    session.flush()
    return run.pass_no


def settle_resume_request(*, session: Session, run_id: int, pass_began: datetime) -> bool:
    """True when the run may wait: every resume request came before this pass began.

    A request made during the pass stays, and the caller takes another pass. A request stays
    set until a pass that saw it decides to wait, so a failed pass is resumed by the sweep.
    """
    session.execute(update(Run).where(Run.id == run_id, Run.resume_requested_at < pass_began)
                    .values(resume_requested_at=None))
    return get_run(session=session, run_id=run_id).resume_requested_at is None


def lock_module(*, session: Session, module_code: str) -> None:
    """Serialise deliveries of a module with passes reading it (a row lock on PostgreSQL;
    SQLite transactions already begin with the write lock)."""
    session.execute(select(Module.code).where(Module.code == module_code).with_for_update())


# Reads that pages and passes make often are statements built once, here: building one and its
# cache key cost SQLAlchemy more than SQLite takes to answer it (~0.1 ms of a 2-core machine).
_LATEST_DELIVERY = select(Delivery).where(Delivery.module_code == bindparam("module_code")) \
    .order_by(Delivery.delivered_at.desc(), Delivery.id.desc()).limit(1)
# With what a hire's study page shows of it: its items and who delivered it, in one query.
_LATEST_DELIVERY_SHOWN = _LATEST_DELIVERY.options(joinedload(Delivery.items),
                                                  joinedload(Delivery.delivered_by))
_QUIZ_SCORES = select(QuizAttempt.score) \
    .where(QuizAttempt.assignment_id == bindparam("assignment_id")) \
    .order_by(QuizAttempt.attempt_no)
_LINK_USE = select(UsedLink).where(UsedLink.nonce == bindparam("nonce"))


def latest_delivery(*, session: Session, module_code: str,
                    with_items: bool = False) -> Delivery | None:
    """The module's latest delivery; `with_items` loads its items (and who delivered it) in
    the same query."""
    if with_items:
        return session.scalars(_LATEST_DELIVERY_SHOWN,
                               {"module_code": module_code}).unique().first()
    return session.scalars(_LATEST_DELIVERY, {"module_code": module_code}).first()


def quiz_scores(*, session: Session, assignment_id: int) -> list[int]:
    """The scores of the assignment's quiz attempts, first attempt first."""
    return list(session.scalars(_QUIZ_SCORES, {"assignment_id": assignment_id}))


@dataclass(frozen=True)
class MaterialItem:
    material_code: str
    link: str | None = None
    file_name: str | None = None
    file_path: str | None = None
    size_bytes: int | None = None
    content_type: str | None = None
    title: str | None = None  # a material its owner added beyond the catalog's list


def record_delivery(
    *, session: Session, module_code: str, by: Person, now: datetime, via: str,
    items: list[MaterialItem], note: str = "",
) -> tuple[Delivery, list[int]]:
    """Store a hand-off and close every run's gate on it; return the runs to resume."""
    lock_module(session=session, module_code=module_code)
    delivery = Delivery(module_code=module_code, delivered_by_id=by.id, delivered_at=now,
                        note=note, via=via)
    session.add(delivery)
    session.flush()
    for item in items:
        session.add(DeliveredMaterial(delivery_id=delivery.id, **item.__dict__))
    session.execute(
        update(Handoff)
        .where(Handoff.module_code == module_code, Handoff.delivery_id.is_(None))
        .values(delivery_id=delivery.id, delivered_at=now)
    )
    waiting = list(session.scalars(
        select(Gate.run_id).where(Gate.kind == GateKind.HANDOFF, Gate.subject == module_code,
                                  Gate.closed_at.is_(None))
    ))
    session.execute(
        update(Gate)
        .where(Gate.kind == GateKind.HANDOFF, Gate.subject == module_code, Gate.closed_at.is_(None))
        .values(closed_at=now)
    )
    if waiting:
        session.execute(update(Run).where(Run.id.in_(waiting)).values(resume_requested_at=now))
    session.flush()
    return delivery, sorted(set(waiting))


def link_delivery(*, session: Session, run_id: int, delivery: Delivery) -> None:
    """Mark the run's open request for the module as met by `delivery` (if it has one)."""
    session.execute(
        update(Handoff)
        .where(Handoff.run_id == run_id, Handoff.module_code == delivery.module_code,
               Handoff.delivery_id.is_(None))
        .values(delivery_id=delivery.id, delivered_at=delivery.delivered_at))


def ensure_handoff(
    *, session: Session, run: Run, module_code: str, department: str, owner: Person,
    now: datetime, due: datetime,
) -> tuple[Handoff, bool]:
    """The run's hand-off request for a module, created if it does not exist yet."""
    found = session.scalar(select(Handoff).where(Handoff.run_id == run.id,
                                                 Handoff.module_code == module_code))
    if found:
        return found, False
    handoff = Handoff(run_id=run.id, module_code=module_code, department=department,
                      owner_id=owner.id, requested_at=now, due_at=due)
    session.add(handoff)
    session.flush()
    return handoff, True


def open_gate(
    *, session: Session, run_id: int, kind: GateKind, subject: str, waiting_on: str,
    now: datetime, due: datetime | None,
) -> tuple[Gate, bool]:
    """The gate on (kind, subject), opened if the run has none yet."""
    gate = session.scalar(select(Gate).where(Gate.run_id == run_id, Gate.kind == kind,
                                             Gate.subject == subject))
    if gate:
        return gate, False
    gate = Gate(run_id=run_id, kind=kind, subject=subject, waiting_on=waiting_on,
                opened_at=now, due_at=due)
    session.add(gate)
    session.flush()
    return gate, True


def reopen_gate(
    *, session: Session, run_id: int, kind: GateKind, subject: str, waiting_on: str,
    now: datetime, due: datetime | None,
) -> Gate:
    """The gate on (kind, subject), opened again when it was closed (a leg owed once more, such
    as grading a new submission); an open one keeps its earlier date and due day."""
    gate, created = open_gate(session=session, run_id=run_id, kind=kind, subject=subject,
                              waiting_on=waiting_on, now=now, due=due)
    if not created and gate.closed_at is not None:
        gate.opened_at, gate.due_at, gate.closed_at = now, due, None
    return gate


def close_gate(*, session: Session, run_id: int, kind: GateKind, subject: str,
               now: datetime) -> None:
    session.execute(
        update(Gate).where(Gate.run_id == run_id, Gate.kind == kind, Gate.subject == subject,
                           Gate.closed_at.is_(None)).values(closed_at=now)
    )


def open_gates(*, session: Session, run_id: int) -> list[Gate]:
    return list(session.scalars(
        select(Gate).where(Gate.run_id == run_id, Gate.closed_at.is_(None))
        .order_by(Gate.opened_at, Gate.id)
    ))


def assignments_of(*, session: Session, run_id: int) -> dict[str, Assignment]:
    rows = session.scalars(select(Assignment).where(Assignment.run_id == run_id))
    return {a.module_code: a for a in rows}


def handoffs_of(*, session: Session, run_id: int) -> dict[str, Handoff]:
    rows = session.scalars(select(Handoff).where(Handoff.run_id == run_id))
    return {h.module_code: h for h in rows}


def queue_message(
    *, session: Session, key: str, run_id: int | None, kind: str, message: EmailMessage,
    now: datetime,
) -> bool:
    """Queue an email once per key; False when a message with this key was queued before."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)):
        return False
    session.add(OutboxMessage(
        key=key, run_id=run_id, kind=kind, to_addr=str(message["To"]),
        subject=str(message["Subject"]), message=message.as_string(),
        status=OutboxStatus.PENDING, attempts=0, created_at=now, next_attempt_at=now,
    ))
    session.flush()
    return True


class LinkAlreadyUsed(Exception):
    pass


@dataclass(frozen=True)
class LinkUse:
    """The email link a form was submitted through, spent in the transaction of the act."""

    nonce: str
    action: str
    person_id: int
    object_id: str


def link_used(*, session: Session, nonce: str) -> bool:
    return session.get(UsedLink, nonce) is not None


def link_use_of(*, session: Session, nonce: str) -> UsedLink | None:
    """The record of the link's one act (when, for whom), if it acted."""
    return session.scalars(_LINK_USE, {"nonce": nonce}).first()


def spend_link(*, session: Session, link: LinkUse, now: datetime) -> None:
    """Record that the link acted; LinkAlreadyUsed when it had (the primary key decides)."""
    if link_used(session=session, nonce=link.nonce):
        raise LinkAlreadyUsed(link.nonce)
    session.add(UsedLink(nonce=link.nonce, action=link.action, person_id=link.person_id,
                         object_id=link.object_id, used_at=now))
    session.flush()


def audit(
    *, session: Session, actor: str, action: str, object_type: str, object_id: str,
    via: str, now: datetime, detail: dict[str, Any] | None = None,
) -> None:
    session.add(AuditEntry(at=now, actor=actor, action=action, object_type=object_type,
                           object_id=object_id, via=via, detail=detail or {}))


def count_refusal(*, session: Session, client: str, now: datetime) -> int:
    """Count a refused request from `client` in the minute of `now`; return that minute's count.

    One upsert (both backends), so concurrent refusals neither collide nor lose a count.
    """
    minute = int(now.timestamp() // 60)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    count = session.scalar(
        insert(RefusalCount).values(client=client[:64], minute=minute, count=1)
        .on_conflict_do_update(index_elements=["client", "minute"],
                               set_={"count": RefusalCount.count + 1})
        .returning(RefusalCount.count))
    if count == 1:  # a new minute: forget the old ones
        session.execute(delete(RefusalCount).where(
            RefusalCount.minute < int((now - timedelta(minutes=2)).timestamp() // 60)))
    return int(count or 0)


def department(*, session: Session, code: str) -> Department:
    dept = session.get(Department, code)
    if dept is None:
        raise LookupError(f"no department {code!r}")
    return dept


_IMPORTED_TRAINING = select(ImportedTraining) \
    .join(ImportedEmployee, ImportedEmployee.employee_id == ImportedTraining.employee_id) \
    .where(ImportedEmployee.email == bindparam("email")) \
    .order_by(ImportedTraining.completed_on, ImportedTraining.id)


def imported_training(*, session: Session, email: str) -> list[ImportedTraining]:
    """What the old system says the employee with this address completed, oldest first: it
    counts as training like Jieli's own, and is told apart as imported."""
    return list(session.scalars(_IMPORTED_TRAINING, {"email": email.strip().lower()}))

