"""HR and the boss sign in: a single-use emailed link, exchanged for a server-side session.

Department owners sign in the same way to their own pages (`area="dept"`, forms/department.py):
their link is bound to the department they own, and what they may do there is decided by the
permission matrix for each module, not by the session.

The link (15 minutes, one use) proves the mailbox; the session it opens lives in Jieli's
database (only a hash of its id is stored), so that it can be ended, revoked and shared by
every forms-app replica. Sign-in requests are rate-limited per address and per client in the
same database, and every address costs the same work, so the answer reveals nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage import clock, repo
from storage.catalog import Catalog
from storage.models import Person, RateEvent, StaffSession
from storage.settings import get_settings
from tasks.email import Recipient, render, send_pending_mail
from tasks.env import get_catalog, transaction
from tasks.links import make_link

SIGN_IN_VALID_FOR = timedelta(minutes=15)
SESSION_VALID_FOR = timedelta(hours=12)
SESSION_IDLE = timedelta(hours=2)
# Writing last-seen on every page view would make each read a write; a minute is precise enough.
LAST_SEEN_EVERY = timedelta(minutes=1)
RATE_WINDOW = timedelta(minutes=15)
PER_ADDRESS = 3  # sign-in emails asked for one address per window
PER_CLIENT = 10  # sign-in requests from one client address per window


class RateLimited(Exception):
    """Too many sign-in requests; `retry_after` is in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def staff_person(catalog: Catalog, email: str) -> tuple[str, str] | None:
    """(name, locale) when the address belongs to HR or the boss, else None."""
    email = email.strip().lower()
    people = [catalog.boss] + [p for p in (catalog.hr().owner, catalog.hr().manager)]
    found = next((p for p in people if p.email.lower() == email), None)
    return (found.name, found.locale) if found else None


def owned_department(catalog: Catalog, email: str) -> str | None:
    """The code of the first department whose materials the address owns, else None."""
    email = email.strip().lower()
    return next((d.code for d in catalog.departments.values()
                 if d.owner.email.lower() == email), None)


@dataclass(frozen=True)
class Area:
    """Where a sign-in link leads: HR's pages, or a department owner's."""

    path: str  # of the link; {object} is what the link is bound to
    action: str  # the link's action, admitted by forms/links.py
    kind: str  # the outbox kind
    template: str


AREAS = {"hr": Area("/hr/sign-in/confirm", "sign-in", "hr-sign-in", "hr_sign_in"),
         "dept": Area("/dept/sign-in/{object}/confirm", "dept-sign-in", "dept-sign-in",
                      "dept_sign_in")}


def signs_in(catalog: Catalog, email: str, area: str) -> str | None:
    """What a sign-in link to `area` is bound to for this address (`hr`, or the department
    it owns), or None when the address does not sign in there."""
    if area == "dept":
        return owned_department(catalog, email)
    return "hr" if staff_person(catalog, email) else None


def _keyed(value: str) -> str:
    """A keyed hash: rate buckets name no address (a stranger's email is not ours to keep)."""
    key = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:40]


def _admit(session: Session, buckets: list[tuple[str, int]], now: datetime) -> None:
    """Record one request in each bucket, or raise RateLimited if any bucket is full."""
    since = now - RATE_WINDOW
    session.execute(delete(RateEvent).where(RateEvent.at < since))
    for bucket, limit in buckets:
        count, oldest = session.execute(
            select(func.count(), func.min(RateEvent.at))
            .where(RateEvent.bucket == bucket, RateEvent.at >= since)).one()
        if count >= limit:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
            raise RateLimited(max(1, int((oldest + RATE_WINDOW - now).total_seconds()) + 1))
    session.add_all(RateEvent(bucket=bucket, at=now) for bucket, _ in buckets)


