"""Emails: built by pure functions from templates, queued in the outbox, sent with aiosmtplib.

A message is never sent twice at once: the sender claims it (status `sending`, committed, only
if it was still pending) just before talking to the SMTP server. A claim that a crash left
behind may or may not have reached the server, so it is sent again (at most MAX_RESENDS
times) as the very message stored, with the same Message-ID: a receiver that got the first
copy drops the second by it. `jieli outbox` shows the resends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import aiosmtplib
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlalchemy import select, true, update

from storage import clock
from storage.models import OutboxMessage, OutboxStatus
from storage.settings import SmtpSettings, get_settings
from tasks.env import transaction
from tasks.i18n import html_lang, jinja_env, normalize_locale

# Retry delays after a transient failure (connection refused, 4xx); then the message fails.
BACKOFF = [timedelta(seconds=s) for s in (5, 30, 120, 600, 1800, 3600, 3600, 3600)]
STALE_CLAIM = timedelta(minutes=10)
# How often an interrupted send is taken up again before the message is marked failed.
MAX_RESENDS = 3
RESENT_NOTE = "interrupted while sending; sent again with the same Message-ID"


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    locale: str = "zh_CN"


def render(template: str, *, to: Recipient, **context: Any) -> EmailMessage:
    """An EmailMessage (text and HTML, UTF-8) from email/<template>.txt and .html."""
    locale = normalize_locale(to.locale)
    env = jinja_env(locale)
    ctx = {"lang": html_lang(locale), "name": to.name, **context}
    txt = env.get_template(f"email/{template}.txt")
    subject = "".join(txt.blocks["subject"](txt.new_context(ctx))).strip()
    body = "".join(txt.blocks["body"](txt.new_context(ctx))).strip() + "\n"
    html = env.get_template(f"email/{template}.html").render(ctx)

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = get_settings().smtp.sender
    message["To"] = recipient_address(to)
    message["Date"] = format_datetime(clock.now())  # Jieli's clock: right in simulated time too
    message["Message-ID"] = make_msgid(domain="jieli")
    message.set_content(body, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def recipient_address(to: Recipient) -> Address:
    """The To address with the person's name, when the name survives the trip to the server.

    Python's header folding mangles a few display names (those that look like RFC 2047
    encoded words, `=?...?=`, among quotes and brackets): parsed back for sending, the
    envelope recipient would be another string, or the message would not build at all. So the
    header is built, stored, re-parsed and flattened as the sender does, and a name that does
    not come back intact with this very address is left out of the header (the greeting in
    the body still names the person): the message must go to exactly this address.
    """
    from email import message_from_string, policy
    from email.errors import MessageError

    named = Address(display_name=to.name, addr_spec=to.email)
    probe = EmailMessage()
    try:
        probe["To"] = named
        parsed = message_from_string(probe.as_string(), policy=policy.SMTP)
        flat = aiosmtplib.email.flatten_message(parsed)
        header = message_from_string(flat.decode("utf-8"), policy=policy.default)["To"]
        back = [(a.display_name, a.addr_spec) for a in header.addresses]
    except (ValueError, LookupError, MessageError, AttributeError):
        back = []
    if back == [(to.name, to.email)]:
        return named
    return Address(addr_spec=to.email)


class PermanentSmtpError(Exception):
    pass


async def _deliver(raw: str, smtp: SmtpSettings) -> None:
    from email import message_from_string, policy
    from email.errors import MessageError

    message = message_from_string(raw, policy=policy.SMTP)
    try:
        await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.user,
            password=smtp.password.get_secret_value() if smtp.password else None,
            start_tls=smtp.tls or None,
            timeout=smtp.timeout_seconds,
        )
    except aiosmtplib.SMTPResponseException as exc:
        if 500 <= exc.code < 600:
            raise PermanentSmtpError(f"{exc.code} {exc.message}") from exc
        raise
    except (ValueError, LookupError, MessageError) as exc:
        # The stored message cannot be turned into an SMTP transaction (no recipient, a
        # header that does not parse): retrying cannot help, and escaping here would leave
        # the claim stuck in `sending`.
        raise PermanentSmtpError(f"unsendable message: {type(exc).__name__}: {exc}") from exc


def _due(run_id: int | None, key: str | None, now: datetime,
         retries_too: bool = False) -> list[int]:
    """The messages due now (`retries_too`: every one waiting, its next try due or not), with
    the claims a crash left behind taken up again."""
    stale = (OutboxMessage.status == OutboxStatus.SENDING,
             OutboxMessage.claimed_at < now - STALE_CLAIM)
    with transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(*stale, OutboxMessage.resends >= MAX_RESENDS)
            .values(status=OutboxStatus.FAILED,
                    last_error=f"interrupted while sending {MAX_RESENDS + 1} times; "
                               "it may or may not have arrived"))
        # The stored message keeps its Message-ID, so a copy that did arrive is dropped.
        session.execute(
            update(OutboxMessage)
            .where(*stale, OutboxMessage.resends < MAX_RESENDS)
            .values(status=OutboxStatus.PENDING, resends=OutboxMessage.resends + 1,
                    next_attempt_at=now, last_error=RESENT_NOTE))
        query = select(OutboxMessage.id).where(
            OutboxMessage.status == OutboxStatus.PENDING,
            true() if retries_too else OutboxMessage.next_attempt_at <= now,
        ).order_by(OutboxMessage.id)
        if run_id is not None:
            query = query.where(OutboxMessage.run_id == run_id)
        if key is not None:
            query = query.where(OutboxMessage.key == key)
        return list(session.scalars(query))


def _claim(message_id: int, now: datetime) -> str | None:
    """Claim one message just before sending it; None when another sender has it."""
    with transaction() as session:
        # The status condition makes the claim atomic on every backend: of two senders,
        # exactly one updates the row.
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENDING, claimed_at=now))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return session.get_one(OutboxMessage, message_id).message


def _finish(message_id: int, error: Exception | None) -> str:
    now = clock.now()
    with transaction() as session:
        msg = session.get_one(OutboxMessage, message_id)
        msg.attempts += 1
        if error is None:
            msg.status, msg.sent_at = OutboxStatus.SENT, now
            msg.last_error = RESENT_NOTE if msg.resends else None
        elif isinstance(error, PermanentSmtpError) or msg.attempts > len(BACKOFF):
            msg.status, msg.last_error = OutboxStatus.FAILED, str(error) or type(error).__name__
        else:
            msg.status = OutboxStatus.PENDING
            msg.last_error = f"{type(error).__name__}: {error}"
            msg.next_attempt_at = now + BACKOFF[msg.attempts - 1]
        return msg.status


def send_pending_mail(run_id: int | None = None, key: str | None = None,
                      retries_too: bool = False) -> dict[str, int]:
    """Send the outbox messages that are due (of one run, one key, or all); count outcomes.
    `retries_too` sends the ones waiting for a later try as well: the mail server is back
    (`jieli outbox --send`), there is no reason to wait for the backoff."""
    smtp = get_settings().smtp
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for message_id in _due(run_id, key, clock.now(), retries_too):
        raw = _claim(message_id, clock.now())
        if raw is None:
            continue
        error: Exception | None = None
        try:
            run_coro_as_sync(_deliver(raw, smtp))
        except (OSError, aiosmtplib.SMTPException, PermanentSmtpError) as exc:
            error = exc
        status = _finish(message_id, error)
        counts["sent" if status == OutboxStatus.SENT
               else "failed" if status == OutboxStatus.FAILED else "retry"] += 1
    return counts


@task(cache_policy=NO_CACHE)
def send_run_mail(run_id: int) -> dict[str, int]:
    """Send what this run queued; what cannot go now stays queued for the sweep."""
    counts = send_pending_mail(run_id)
    if counts["retry"] or counts["failed"]:
        get_run_logger().warning("mail not sent for run %s: %s", run_id, counts)
    return counts
