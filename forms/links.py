"""The email-link dependency: token, then person, then permission, then single use.

Every route of the forms app that acts for a person from an email link goes through
`visit(action)`: a tampered or foreign link is a 403, an expired or spent one a 410, each
with a page in the reader's language that says what to do next, and nothing changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Query, Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from forms.language import chosen_locale
from storage import clock, repo
from storage.models import CoachingSession, Person, Submission
from tasks.env import get_catalog, reading, transaction
from tasks.i18n import normalize_locale
from tasks.links import LinkClaims, LinkExpired, LinkInvalid, Spent, read_token
from tasks.permissions import (
    Target,
    allowed,
    assignment_target,
    grants_of,
    module_target,
    permitted,
    practice_target,
    run_target,
)
from tasks.practice import parse_practice_key

# Bounds on what a link may carry, checked before anything is looked up or written: a token is
# about 150 characters, an object id a module code or a number.
MAX_TOKEN_CHARS = 512
MAX_OBJECT_ID_CHARS = 64
# Refused links audited per client and minute; beyond, they are only counted (in storage, so
# the bound holds across the app's processes and replicas).
AUDITED_REFUSALS_PER_MINUTE = 20


class LinkProblem(Exception):
    """Rendered as the error page: kind is invalid | expired | used | forbidden | missing |
    not-found | method; a spent link's problem says when and by whom it was used."""

    def __init__(self, status: int, kind: str, locale: str, spent: Spent | None = None):
        super().__init__(kind)
        self.status, self.kind, self.locale, self.spent = status, kind, locale, spent


@dataclass(frozen=True)
class Visitor:
    id: int
    name: str
    email: str
    locale: str


# The visitor's columns, read for every link admitted (a statement built once: see repo).
_VISITOR = select(Person.id, Person.name, Person.email, Person.locale) \
    .where(Person.id == bindparam("person_id"))


@dataclass(frozen=True)
class Visit:
    claims: LinkClaims
    person: Visitor
    target: Target
    locale: str
    client: str = ""
    spent: Spent | None = None  # the link acted already: its form is not shown again

    def refuse(self, status: int, kind: str) -> LinkProblem:
        return refuse(status, kind, self.locale, action=self.claims.action,
                      object_id=self.claims.object_id, person_id=self.person.id,
                      client=self.client)

    def link_use(self) -> repo.LinkUse:
        c = self.claims
        return repo.LinkUse(nonce=c.nonce, action=c.action, person_id=c.person_id,
                            object_id=c.object_id)


def request_client(request: Request) -> str:
    return request.client.host if request.client else ""


def request_locale(request: Request) -> str:
    """The language the reader chose on a page, else the browser's."""
    return chosen_locale(request) or normalize_locale(request.headers.get("accept-language"))


def reader_locale(request: Request, own: str | None) -> str:
    """The language the reader chose on a page, else the person's own, else the browser's."""
    return chosen_locale(request) or (normalize_locale(own) if own else request_locale(request))


def _target(session: Session, action: str, object_id: str) -> Target | None:
    catalog = get_catalog()
    if action == "sign-in":  # HR's area as a whole; the session it opens reads it
        return Target("area", object_id, "hr")
    if action == "dept-sign-in":  # a department owner's pages (forms/department.py)
        return Target("area", object_id, object_id) if object_id in catalog.departments else None
    if action == "handoff":
        return module_target(object_id) if object_id in catalog.modules else None
    if action in ("coach", "submit"):  # a run's practice in a module: `12.python-basics`
        key = parse_practice_key(object_id)
        return practice_target(session, *key) if key else None
    if not (object_id.isascii() and object_id.isdigit()) or len(object_id) > 18:
        return None  # not a row id (and beyond a 64-bit integer)
    if action in ("study", "quiz"):
        return assignment_target(session, int(object_id))
    if action == "confirm":  # a coaching session recorded for the hire
        row = session.get(CoachingSession, int(object_id))
        return practice_target(session, row.run_id, row.module_code) if row else None
    if action == "grade":  # a hire's hand-in
        submission = session.get(Submission, int(object_id))
        return practice_target(session, submission.run_id, submission.module_code) \
            if submission else None
    if action in ("appraise", "record"):  # record: one run's training record, read-only
        return run_target(session, int(object_id))
    return None


