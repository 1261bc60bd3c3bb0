"""Hand-offs: asking departments for their modules' materials, and recording a delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE

from storage import clock, repo
from tasks.dates import due_after, local_day
from tasks.email import Recipient, render
from tasks.env import get_catalog, transaction
from tasks.i18n import normalize_locale
from tasks.links import make_link
from tasks.runs import resume_run

HANDOFF_LINK_VALID_FOR = timedelta(days=60)


@task(cache_policy=NO_CACHE)
def open_handoff_gates(run_id: int) -> list[str]:
    """Ask each owner once for the materials still missing; return the modules that wait."""
    now = clock.now()
    waiting: list[str] = []
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        due = due_after(run.started_at, run.plan["handoff_due_days"])
        position = run.plan["position"]
        for module in run.plan["modules"]:
            code = module["code"]
            repo.lock_module(session=session, module_code=code)
            delivery = repo.latest_delivery(session=session, module_code=code)
            if delivery:
                repo.close_gate(session=session, run_id=run.id, kind="handoff", subject=code,
                                now=now)
                repo.link_delivery(session=session, run_id=run.id, delivery=delivery)
                continue
            waiting.append(code)
            dept = repo.department(session=session, code=module["owner"])
            handoff, created = repo.ensure_handoff(
                session=session, run=run, module_code=code, department=dept.code,
                owner=dept.owner, now=now, due=due)
            repo.open_gate(session=session, run_id=run.id, kind="handoff", subject=code,
                           waiting_on=dept.code, now=now, due=handoff.due_at)
            if not created:
                continue
            to = Recipient(name=dept.owner.name, email=dept.owner.email,
                           locale=dept.owner.locale)
            link = make_link(path=f"/handoff/{code}", action="handoff",
                             person_id=dept.owner.id, object_id=code,
                             valid_for=HANDOFF_LINK_VALID_FOR)
            lang = normalize_locale(to.locale)
            message = render(
                "handoff_request", to=to,
                hire=run.hire.name,
                position=position["title"][lang],
                start=run.start_date.isoformat(),
                module=module["title"][lang],
                materials=[m["title"][lang] for m in module["materials"]],
                due=local_day(handoff.due_at), link=link,
            )
            repo.queue_message(session=session, key=f"handoff-request:{run.id}:{code}",
                               run_id=run.id, kind="handoff-request", message=message, now=now)
            repo.audit(session=session, actor="system", action="handoff-requested",
                       object_type="module", object_id=code, via="flow", now=now,
                       detail={"run": run.id, "owner": dept.owner.email,
                               "due": handoff.due_at.isoformat()})
    return waiting


class NotTheOwner(PermissionError):
    pass


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
    """Record a hand-off and spend its link in one transaction; resume nothing yet."""
    catalog = get_catalog()
    if module_code not in catalog.modules:
        raise LookupError(f"unknown module {module_code!r}")
    module = catalog.modules[module_code]
    owner_dept = catalog.departments[module.owner]
    if by_email.strip().lower() != owner_dept.owner.email.lower():
        raise NotTheOwner(
            f"{by_email} is not the owner of {module_code} (owned by {owner_dept.code}: "
            f"{owner_dept.owner.email})")
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
