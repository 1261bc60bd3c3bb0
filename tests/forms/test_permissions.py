"""The permission matrix over roles × actions × objects: what it forbids is refused and
audited, what it allows is let through; and the matrix says what DESIGN.md says."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms.permissions import Grant, Target, allowed, permitted
from storage.catalog import ACTIONS, Scope, load_catalog
from storage.db import session_scope
from storage.models import AuditEntry, Person
from storage.settings import get_settings
from tests.forms.conftest import Forms

CATALOG = load_catalog()
DEPARTMENTS = sorted(CATALOG.departments)
PEOPLE = sorted({CATALOG.boss.email} | {p.email for d in CATALOG.departments.values()
                                         for p in (d.owner, d.manager)}
                | {"zhang.wei@example.com", "someone.else@example.com"})

targets = st.builds(
    Target, kind=st.sampled_from(["module", "assignment", "run"]), id=st.just("1"),
    department=st.sampled_from(DEPARTMENTS), person_id=st.one_of(st.none(), st.integers(1, 40)))


def expected(grants: frozenset[Grant], person_id: int, action: str, target: Target) -> bool:
    """The matrix read literally: some role lists the action with a scope that covers it."""
    for g in grants:
        scope = CATALOG.permissions.roles.get(g.role, {}).get(action)  # type: ignore[call-overload]
        if scope is None:
            continue
        if (scope == Scope.ALL or (scope == Scope.OWN_DEPARTMENT and g.department ==
                                   target.department)
                or (scope == Scope.OWN and target.person_id == person_id)):
            return True
    return False


def test_the_matrix_is_the_design():
    def may(role, action, dept=None, target_dept="marketing", own=False):
        grants = frozenset({Grant(role, dept)})
        return allowed(CATALOG.permissions, grants, 7, action,
                       Target("module", "x", target_dept, 7 if own else 8))

    assert may("hr", "start") and may("hr", "track") and may("hr", "plan")
    assert not may("hr", "handoff")  # HR may not alter a department's materials
    assert may("owner", "handoff", "marketing") and not may("owner", "handoff", "technology")
    assert may("appraiser", "appraise", "marketing")
    assert not may("appraiser", "appraise", "technology")
    assert may("hire", "quiz", own=True) and not may("hire", "quiz")
    assert may("boss", "read") and not may("boss", "handoff") and not may("boss", "appraise")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(email=st.sampled_from(PEOPLE), action=st.sampled_from(ACTIONS), target=targets)
def test_every_refusal_is_audited_and_every_allowed_action_passes(forms: Forms, email, action,
                                                                  target):
    from forms.permissions import grants_of

    url = get_settings().storage_url
    with session_scope(url) as s:
        person = s.query(Person).filter_by(email=email).one_or_none()
        if person is None:
            person = Person(name=email, email=email, locale="zh_CN")
            s.add(person)
            s.flush()
        grants = grants_of(session=s, catalog=CATALOG, person=person)
        before = s.query(AuditEntry).count()
        ok = permitted(session=s, catalog=CATALOG, person=person, action=action, target=target,
                       via="link")
        assert ok == expected(grants, person.id, action, target)
        audited = s.query(AuditEntry).count() - before
        assert audited == (0 if ok else 1)
        if not ok:
            entry = s.query(AuditEntry).order_by(AuditEntry.id.desc()).first()
            assert entry is not None
            assert (entry.actor, entry.action) == (email, f"refused:{action}")
