"""SQLAlchemy 2 models of Jieli's domain (see ../shared/DESIGN.md, "Domain").

Catalog tables (departments, people, modules, materials, positions) are a copy of the YAML
catalog, refreshed by `sync_catalog`; a run keeps its own snapshot of the position (`plan`).
Every timestamp is timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.types import TypeDecorator

from storage.catalog import Plan

# Stable constraint names, so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}



class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Jieli stores aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class PlanJSON(TypeDecorator[Plan]):
    """A run's plan: JSON in the database, a typed `Plan` in Python."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Plan | None, dialect: Dialect) -> Any:
        return None if value is None else value.model_dump(mode="json")

    def process_result_value(self, value: Any, dialect: Dialect) -> Plan | None:
        return None if value is None else Plan.model_validate(value)


E = TypeVar("E", bound=StrEnum)


class StrEnumColumn(TypeDecorator[E]):
    """A StrEnum stored as its value: a member comes back, and a value outside the enum is
    refused before it is written (`Gate.kind == "hand-off"` fails instead of matching
    nothing). The column stays a VARCHAR: the values stored are the same strings."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int = 20):
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class RunStatus(StrEnum):
    ACTIVE = "active"  # created; passes are running or the run waits on someone
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # its flow run was cancelled in Prefect; `jieli resume` brings it back


class GateKind(StrEnum):
    HANDOFF = "handoff"  # waits on a department to hand off a module's materials
    STUDY = "study"  # waits on the hire to pass a module's quiz
    APPRAISAL = "appraisal"  # waits on the appraiser
    COACHING = "coaching"  # waits on the module's coach to record the sessions owed
    SUBMIT = "submit"  # waits on the hire to hand in the module's assignment
    REVIEW = "review"  # waits on the module's reviewer to grade a hand-in


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"
    PASSED = "passed"
    FAILED = "failed"  # every quiz attempt used


class OutboxStatus(StrEnum):
    PENDING = "pending"
    # Claimed by a sender. A claim left stale by a crash is sent again with the same
    # Message-ID (receivers drop a duplicate by it), at most MAX_RESENDS times.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # permanent failure, recorded and shown by `jieli outbox`


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")


class Department(Base):
    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    manager_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    owner: Mapped[Person] = relationship(foreign_keys=[owner_id])
    manager: Mapped[Person] = relationship(foreign_keys=[manager_id])


class Module(Base):
    __tablename__ = "modules"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    owner_department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    study_days: Mapped[int]
    pass_mark: Mapped[int]
    attempts: Mapped[int]
    materials: Mapped[list[Material]] = relationship(order_by="Material.position")


class Material(Base):
    """A material a module requires (what must be handed off)."""

    __tablename__ = "materials"
    __table_args__ = (UniqueConstraint("module_code", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    module_code: Mapped[str] = mapped_column(ForeignKey("modules.code"))
    code: Mapped[str] = mapped_column(String(64))
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Position(Base):
    __tablename__ = "positions"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]]  # the position as the catalog says it, for run snapshots


class Delivery(Base):
    """A department's hand-off of a module's materials. Materials belong to the module."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    module_code: Mapped[str] = mapped_column(ForeignKey("modules.code"), index=True)
    delivered_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    delivered_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    via: Mapped[str] = mapped_column(String(20))  # cli | link
    delivered_by: Mapped[Person] = relationship()
    items: Mapped[list[DeliveredMaterial]] = relationship(order_by="DeliveredMaterial.id")


class DeliveredMaterial(Base):
    __tablename__ = "delivered_materials"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    material_code: Mapped[str] = mapped_column(String(64))
    link: Mapped[str | None] = mapped_column(String(2000))
    file_name: Mapped[str | None] = mapped_column(String(300))
    file_path: Mapped[str | None] = mapped_column(String(1000))
    size_bytes: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(100))
    # The title of a material its owner added beyond the catalog's list (the catalog names
    # its own materials); None for a catalog material.
    title: Mapped[str | None] = mapped_column(String(300))


