"""The email-link dependency: token, then person, then permission, then single use.

Every route of the forms app that acts for a person from an email link goes through
`visit(action)`: a tampered or foreign link is a 403, an expired or spent one a 410, each
with a page in the reader's language that says what to do next, and nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Query, Request

from forms.permissions import Target, permitted
from storage import clock, repo
from storage.models import Assignment, Person
from tasks.env import get_catalog, transaction
from tasks.i18n import normalize_locale
from tasks.links import LinkClaims, LinkExpired, LinkInvalid, read_token


class LinkProblem(Exception):
    """Rendered as the error page: kind is invalid | expired | used | forbidden | missing."""

    def __init__(self, status: int, kind: str, locale: str):
        super().__init__(kind)
        self.status, self.kind, self.locale = status, kind, locale


@dataclass(frozen=True)
class Visitor:
    id: int
    name: str
    email: str
    locale: str


@dataclass(frozen=True)
class Visit:
    claims: LinkClaims
    person: Visitor
    target: Target
    locale: str

    def refuse(self, status: int, kind: str) -> LinkProblem:
        return refuse(status, kind, self.locale, action=self.claims.action,
                      object_id=self.claims.object_id, person_id=self.person.id)

    def link_use(self) -> repo.LinkUse:
        c = self.claims
        return repo.LinkUse(nonce=c.nonce, action=c.action, person_id=c.person_id,
                            object_id=c.object_id)


def request_locale(request: Request) -> str:
    return normalize_locale(request.headers.get("accept-language"))


def _target(action: str, object_id: str) -> Target | None:
    catalog = get_catalog()
    if action == "sign-in":  # HR's area as a whole; the session it opens reads it
        return Target("area", object_id, "hr")
    if action == "handoff":
        module = catalog.modules.get(object_id)
        return Target("module", object_id, module.owner) if module else None
    if not object_id.isdigit():
        return None
    with transaction() as session:
        if action in ("study", "quiz"):
            assignment = session.get(Assignment, int(object_id))
            if assignment is None:
                return None
            run = repo.get_run(session=session, run_id=assignment.run_id)
            return Target("assignment", object_id, run.plan["position"]["department"],
                          run.hire_id)
        if action in ("appraise", "record"):  # record: one run's training record, read-only
            try:
                run = repo.get_run(session=session, run_id=int(object_id))
            except LookupError:
                return None
            return Target("run", object_id, run.plan["position"]["department"], run.hire_id)
    return None


def refuse(status: int, kind: str, locale: str, *, action: str, object_id: str,
           person_id: int | None = None) -> LinkProblem:
    """Audit a refused link (in a transaction of its own, so it stays) and return the problem
    to raise."""
    with transaction() as session:
        person = session.get(Person, person_id) if person_id is not None else None
        repo.audit(session=session, actor=person.email if person else "unknown",
                   action=f"refused-link:{kind}", object_type=action, object_id=object_id,
                   via="link", now=clock.now(), detail={"status": status})
    return LinkProblem(status, kind, locale)


def visit(action: str, permission: str | None = None,
          scope_object: str | None = None) -> Callable[..., Visit]:
    """A dependency admitting a link for `action` on the path's object (its first param), or,
    for a link to a whole area (the HR sign-in), on `scope_object`."""

    def dependency(request: Request, t: str = Query("")) -> Visit:
        locale = request_locale(request)
        object_id = scope_object or str(next(iter(request.path_params.values()), ""))
        try:
            claims = read_token(t)
        except LinkInvalid:
            raise refuse(403, "invalid", locale, action=action, object_id=object_id) from None
        except LinkExpired:
            raise refuse(410, "expired", locale, action=action, object_id=object_id) from None
        if claims.action != action or claims.object_id != object_id:
            raise refuse(403, "invalid", locale, action=action, object_id=object_id,
                         person_id=claims.person_id)
        catalog = get_catalog()
        with transaction() as session:
            person = session.get(Person, claims.person_id)
            visitor = Visitor(person.id, person.name, person.email, person.locale) \
                if person else None
        if visitor is None:
            raise refuse(403, "invalid", locale, action=action, object_id=object_id)
        # The person's own language first, then the browser's.
        locale = normalize_locale(visitor.locale) if visitor.locale else locale
        target = _target(action, object_id)
        if target is None:
            raise LinkProblem(404, "missing", locale)
        with transaction() as session:
            person = session.get_one(Person, visitor.id)
            ok = permitted(session=session, catalog=catalog, person=person,
                           action=permission or action, target=target, via="link")
            spent = repo.link_used(session=session, nonce=claims.nonce)
        if not ok:
            raise LinkProblem(403, "forbidden", locale)
        if spent and request.method == "POST":
            raise refuse(410, "used", locale, action=action, object_id=object_id,
                         person_id=visitor.id)
        return Visit(claims, visitor, target, locale)

    return dependency
