"""Emails: built by pure functions from templates, queued in the outbox, sent with aiosmtplib.

A message is sent at most once: the sender claims it (status `sending`, committed, only if
it was still pending) just before talking to the SMTP server. A claim that a crash left
behind is never sent again on its own; it is marked failed with a note and shown by
`jieli outbox`.
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
from sqlalchemy import select, update

from storage import clock
from storage.models import OutboxMessage, OutboxStatus
from storage.settings import SmtpSettings, get_settings
from tasks.env import transaction
from tasks.i18n import jinja_env, normalize_locale

# Retry delays after a transient failure (connection refused, 4xx); then the message fails.
BACKOFF = [timedelta(seconds=s) for s in (5, 30, 120, 600, 1800, 3600, 3600, 3600)]
STALE_CLAIM = timedelta(minutes=10)


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    locale: str = "zh_CN"


def render(template: str, *, to: Recipient, **context: Any) -> EmailMessage:
    """An EmailMessage (text and HTML, UTF-8) from email/<template>.txt and .html."""
    locale = normalize_locale(to.locale)
    env = jinja_env(locale)
    ctx = {"lang": "en" if locale == "en" else "zh-CN", "name": to.name, **context}
    txt = env.get_template(f"email/{template}.txt")
    subject = "".join(txt.blocks["subject"](txt.new_context(ctx))).strip()
    body = "".join(txt.blocks["body"](txt.new_context(ctx))).strip() + "\n"
    html = env.get_template(f"email/{template}.html").render(ctx)

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = get_settings().smtp.sender
    message["To"] = Address(display_name=to.name, addr_spec=to.email)
    message["Date"] = format_datetime(clock.now())  # Jieli's clock: right in simulated time too
    message["Message-ID"] = make_msgid(domain="jieli")
    message.set_content(body, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


class PermanentSmtpError(Exception):
    pass


async def _deliver(raw: str, smtp: SmtpSettings) -> None:
    from email import message_from_string, policy

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


def _due(run_id: int | None, key: str | None, now: datetime) -> list[int]:
    """The messages due now; mark claims a crash left behind as failed (never resent)."""
    with transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENDING,
                   OutboxMessage.claimed_at < now - STALE_CLAIM)
            .values(status=OutboxStatus.FAILED,
                    last_error="interrupted while sending; it may or may not have arrived"))
        query = select(OutboxMessage.id).where(
            OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now,
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
            msg.status, msg.sent_at, msg.last_error = OutboxStatus.SENT, now, None
        elif isinstance(error, PermanentSmtpError) or msg.attempts > len(BACKOFF):
            msg.status, msg.last_error = OutboxStatus.FAILED, str(error) or type(error).__name__
        else:
            msg.status = OutboxStatus.PENDING
            msg.last_error = f"{type(error).__name__}: {error}"
            msg.next_attempt_at = now + BACKOFF[msg.attempts - 1]
        return msg.status


def send_pending_mail(run_id: int | None = None, key: str | None = None) -> dict[str, int]:
    """Send the outbox messages that are due (of one run, one key, or all); count outcomes."""
    smtp = get_settings().smtp
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for message_id in _due(run_id, key, clock.now()):
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
