"""HR's pages read a session, not a link: the cookie, the dependency, the CSRF token.

The cookie holds a random id (the database keeps its hash, see tasks/sign_in.py); it is
HttpOnly, SameSite=Lax, limited to /hr, and Secure unless Jieli is reached over plain http on
loopback. A POST of an HR page carries a CSRF token derived from the session.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from forms.language import chosen_locale
from forms.links import LinkProblem, Visit, Visitor, request_locale, visit
from forms.security import Refused
from storage import clock, repo
from storage.models import Person
from storage.settings import LOOPBACK, get_settings
from tasks.env import get_catalog, transaction
from tasks.i18n import normalize_locale
from tasks.permissions import Target, permitted
from tasks.sign_in import SESSION_VALID_FOR, live_session

COOKIE = "jieli_hr"
COOKIE_PATH = "/hr"


def cookie_is_secure() -> bool:
    """Secure unless the public base URL is plain http on loopback (a browser would not send
    a Secure cookie back over http)."""
    url = urlsplit(get_settings().public_base_url)
    return not (url.scheme == "http" and url.hostname in LOOPBACK)


def set_session_cookie(response: Response, session_id: str) -> None:
    response.set_cookie(COOKIE, session_id, max_age=int(SESSION_VALID_FOR.total_seconds()),
                        path=COOKIE_PATH, secure=cookie_is_secure(), httponly=True,
                        samesite="lax")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=cookie_is_secure(), httponly=True,
                           samesite="lax")


def csrf_token(session_id: str) -> str:
    """The token a session's forms carry: only a page of this session can know it."""
    key = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(key, f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Staff:
    """A signed-in HR person or the boss, on one of HR's pages."""

    person: Visitor
    locale: str
    session_id: str
    csrf: str


def _admit(session_id: str, permission: str | None, locale: str, path: str,
           chosen: str | None = None) -> Staff:
    found = live_session(session_id)
    if found is None:
        with transaction() as session:
            repo.audit(session=session, actor="unknown", action="refused-session:ended",
                       object_type="area", object_id="hr", via="session", now=clock.now(),
                       detail={"path": path[:200]})
        raise Refused(401, "signed-out", locale)
    with transaction() as session:
        person = session.get_one(Person, found.person_id)
        visitor = Visitor(person.id, person.name, person.email, person.locale)
        ok = permission is None or permitted(
            session=session, catalog=get_catalog(), person=person, action=permission,
            target=Target("area", "hr", "hr"), via="session")
    locale = chosen or (normalize_locale(visitor.locale) if visitor.locale else locale)
    if not ok:
        raise LinkProblem(403, "forbidden", locale)
    return Staff(visitor, locale, session_id, csrf_token(session_id))


def staff(permission: str | None) -> Callable[[Request], Awaitable[Staff]]:
    """A dependency admitting a live session whose person may `permission` HR's area (None:
    any live session, e.g. to sign out). A POST must also carry the session's CSRF token.
    An ended, revoked, expired or unknown session is refused (401) and audited."""

    async def dependency(request: Request) -> Staff:
        locale = request_locale(request)
        session_id = request.cookies.get(COOKIE, "")
        if not session_id:
            raise Refused(401, "signed-out", locale)
        if request.method == "POST":
            form = await request.form()
            if not hmac.compare_digest(str(form.get("csrf") or ""), csrf_token(session_id)):
                raise Refused(403, "csrf", locale)
        return await run_in_threadpool(_admit, session_id, permission, locale,
                                       request.url.path, chosen_locale(request))

    return dependency


_sign_in_visit = visit("sign-in", "track", scope_object="hr")


async def sign_in_link(request: Request, t: str = Query("")) -> Visit:
    """The emailed sign-in link (15 minutes, once), refused with a page that offers a new one."""
    try:
        return await _sign_in_visit(request, t)
    except LinkProblem as exc:
        raise Refused(exc.status, "sign-in-link", exc.locale) from None