def refuse(status: int, kind: str, locale: str, *, action: str, object_id: str,
           person_id: int | None = None, client: str = "") -> LinkProblem:
    """Audit a refused link (in a transaction of its own, so it stays) and return the problem
    to raise. Values are cut to the log's bounds, and a client refused more than
    AUDITED_REFUSALS_PER_MINUTE times a minute is only counted until the minute ends."""
    now = clock.now()
    with transaction() as session:
        refusals = repo.count_refusal(session=session, client=client, now=now)
        if refusals <= AUDITED_REFUSALS_PER_MINUTE + 1:
            person = session.get(Person, person_id) if person_id is not None else None
            detail: dict[str, object] = {"status": status, "client": client[:64]}
            if len(object_id) > MAX_OBJECT_ID_CHARS:
                detail["object_id_chars"] = len(object_id)
            if refusals > AUDITED_REFUSALS_PER_MINUTE:
                kind_logged = "rate-limited"  # the last row this minute says why rows stop
                detail["refused_this_minute"] = refusals
            else:
                kind_logged = kind
            repo.audit(session=session, actor=person.email if person else "unknown",
                       action=f"refused-link:{kind_logged}", object_type=action[:64],
                       object_id=object_id[:MAX_OBJECT_ID_CHARS], via="link", now=now,
                       detail=detail)
    return LinkProblem(status, kind, locale)


@dataclass(frozen=True)
class _Refusal:
    """A link refused by `_admit`, to be audited (a write) before its page is shown."""

    status: int
    kind: str
    locale: str
    action: str
    object_id: str
    person_id: int | None = None
    client: str = ""
    forbidden: Target | None = None  # refused by the permission matrix: audited by `permitted`
    permission: str = ""
    spent: Spent | None = None

    def audit(self) -> LinkProblem:
        if self.forbidden is None:
            problem = refuse(self.status, self.kind, self.locale, action=self.action,
                             object_id=self.object_id, person_id=self.person_id,
                             client=self.client)
            problem.spent = self.spent
            return problem
        with transaction() as session:
            # `permitted` decides again and audits the refusal, in a write transaction.
            permitted(session=session, catalog=get_catalog(),
                      person=session.get_one(Person, self.person_id),
                      action=self.permission, target=self.forbidden, via="link")
        return LinkProblem(self.status, self.kind, self.locale)


def _admit(request: Request, t: str, action: str, permission: str | None,
           scope_object: str | None) -> Visit | _Refusal | LinkProblem:
    """Admit a link, reading only: the visit, the refusal to audit, or a problem to show."""
    locale, client = request_locale(request), request_client(request)
    object_id = scope_object or str(next(iter(request.path_params.values()), ""))

    def refused(status: int, kind: str, person_id: int | None = None) -> _Refusal:
        return _Refusal(status, kind, locale, action, object_id, person_id, client)

    try:
        if len(t) > MAX_TOKEN_CHARS or len(object_id) > MAX_OBJECT_ID_CHARS:
            raise LinkInvalid("over-long token or path")
        claims = read_token(t)
    except LinkInvalid:
        return refused(403, "invalid")
    except LinkExpired:
        return refused(410, "expired")
    if claims.action != action or claims.object_id != object_id:
        return refused(403, "invalid", claims.person_id)
    catalog = get_catalog()
    # One read transaction admits the link (no write lock: mail scanners and readers never
    # queue behind a flow pass); only a refusal writes, to audit it.
    with reading() as session:
        found = session.execute(_VISITOR, {"person_id": claims.person_id}).first()
        visitor = Visitor(*found) if found else None
        target = _target(session, action, object_id) if visitor else None
        ok = visitor is not None and target is not None and allowed(
            catalog.permissions, grants_of(session=session, catalog=catalog, person=visitor),
            visitor.id, permission or action, target)
        # Only a POST spends a link; a GET of a spent one says when and by whom.
        used = repo.link_use_of(session=session, nonce=claims.nonce)
        spent = Spent(used.used_at, visitor.name) if used and visitor else None
    if visitor is None:
        return refused(403, "invalid")
    locale = reader_locale(request, visitor.locale)
    if target is None:
        return LinkProblem(404, "missing", locale)
    if not ok:
        return _Refusal(403, "forbidden", locale, action, object_id, visitor.id, client,
                        forbidden=target, permission=permission or action)
    if spent and request.method == "POST":
        return _Refusal(410, "used", locale, action, object_id, visitor.id, client, spent=spent)
    return Visit(claims, visitor, target, locale, client, spent)


def visit(action: str, permission: str | None = None,
          scope_object: str | None = None) -> Callable[..., Awaitable[Visit]]:
    """A dependency admitting a link for `action` on the path's object (its first param), or,
    for a link to a whole area (the HR sign-in), on `scope_object`.

    Admitting reads a few rows and runs on the event loop: a page whose own work is reads
    (the study page) is then served without a hop into the thread pool and back, the largest
    cost after the reads themselves. A refusal's audit row is written in the thread pool,
    where waiting for the write lock holds up no other reader.
    """

    async def dependency(request: Request, t: str = Query("")) -> Visit:
        admitted = _admit(request, t, action, permission, scope_object)
        if isinstance(admitted, Visit):
            return admitted
        if isinstance(admitted, _Refusal):
            raise await run_in_threadpool(admitted.audit)
        raise admitted

    return dependency
