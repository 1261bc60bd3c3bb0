"""Hand-offs: asking departments for their modules' materials, and recording a delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.catalog import PlannedModule
from storage.models import (
    Department,
    Gate,
    GateKind,
    Handoff,
    OutboxMessage,
    OutboxStatus,
    Run,
    RunStatus,
)
from tasks.dates import (
    due_after_working_days,
    first_day,
    local_date,
    spoken_day,
    working_days_between,
)
from tasks.email import Recipient, render
from tasks.env import get_catalog, reading, transaction
from tasks.i18n import normalize_locale
from tasks.labels import names
from tasks.learning import relay_modules
from tasks.links import Spent, make_link
from tasks.permissions import check, module_target
from tasks.runs import resume_run

HANDOFF_LINK_VALID_FOR = timedelta(days=60)
# How far back to look for a recent request; `recent_request` decides in working days.
RECENT_REQUEST_BOUND = timedelta(days=15)


@task(cache_policy=NO_CACHE)
def open_handoff_gates(run_id: int) -> list[str]:
    """Ask each owner once for the materials still missing; return the modules that wait.

    A pass asks each owner in one email for all of the run's newly missing modules of their
    department (see `_ask_owner` for when a recent request makes the email unnecessary).
    """
    now = clock.now()
    waiting: list[str] = []
    asks: dict[str, list[tuple[PlannedModule, Handoff]]] = {}  # department -> new requests
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        due = due_after_working_days(run.started_at, run.plan.handoff_due_days)
        remedial_due = due_after_working_days(now, run.plan.handoff_due_days)
        for module in relay_modules(session, run):
            code = module.code
            repo.lock_module(session=session, module_code=code)
            delivery = repo.latest_delivery(session=session, module_code=code)
            if delivery:
                repo.close_gate(session=session, run_id=run.id, kind=GateKind.HANDOFF, subject=code,
                                now=now)
                repo.link_delivery(session=session, run_id=run.id, delivery=delivery)
                continue
            waiting.append(code)
            dept = repo.department(session=session, code=module.owner)
            handoff, created = repo.ensure_handoff(
                session=session, run=run, module_code=code, department=dept.code,
                owner=dept.owner, now=now,
                # A remedial module is asked for when the verdict assigns it.
                due=due if run.plan.module(code) is not None else remedial_due)
            repo.open_gate(session=session, run_id=run.id, kind=GateKind.HANDOFF, subject=code,
                           waiting_on=dept.code, now=now, due=handoff.due_at)
            if created:
                asks.setdefault(dept.code, []).append((module, handoff))
        for dept_code, requests in asks.items():
            _ask_owner(session, run, repo.department(session=session, code=dept_code),
                       requests, now)
    return waiting


def recent_request(session: Session, *, module_code: str, owner_id: int, run_id: int,
                   now: datetime) -> str | None:
    """The outbox key of a recent email that asked this owner for this module, if any.

    Recent: queued today or on the previous working day (`is_working_day`: Friday's request
    still counts on Monday), for another run's request that is not yet met, and not failed.
    Only emails count, not requests folded into one, so a hire each day cannot postpone
    the owner's next email for ever.
    """
    row = session.execute(
        select(OutboxMessage.key, OutboxMessage.created_at)
        .join(Handoff, Handoff.request_key == OutboxMessage.key)
        .where(Handoff.module_code == module_code, Handoff.owner_id == owner_id,
               Handoff.run_id != run_id, Handoff.delivery_id.is_(None),
               OutboxMessage.status != OutboxStatus.FAILED,
               OutboxMessage.created_at >= now - RECENT_REQUEST_BOUND)
        .order_by(OutboxMessage.created_at.desc()).limit(1)).first()
    if row is None or working_days_between(local_date(row.created_at), local_date(now)) > 1:
        return None
    return str(row.key)


def _ask_owner(session: Session, run: Run, dept: Department,
               requests: list[tuple[PlannedModule, Handoff]], now: datetime) -> None:
    """One email to the department's owner listing every module this pass newly requests.

    No email when each of these modules was asked of the same owner by a recent email
    (`recent_request`) for another hire: the owner already knows the module is wanted, and
    this hire is listed on the module's hand-off page and in the owner's next reminder.
    """
    owner = dept.owner
    earlier = [recent_request(session, module_code=module.code, owner_id=owner.id,
                              run_id=run.id, now=now) for module, _ in requests]
    if all(earlier):
        repo.audit(session=session, actor="system", action="handoff-request-folded",
                   object_type="department", object_id=dept.code, via="flow", now=now,
                   detail={"run": run.id, "owner": owner.email,
                           "modules": [m.code for m, _ in requests],
                           "into": sorted({k for k in earlier if k})})
        return
    lang = normalize_locale(owner.locale)
    due = requests[0][1].due_at
    modules = [{
        "title": module.title.get(lang),
        "materials": [m.title.get(lang) for m in module.materials],
        "link": make_link(path=f"/handoff/{module.code}", action="handoff",
                          person_id=owner.id, object_id=module.code,
                          valid_for=HANDOFF_LINK_VALID_FOR),
    } for module, _ in requests]
    message = render(
        "handoff_request", to=Recipient(name=owner.name, email=owner.email, locale=owner.locale),
        hire=run.hire.name, position=run.plan.position.title.get(lang),
        department=names(lang).department(dept.code), first_day=first_day(run.start_date, lang),
        due=spoken_day(due, lang),
        modules=modules)
    key = f"handoff-request:{run.id}:{dept.code}:{requests[0][1].id}"
    repo.queue_message(session=session, key=key, run_id=run.id, kind="handoff-request",
                       message=message, now=now)
    for module, handoff in requests:
        handoff.request_key = key
        repo.audit(session=session, actor="system", action="handoff-requested",
                   object_type="module", object_id=module.code, via="flow", now=now,
                   detail={"run": run.id, "owner": owner.email, "due": due.isoformat(),
                           "email": key})


def waiting_hires(module_code: str, locale: str) -> list[dict[str, str]]:
    """The hires of active runs whose hand-off of this module is open, earliest due first."""
    lang = normalize_locale(locale)
    with reading() as session:  # a page's read: no write lock
        rows = session.execute(
            select(Run, Gate.due_at).join(Gate, Gate.run_id == Run.id)
            .where(Gate.kind == GateKind.HANDOFF, Gate.subject == module_code,
                   Gate.closed_at.is_(None), Run.status == RunStatus.ACTIVE)
            .order_by(Gate.due_at, Run.id)).all()
        return [{"name": run.hire.name,
                 "position": run.plan.position.title.get(lang),
                 "start": first_day(run.start_date, lang),
                 "due": spoken_day(due, lang) if due else ""}
                for run, due in rows]


def last_handoff(module_code: str) -> Spent | None:
    """When the module's materials in use were handed off, and by whom, if they were."""
    with reading() as session:
        delivery = repo.latest_delivery(session=session, module_code=module_code)
        return Spent(delivery.delivered_at, delivery.delivered_by.name) if delivery else None