class Run(Base):
    """One hire's onboarding: the relay. Its plan is a snapshot of the position at start."""

    __tablename__ = "runs"
    __table_args__ = (
        # One active onboarding per hire; a finished one may be followed by another.
        Index("uq_runs_active_hire", "hire_id", unique=True,
              sqlite_where=text("status = 'active'"),
              postgresql_where=text("status = 'active'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    hire_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    position_code: Mapped[str] = mapped_column(ForeignKey("positions.code"))
    start_date: Mapped[date] = mapped_column(Date)  # the hire's first working day
    started_at: Mapped[datetime]  # when HR started the run
    plan: Mapped[Plan] = mapped_column(PlanJSON)
    # The plan's appraisal pass mark, copied when the plan is set (`_copy_pass_mark`): the
    # dashboard compares every appraised run's scores with it, and reading it out of each
    # plan's JSON took half a second of PostgreSQL's time over two years of runs.
    appraisal_pass_mark: Mapped[int]
    status: Mapped[RunStatus] = mapped_column(StrEnumColumn(RunStatus), default=RunStatus.ACTIVE)
    flow_run_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    # Names the run beyond this database (Prefect's idempotency key for its flow run).
    uid: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Each pass of the flow takes the next number; it makes each suspension's key unique.
    pass_no: Mapped[int] = mapped_column(default=0)
    # Set when someone acted and the run must re-evaluate; cleared by a pass that saw it.
    resume_requested_at: Mapped[datetime | None]
    # When the run must re-evaluate although nobody acts (its appraisal day); the sweep wakes it.
    wake_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # The passes that failed in a row, oldest first: [{"pass", "state", "error", "at"}].
    failures: Mapped[list[Any] | None]
    # Set when passes failed the same way too often: retries stop until HR resumes the run.
    attention_at: Mapped[datetime | None]
    hire: Mapped[Person] = relationship()

    @validates("plan")
    def _copy_pass_mark(self, _key: str, plan: Plan) -> Plan:
        self.appraisal_pass_mark = plan.position.appraisal.pass_mark
        return plan


class Handoff(Base):
    """A run's request that a department hand off one module's materials, with its deadline."""

    __tablename__ = "handoffs"
    __table_args__ = (UniqueConstraint("run_id", "module_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    module_code: Mapped[str] = mapped_column(ForeignKey("modules.code"))
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    requested_at: Mapped[datetime]
    due_at: Mapped[datetime]
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    delivered_at: Mapped[datetime | None]
    # The outbox key of the email that asked the owner; None when the request was folded
    # into a recent one for the same module (tasks/handoff.py says when).
    request_key: Mapped[str | None] = mapped_column(String(300))
    owner: Mapped[Person] = relationship()


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("run_id", "module_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    module_code: Mapped[str] = mapped_column(ForeignKey("modules.code"))
    assigned_at: Mapped[datetime]
    due_at: Mapped[datetime]
    status: Mapped[AssignmentStatus] = mapped_column(StrEnumColumn(AssignmentStatus),
                                                     default=AssignmentStatus.ASSIGNED)
    completed_at: Mapped[datetime | None]


class QuizAttempt(Base):
    __tablename__ = "quiz_attempts"
    __table_args__ = (UniqueConstraint("assignment_id", "attempt_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    attempt_no: Mapped[int]
    score: Mapped[int]
    passed: Mapped[bool]
    taken_at: Mapped[datetime]
    # What the hire studied and answered: the module's materials version (a delivery) current
    # when the attempt was taken, and the quiz version (1: the catalog's). None before 0011.
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    quiz_version: Mapped[int | None]


class QuizVersion(Base):
    """A module's quiz as its owner edited it on the department pages (tasks/quizzes.py).

    Version 1 is the catalog's quiz; each edit stores the whole quiz as the next number. None
    is ever changed or deleted: each attempt names the version it answered.
    """

    __tablename__ = "quiz_versions"
    __table_args__ = (UniqueConstraint("module_code", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    module_code: Mapped[str] = mapped_column(ForeignKey("modules.code"))
    number: Mapped[int]
    quiz: Mapped[dict[str, Any]]  # storage.catalog.Quiz, as JSON
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]
    created_by: Mapped[Person] = relationship()


class AppraisalScore(Base):
    __tablename__ = "appraisal_scores"
    __table_args__ = (UniqueConstraint("run_id", "item", "criterion"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    item: Mapped[str] = mapped_column(String(64))
    criterion: Mapped[str] = mapped_column(String(32))
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    appraiser_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[datetime]


class Finding(Base):
    """Why one appraisal item failed: the rule that fired, who answers for it, the evidence."""

    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("run_id", "item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    item: Mapped[str] = mapped_column(String(64))
    cause: Mapped[str] = mapped_column(String(64))
    responsible: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[list[Any]]
    remedial: Mapped[list[Any]]
    created_at: Mapped[datetime]


class Gate(Base):
    """Something a run waits on, who it waits on, and since when. Closed when satisfied."""

    __tablename__ = "gates"
    __table_args__ = (UniqueConstraint("run_id", "kind", "subject"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    kind: Mapped[GateKind] = mapped_column(StrEnumColumn(GateKind))
    subject: Mapped[str] = mapped_column(String(64))  # a module code, or an appraisal
    waiting_on: Mapped[str] = mapped_column(String(64))  # a department code, or "hire"
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class SessionAnswer(StrEnum):
    """What the hire said about a coaching session recorded for them."""

    PENDING = "pending"
    CONFIRMED = "confirmed"  # only confirmed sessions count
    DISPUTED = "disputed"


class CoachingSession(Base):
    """A coaching session the owner department says it gave a hire in a module."""

    __tablename__ = "coaching_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    module_code: Mapped[str] = mapped_column(String(64))
    coach_id: Mapped[int] = mapped_column(ForeignKey("people.id"))  # who recorded it
    held_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int]
    topic: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime]
    answer: Mapped[SessionAnswer] = mapped_column(StrEnumColumn(SessionAnswer),
                                                  default=SessionAnswer.PENDING)
    answered_at: Mapped[datetime | None]
    hire_comment: Mapped[str] = mapped_column(Text, default="")
    coach: Mapped[Person] = relationship()


class Submission(Base):
    """One hand-in of a module's practice assignment (a file or a link), and its grade."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("run_id", "module_code", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    module_code: Mapped[str] = mapped_column(String(64))
    number: Mapped[int]  # 1 for the first hand-in of this assignment, 2 for the next ...
    submitted_at: Mapped[datetime]
    link: Mapped[str | None] = mapped_column(String(2000))
    file_name: Mapped[str | None] = mapped_column(String(300))
    file_path: Mapped[str | None] = mapped_column(String(1000))
    size_bytes: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    # The grade: a score 0-100 and a comment per rubric criterion.
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    graded_at: Mapped[datetime | None]
    scores: Mapped[dict[str, Any] | None]
    comments: Mapped[dict[str, Any] | None]
    passed: Mapped[bool | None]
    graded_by: Mapped[Person | None] = relationship()


class OutboxMessage(Base):
    """An email to send, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    # What the message is about, e.g. "handoff-request:12:python-basics"; a message is queued
    # at most once per key, which makes every pass that queues mail safe to repeat.
    key: Mapped[str] = mapped_column(String(300), unique=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    message: Mapped[str] = mapped_column(Text)  # the whole RFC 5322 message
    status: Mapped[OutboxStatus] = mapped_column(StrEnumColumn(OutboxStatus),
                                                 default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # How often an interrupted send (a stale claim) was taken up again.
    resends: Mapped[int] = mapped_column(default=0, server_default="0")


class Reminder(Base):
    """A reminder or escalation sent about an open gate: evidence of who was told, when."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("gate_id", "to_email", "day_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"))
    kind: Mapped[str] = mapped_column(String(20))  # reminder | escalation
    to_email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))  # hire | owner | appraiser | hr | boss
    department: Mapped[str | None] = mapped_column(String(64))
    about: Mapped[str] = mapped_column(String(64))  # a module code, or "appraisal"
    day_no: Mapped[int]  # days after the gate's due day (0: the due day itself)
    sent_at: Mapped[datetime]


class UsedLink(Base):
    """An email link whose form was submitted: a link acts once (GET only shows the form)."""

    __tablename__ = "used_links"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    object_id: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime]


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(320))  # an email, or "system"
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(20))  # cli | link | flow
    detail: Mapped[dict[str, Any]]


class RefusalCount(Base):
    """Refused link requests per client and minute, so that a flood cannot fill the audit log."""

    __tablename__ = "refusal_counts"
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)  # minutes since the epoch
    count: Mapped[int]


class StaffSession(Base):
    """A signed-in HR or boss browser: only the hash of the cookie's id is stored."""

    __tablename__ = "staff_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the cookie's id
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class RateEvent(Base):
    """One admitted request in a rate-limited bucket, shared by every forms-app replica."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_bucket_at", "bucket", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(100))  # e.g. sign-in:address:<keyed hash>
    at: Mapped[datetime]


# --- moving in: what the old system's spreadsheets held (`jieli import`) -----------------
# Keyed by the old system's own identifiers, so that importing the same file again finds
# every row already there; `source_file` and `imported_at` say where each came from.


class ImportedEmployee(Base):
    """An employee as the old system's spreadsheet lists them (工号 is their key)."""

    __tablename__ = "imported_employees"
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), index=True)
    department: Mapped[str] = mapped_column(String(64))  # a catalog department code
    position: Mapped[str] = mapped_column(String(64))  # a catalog position code
    hired_on: Mapped[date] = mapped_column(Date)
    source_file: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[datetime]


class ImportedTraining(Base):
    """A module an employee completed in the old system: training, marked as imported."""

    __tablename__ = "imported_training"
    __table_args__ = (UniqueConstraint("employee_id", "module_code", "completed_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("imported_employees.employee_id"))
    module_code: Mapped[str] = mapped_column(String(64))
    completed_on: Mapped[date] = mapped_column(Date)
    score: Mapped[int | None]
    source_file: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[datetime]


class ImportedMetric(Base):
    """One monthly figure of an employee (sales, tickets closed …) from the old system."""

    __tablename__ = "imported_metrics"
    __table_args__ = (UniqueConstraint("employee_id", "month", "metric"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("imported_employees.employee_id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    metric: Mapped[str] = mapped_column(String(100))
    value: Mapped[float]
    source_file: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[datetime]


class ImportedReward(Base):
    """A reward or penalty from the old system. Every field is part of what it is, so it is
    keyed by a hash of them all (a note may be long): a changed note is another record."""

    __tablename__ = "imported_rewards"
    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("imported_employees.employee_id"),
                                             index=True)
    happened_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))  # reward | penalty
    note: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256, hex
    source_file: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[datetime]
