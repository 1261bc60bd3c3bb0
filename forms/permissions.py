"""Permissions, in one place: the catalog's matrix applied to a person and an object.

A person's roles come from the catalog and storage (see storage/catalog/permissions.yaml);
`allowed` is the whole rule, and `permitted` is the one place a refusal is decided and
audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.catalog import Catalog, PermissionsFile, Scope
from storage.models import Person, Run


@dataclass(frozen=True)
class Grant:
    role: str
    department: str | None = None  # for owner, appraiser: the department they act for


@dataclass(frozen=True)
class Target:
    """What an action is on: its department, and whose it is (for a hire's own objects)."""

    kind: str  # module | assignment | run
    id: str
    department: str
    person_id: int | None = None


def grants_of(*, session: Session, catalog: Catalog, person: Person) -> frozenset[Grant]:
    grants: set[Grant] = set()
    email = person.email.lower()
    if catalog.boss.email.lower() == email:
        grants.add(Grant("boss"))
    for dept in catalog.departments.values():
        if dept.owner.email.lower() == email:
            grants.add(Grant("owner", dept.code))
            if dept.code == "hr":
                grants.add(Grant("hr"))
        if dept.manager.email.lower() == email:
            grants.add(Grant("appraiser", dept.code))
            if dept.code == "hr":
                grants.add(Grant("hr"))
    if session.scalar(select(Run.id).where(Run.hire_id == person.id).limit(1)) is not None:
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