@dataclass
class DeliveryOutcome:
    delivery_id: int
    module: str
    unblocked: list[int] = field(default_factory=list)  # runs whose gate the delivery closed
    resumed: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)  # recorded; resumed later by the sweep


def deliver_materials(
    *, module_code: str, by_email: str, via: str, items: list[repo.MaterialItem] | None = None,
    note: str = "", link: repo.LinkUse | None = None,
) -> DeliveryOutcome:
    """Record a department's hand-off of a module's materials, then resume the runs it unblocks.

    The delivery is committed before any run is resumed: if Prefect cannot be reached, it stays
    recorded and the runs are resumed later (`resume_requested_runs`).
    """
    return resume_unblocked(record_materials(module_code=module_code, by_email=by_email,
                                             via=via, items=items, note=note, link=link))


def resume_unblocked(outcome: DeliveryOutcome) -> DeliveryOutcome:
    """Resume the runs a committed delivery unblocked (deferred when Prefect is out of reach)."""
    for run_id in outcome.unblocked:
        (outcome.resumed if resume_run(run_id) else outcome.deferred).append(run_id)
    return outcome


def record_materials(
    *, module_code: str, by_email: str, via: str, items: list[repo.MaterialItem] | None = None,
    note: str = "", link: repo.LinkUse | None = None,
) -> DeliveryOutcome:
    """Record a hand-off and spend its link in one transaction; resume nothing yet.

    NotPermitted (audited) when `by_email` may not hand off this module's materials."""
    catalog = get_catalog()
    if module_code not in catalog.modules:
        raise LookupError(f"unknown module {module_code!r}")
    module = catalog.modules[module_code]
    # Only the owning department's owner may (the matrix); NotPermitted, audited, if not.
    check(action="handoff", target=module_target(module_code), via=via, by_email=by_email)
    if items is None:
        items = [repo.MaterialItem(material_code=m.code) for m in module.materials]
    now = clock.now()
    with transaction() as session:
        person = repo.person_by_email(session=session, email=by_email)
        if person is None:
            raise LookupError(f"{by_email} is not in storage; run `jieli db upgrade`")
        if link is not None:
            repo.spend_link(session=session, link=link, now=now)
        delivery, run_ids = repo.record_delivery(
            session=session, module_code=module_code, by=person, now=now, via=via,
            items=items, note=note)
        repo.audit(session=session, actor=person.email, action="materials-delivered",
                   object_type="module", object_id=module_code, via=via, now=now,
                   detail={"delivery": delivery.id, "runs": run_ids,
                           "materials": [i.material_code for i in items]})
        return DeliveryOutcome(delivery_id=delivery.id, module=module_code, unblocked=run_ids)
