"""The hire's side of the relay: modules assigned once their materials exist."""

from __future__ import annotations

from datetime import timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE

from storage import clock, repo
from storage.models import Assignment, AssignmentStatus
from tasks.dates import local_day
from tasks.email import Recipient, render
from tasks.env import transaction
from tasks.i18n import normalize_locale
from tasks.links import make_link

STUDY_LINK_VALID_FOR = timedelta(days=90)


@task(cache_policy=NO_CACHE)
def assign_ready_modules(run_id: int) -> list[str]:
    """Assign every module whose materials exist and email the hire once per batch."""
    now = clock.now()
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        assigned = repo.assignments_of(session=session, run_id=run_id)
        new: list[tuple[dict, Assignment]] = []
        for module in run.plan["modules"]:
            code = module["code"]
            if code in assigned:
                continue
            delivery = repo.latest_delivery(session=session, module_code=code)
            if delivery is None:
                continue
            # The study window counts from when the materials exist (not before the run).
            due = max(delivery.delivered_at, run.started_at) + timedelta(
                days=module["study_days"])
            assignment = Assignment(run_id=run_id, module_code=code, assigned_at=now,
                                    due_at=due, status=AssignmentStatus.ASSIGNED)
            session.add(assignment)
            session.flush()
            repo.open_gate(session=session, run_id=run_id, kind="study", subject=code,
                           waiting_on="hire", now=now, due=due)
            new.append((module, assignment))
        if not new:
            return []
        hire = run.hire
        lang = normalize_locale(hire.locale)
        message = render(
            "assignment", to=Recipient(name=hire.name, email=hire.email, locale=hire.locale),
            pass_mark=min(m["pass_mark"] for m, _ in new),
            modules=[{
                "title": m["title"][lang],
                "due": local_day(a.due_at),
                "link": make_link(path=f"/study/{a.id}", action="study", person_id=hire.id,
                                  object_id=str(a.id), valid_for=STUDY_LINK_VALID_FOR),
            } for m, a in new],
        )
        codes = [m["code"] for m, _ in new]
        repo.queue_message(session=session, key=f"assignment:{run_id}:{','.join(codes)}",
                           run_id=run_id, kind="assignment", message=message, now=now)
        repo.audit(session=session, actor="system", action="modules-assigned",
                   object_type="run", object_id=str(run_id), via="flow", now=now,
                   detail={"modules": codes})
        return codes
