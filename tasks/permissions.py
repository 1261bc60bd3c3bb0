"""Permissions, in one place: the catalog's matrix applied to a person and an object.

A person's roles come from the catalog and storage (see storage/catalog/permissions.yaml);
`allowed` is the whole rule, and `permitted` is the one place a refusal is decided and
audited. Every entry point asks it before it acts, through `check` in the domain actions
(start a run, hand off, take a quiz, appraise) and through the forms' link and session
dependencies; `via` names the entry point in the audit log: `link` and `session` (the web),
`cli`, `prefect` (a deployment started from Prefect's UI or API), `flow`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.catalog import Catalog, PermissionsFile, Scope
from storage.models import Assignment, Person, Run
from tasks.env import get_catalog, reading, transaction


@dataclass(frozen=True)
class Grant:
    role: str
    department: str | None = None  # for owner, appraiser: the department they act for


@dataclass(frozen=True)
class Target:
    """What an action is on: its department, and whose it is (for a hire's own objects)."""

    kind: str  # module | assignment | run | position | practice | area
    id: str
    department: str
    person_id: int | None = None


class NotPermitted(PermissionError):
    """The matrix refuses the action to this person (or nobody known asked); audited."""

    def __init__(self, actor: str, action: str, target: Target, via: str):
        who = f"{actor} may not" if actor else "no known person was named to"
        super().__init__(f"{who} {action} {target.kind} {target.id} (via {via}); the "
                         "refusal is in the audit log")
        self.actor, self.action, self.target, self.via = actor, action, target, via


class Someone(Protocol):
    """Whose grants are looked up: a stored person, or what a page read of one."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...


# Built once (every link admitted asks them): see storage/repo.py on statements built once.
_HAS_RUN = select(Run.id).where(Run.hire_id == bindparam("person_id")).limit(1)
# A hire's assignment: its run's plan (the position's department) and hire, in one query.
_ASSIGNMENT_TARGET = select(Run.plan, Run.hire_id) \
    .join(Assignment, Assignment.run_id == Run.id) \
    .where(Assignment.id == bindparam("assignment_id"))


def grants_of(*, session: Session, catalog: Catalog, person: Someone) -> frozenset[Grant]:
    grants: set[Grant] = set()
    email = person.email.lower()
    if catalog.boss.email.lower() == email:
        grants.add(Grant("boss"))
    for dept in catalog.departments.values():
        if dept.owner.email.lower() == email:
            grants.add(Grant("owner", dept.code))
            if dept.code == "hr":
                grants.add(Grant("hr"))
        if any(r.email.lower() == email for r in dept.reviewers):
            grants.add(Grant("reviewer", dept.code))
        if dept.manager.email.lower() == email:
            grants.add(Grant("appraiser", dept.code))
            if dept.code == "hr":
                grants.add(Grant("hr"))
    if session.scalars(_HAS_RUN, {"person_id": person.id}).first() is not None:
        grants.add(Grant("hire"))
    return frozenset(grants)


def allowed(matrix: PermissionsFile, grants: frozenset[Grant], person_id: int, action: str,
            target: Target) -> bool:
    """Whether any of the person's roles allows the action on the target."""
    for grant in grants:
        scope = matrix.roles.get(grant.role, {}).get(action)  # type: ignore[call-overload]
        if scope == Scope.ALL:
            return True
        if scope == Scope.OWN_DEPARTMENT and grant.department == target.department:
            return True
        if scope == Scope.OWN and target.person_id == person_id:
            return True
    return False


def permitted(*, session: Session, catalog: Catalog, person: Person, action: str,
              target: Target, via: str) -> bool:
    """Whether the matrix allows the action; a refusal is audited in the caller's transaction
    (which must commit it: the caller refuses after the transaction, not inside it)."""
    grants = grants_of(session=session, catalog=catalog, person=person)
    if allowed(catalog.permissions, grants, person.id, action, target):
        return True
    repo.audit(session=session, actor=person.email, action=f"refused:{action}",
               object_type=target.kind, object_id=target.id, via=via, now=clock.now(),
               detail={"roles": sorted(f"{g.role}:{g.department or ''}" for g in grants),
                       "department": target.department})
    return False


def check(*, action: str, target: Target, via: str, by_email: str | None = None,
          person_id: int | None = None) -> str:
    """Let the person named by address or id act, or raise NotPermitted after auditing the
    refusal (committed: it stays whatever the caller does next). Returns their address.

    Nobody named, or an address or id unknown to storage, is refused like a person whom the
    matrix refuses.
    """
    catalog = get_catalog()

    def find(session: Session) -> Person | None:
        if person_id is not None:
            return session.get(Person, person_id)
        return repo.person_by_email(session=session, email=by_email) if by_email else None

    # Decided in a read transaction (no write lock for the usual answer, yes); only a refusal
    # writes, to audit it.
    with reading() as session:
        person = find(session)
        if person is not None and allowed(
                catalog.permissions, grants_of(session=session, catalog=catalog, person=person),
                person.id, action, target):
            return person.email
    with transaction() as session:
        person = find(session)
        if person is not None:
            if permitted(session=session, catalog=catalog, person=person, action=action,
                         target=target, via=via):
                return person.email  # allowed meanwhile (a run begun in between)
            actor = person.email
        else:
            actor = (by_email or "").strip().lower()[:254] or (
                f"person:{person_id}" if person_id is not None else "")
            repo.audit(session=session, actor=actor or "unknown", action=f"refused:{action}",
                       object_type=target.kind, object_id=target.id, via=via,
                       now=clock.now(), detail={"roles": [], "department": target.department,
                                                "reason": "unknown person"})
    raise NotPermitted(actor, action, target, via)


# --- the objects actions are on -----------------------------------------------------------


def position_target(code: str) -> Target:
    """Starting a hire on a position: the position's department."""
    position = get_catalog().positions[code]
    return Target("position", code, position.department)


def module_target(code: str) -> Target:
    """A module's materials, quiz and grading: its owning department's."""
    return Target("module", code, get_catalog().modules[code].owner)


def assignment_target(session: Session, assignment_id: int) -> Target | None:
    """A hire's assignment: the department of the hire's position, and the hire's own."""
    row = session.execute(_ASSIGNMENT_TARGET, {"assignment_id": assignment_id}).first()
    if row is None:
        return None
    plan, hire_id = row
    return Target("assignment", str(assignment_id), plan.position.department, hire_id)


def practice_target(session: Session, run_id: int, module_code: str) -> Target | None:
    """A hire's practice in a module (coaching, assignment, grading): the module's owning
    department's, and the hire's own."""
    run = session.get(Run, run_id)
    if run is None or module_code not in get_catalog().modules:
        return None
    return Target("practice", f"{run_id}/{module_code}",
                  get_catalog().modules[module_code].owner, run.hire_id)


def run_target(session: Session, run_id: int) -> Target | None:
    """A hire's run (its appraisal, its record): the position's department, the hire's own."""
    run = session.get(Run, run_id)
    if run is None:
        return None
    return Target("run", str(run_id), run.plan.position.department, run.hire_id)