def request_sign_in(email: str, *, client: str, area: str = "hr") -> str:
    """Queue a sign-in email when the address signs in to `area` (hr: HR's or the boss's;
    dept: a department owner's), and return the outbox key to send after answering; for
    anyone else queue nothing after the same work.

    RateLimited when the address or the client asked too often (both areas together).
    """
    catalog = get_catalog()
    now = clock.now()
    address = email.strip().lower()
    where = AREAS[area]
    key = f"{where.kind}:{secrets.token_hex(8)}"
    bound = signs_in(catalog, address, area)
    with transaction() as session:
        _admit(session, [(f"sign-in:client:{_keyed(client)}", PER_CLIENT),
                         (f"sign-in:address:{_keyed(address)}", PER_ADDRESS)], now)
        person = repo.person_by_email(session=session, email=address) if bound else None
        # A stranger's request renders the same email to nobody, so that both answers cost the
        # same (a faster "no" would tell who works here).
        to = Recipient(person.name, person.email, person.locale) if person else \
            Recipient("-", "nobody@invalid", get_settings().default_locale)
        link = make_link(path=where.path.format(object=bound or "hr"), action=where.action,
                         person_id=person.id if person else 0, object_id=bound or "hr",
                         valid_for=SIGN_IN_VALID_FOR)
        message = render(where.template, to=to, link=link,
                         minutes=int(SIGN_IN_VALID_FOR.total_seconds() // 60))
        if person is not None:
            repo.queue_message(session=session, key=key, run_id=None, kind=where.kind,
                               message=message, now=now)
    return key


def send_sign_in(key: str) -> None:
    """Send a queued sign-in email (after the answer); if SMTP is down the sweep retries it."""
    send_pending_mail(key=key)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(*, link: repo.LinkUse) -> str:
    """Spend the sign-in link and open a session for its person, in one transaction; return
    the session id for the cookie. LinkAlreadyUsed when the link was spent before."""
    session_id = secrets.token_urlsafe(32)
    now = clock.now()
    with transaction() as session:
        repo.spend_link(session=session, link=link, now=now)
        person = session.get_one(Person, link.person_id)
        row = StaffSession(id_hash=_hash(session_id), person_id=person.id, created_at=now,
                           expires_at=now + SESSION_VALID_FOR, last_seen_at=now)
        session.add(row)
        session.flush()
        repo.audit(session=session, actor=person.email, action="signed-in",
                   object_type="session", object_id=str(row.id), via="link", now=now)
    return session_id


@dataclass(frozen=True)
class LiveSession:
    id: int
    person_id: int


def live_session(session_id: str) -> LiveSession | None:
    """The session behind a cookie, if it is neither ended, revoked, expired nor idle too
    long; its last-seen time is brought up to date."""
    now = clock.now()
    with transaction() as session:
        row = session.scalar(select(StaffSession).where(
            StaffSession.id_hash == _hash(session_id)))
        if (row is None or row.revoked_at is not None or now >= row.expires_at
                or now >= row.last_seen_at + SESSION_IDLE):
            return None
        if now >= row.last_seen_at + LAST_SEEN_EVERY:
            row.last_seen_at = now
        return LiveSession(row.id, row.person_id)


def end_session(session_id: str) -> None:
    """Sign out: the session behind this cookie ends now."""
    now = clock.now()
    with transaction() as session:
        row = session.scalar(select(StaffSession).where(
            StaffSession.id_hash == _hash(session_id)))
        if row is None or row.revoked_at is not None:
            return
        row.revoked_at = now
        person = session.get_one(Person, row.person_id)
        repo.audit(session=session, actor=person.email, action="signed-out",
                   object_type="session", object_id=str(row.id), via="link", now=now)


def revoke_sessions(email: str, *, by: str, via: str = "cli") -> int:
    """End every live session of an address (a lost laptop, a person who left); audited.
    Returns how many were live."""
    now = clock.now()
    with transaction() as session:
        person = repo.person_by_email(session=session, email=email)
        if person is None:
            raise LookupError(f"no person with the address {email!r}")
        live = list(session.scalars(select(StaffSession).where(
            StaffSession.person_id == person.id, StaffSession.revoked_at.is_(None),
            StaffSession.expires_at > now)))
        for row in live:
            row.revoked_at = now
        repo.audit(session=session, actor=by, action="revoked-sessions", object_type="person",
                   object_id=str(person.id), via=via, now=now, detail={"sessions": len(live)})
    return len(live)
