"""Mail is never lost, nor sent elsewhere: a send interrupted by a crash (a claim left
stale) is sent again, with the same Message-ID so that a receiver holding the first copy
drops the second, a bounded number of times; a hire's name cannot change the recipient.
A real SMTP server (aiosmtpd) receives; Jieli's clock moves time on.
"""

from __future__ import annotations

import email
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlalchemy import select
from typer.testing import CliRunner

from deployments.stack import free_port
from storage import clock, repo
from storage.models import OutboxMessage
from storage.settings import SmtpSettings, get_settings
from tasks.env import transaction
from tests.installation import installed, settings_for


@dataclass
class Mail:
    maildir: Path
    clock: clock.VirtualClock

    def received(self, to: str) -> list[EmailMessage]:
        box = mailbox.Maildir(self.maildir, create=True)
        return [m for m in (email.message_from_bytes(box.get_bytes(k), policy=default)
                            for k in box.iterkeys()) if to in str(m["To"])]

    def queue(self, to: str, key: str) -> tuple[int, str]:
        """A retest email queued in the outbox; its row id and Message-ID."""
        from tasks.email import Recipient, render

        message = render("retest", to=Recipient("张伟", to), module="企业文化", score=70,
                         pass_mark=80, attempts_left=2, link="http://x/s?t=1")
        with transaction() as session:
            repo.queue_message(session=session, key=key, run_id=None, kind="retest",
                               message=message, now=clock.now())
            row = session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()
            return row.id, str(message["Message-ID"])

    def row(self, message_id: int) -> OutboxMessage:
        with transaction() as session:
            row = session.get_one(OutboxMessage, message_id)
            session.expunge(row)
            return row


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[Mail]:
    from deployments.cli import prepare_storage

    port = free_port()
    server = Controller(Mailbox(tmp_path / "mail"), hostname="127.0.0.1", port=port)
    server.start()
    virtual = clock.VirtualClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    clock.use_clock(virtual)
    try:
        with installed(settings_for(tmp_path, smtp=SmtpSettings(port=port))):
            prepare_storage()
            yield Mail(tmp_path / "mail", virtual)
    finally:
        clock.use_clock(clock.SystemClock())
        server.stop()


def crash_while_sending(message_id: int, *, reached_server: bool) -> None:
    """What a sender does before it dies: claim the message, perhaps hand it to the server,
    and never record the outcome."""
    from tasks.email import _claim, _deliver

    raw = _claim(message_id, clock.now())
    assert raw is not None
    if reached_server:
        run_coro_as_sync(_deliver(raw, get_settings().smtp))


def test_a_message_interrupted_before_the_server_got_it_is_sent_later(mail: Mail):
    from tasks.email import send_pending_mail

    message_id, msgid = mail.queue("lost@example.com", "retest:lost")
    crash_while_sending(message_id, reached_server=False)
    assert send_pending_mail() == {"sent": 0, "retry": 0, "failed": 0}  # a live claim waits

    mail.clock.advance(timedelta(minutes=11))
    assert send_pending_mail()["sent"] == 1
    (received,) = mail.received("lost@example.com")
    assert received["Message-ID"] == msgid
    row = mail.row(message_id)
    assert (row.status, row.resends) == ("sent", 1)


def test_a_message_interrupted_after_the_server_got_it_is_resent_with_its_message_id(
        mail: Mail):
    from deployments.cli import app
    from tasks.email import send_pending_mail

    message_id, msgid = mail.queue("twice@example.com", "retest:twice")
    crash_while_sending(message_id, reached_server=True)
    mail.clock.advance(timedelta(minutes=11))
    assert send_pending_mail()["sent"] == 1

    copies = mail.received("twice@example.com")
    assert len(copies) == 2  # a receiver drops the second by its Message-ID
    assert {str(m["Message-ID"]) for m in copies} == {msgid}
    assert copies[0].get_body(("plain",)).get_content() == \
        copies[1].get_body(("plain",)).get_content()

    shown = CliRunner().invoke(app, ["--as", "liu.fang@example.com", "outbox", "--all"],
                               env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if "twice@example.com" in line)
    assert "×1" in row and "sent" in row and "same Message-ID" in row


def test_a_message_interrupted_again_and_again_fails_after_a_bounded_number_of_resends(
        mail: Mail):
    from tasks.email import MAX_RESENDS, _due, send_pending_mail

    message_id, _ = mail.queue("cursed@example.com", "retest:cursed")
    for resend in range(1, MAX_RESENDS + 1):
        crash_while_sending(message_id, reached_server=True)
        mail.clock.advance(timedelta(minutes=11))
        assert _due(None, None, clock.now()) == [message_id]  # taken up again
        assert mail.row(message_id).resends == resend

    crash_while_sending(message_id, reached_server=True)
    mail.clock.advance(timedelta(minutes=11))
    assert send_pending_mail() == {"sent": 0, "retry": 0, "failed": 0}
    row = mail.row(message_id)
    assert row.status == "failed" and "interrupted while sending" in (row.last_error or "")
    assert len(mail.received("cursed@example.com")) == MAX_RESENDS + 1


def test_a_name_that_looks_like_an_encoded_word_cannot_redirect_the_hires_email(mail: Mail):
    from tasks.email import Recipient, render, send_pending_mail

    # Folded and parsed back by the email package, this display name used to become the
    # envelope recipient: the hire's personal study link went to boss@example.com.
    name = "张伟 =?utf-8?q?<boss@example.com>?="
    message = render("retest", to=Recipient(name, "hire@example.com"), module="企业文化",
                     score=70, pass_mark=80, attempts_left=2, link="http://x/s?t=1")
    with transaction() as session:
        repo.queue_message(session=session, key="retest:encoded", run_id=None, kind="retest",
                           message=message, now=clock.now())
    assert send_pending_mail() == {"sent": 1, "retry": 0, "failed": 0}
    box = mailbox.Maildir(mail.maildir, create=True)
    (received,) = [email.message_from_bytes(box.get_bytes(k), policy=default)
                   for k in box.iterkeys()]
    assert str(received["X-RcptTo"]) == "hire@example.com"  # the envelope, as the server saw it
    assert [a.addr_spec for a in received["To"].addresses] == ["hire@example.com"]
    assert name in received.get_body(("plain",)).get_content()  # still greeted by name
