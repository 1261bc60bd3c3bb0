"""How much mail owners get: one hand-off request per owner per pass, reminders at most every
two working days, every email dated by Jieli's clock. Real SQLite storage, a real SMTP server
(aiosmtpd), virtual time; Prefect is out of reach (runs are resumed later, as in the forms)."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from deployments.simulate import Mailbox
from deployments.stack import free_port
from storage import clock
from storage.db import get_engine
from storage.settings import SmtpSettings, get_settings
from tasks.dates import is_working_day, working_days_between
from tasks.env import get_catalog
from tests.installation import installed, settings_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARKETING_OWNER, HR_OWNER, TECH_OWNER = ("li.na@example.com", "liu.fang@example.com",
                                         "wang.lei@example.com")


@dataclass
class Office:
    inbox: Mailbox
    clock: clock.VirtualClock

    def at(self, day: date, hour: int = 9, minute: int = 0) -> None:
        self.clock.set(datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI))

    def hire(self, name: str, address: str, position: str = "marketing-specialist",
             start: date = date(2026, 12, 1)) -> int:
        """HR starts a run and its first pass asks the owners; the mail goes out."""
        from tasks.handoff import open_handoff_gates
        from tasks.runs import start_onboarding

        run_id = start_onboarding(name=name, email=address, position=position,
                                  start=start, by_email="liu.fang@example.com",
                                  via="cli").run_id
        open_handoff_gates.fn(run_id)
        self.send()
        return run_id

    def send(self) -> None:
        from tasks.email import send_pending_mail

        counts = send_pending_mail()
        assert counts["retry"] == counts["failed"] == 0, counts

    def sweep(self) -> None:
        from tasks.reminders import send_due_reminders

        send_due_reminders()
        self.send()

    def sql(self, query: str, **params: Any) -> list[tuple]:
        with get_engine(get_settings().storage_url).connect() as c:
            return [tuple(r) for r in c.execute(text(query), params)]


@pytest.fixture
def office(tmp_path) -> Iterator[Office]:
    inbox, port = Mailbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    virtual = clock.VirtualClock(datetime(2026, 12, 1, 9, tzinfo=SHANGHAI))
    clock.use_clock(virtual)
    from deployments.cli import prepare_storage

    try:
        with installed(settings_for(tmp_path, smtp=SmtpSettings(port=port))):
            prepare_storage()
            yield Office(inbox, virtual)
    finally:
        clock.use_clock(clock.SystemClock())
        smtp.stop()


def _modules_of(position: str, department: str) -> list[str]:
    catalog = get_catalog()
    return [code for code in catalog.positions[position].modules
            if catalog.modules[code].owner == department]


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_two_hires_a_minute_apart_get_one_handoff_email_per_owner(office: Office):
    office.at(date(2026, 12, 1), 9, 0)
    first = office.hire("张伟", "zhang.wei@example.com")
    office.at(date(2026, 12, 1), 9, 1)
    second = office.hire("赵敏", "zhao.min@example.com")

    marketing = _modules_of("marketing-specialist", "marketing")
    assert len(marketing) >= 2 and _modules_of("marketing-specialist", "hr")
    for owner, dept in ((MARKETING_OWNER, "marketing"), (HR_OWNER, "hr")):
        (message,) = office.inbox.to(owner)  # one email for both hires and all modules
        body = _text(message)
        assert "张伟" in str(message["Subject"]) and "12月3日（周四）" in body
        for code in _modules_of("marketing-specialist", dept):
            title = get_catalog().modules[code].title.get("zh_CN")
            assert f"「{title}」" in body and f"/handoff/{code}?t=" in body
    # The second hire waits on the same modules: the owner sees them on the hand-off page.
    from tasks.handoff import waiting_hires

    assert [h["name"] for h in waiting_hires(marketing[0], "zh_CN")] == ["张伟", "赵敏"]
    assert office.sql("select count(*) from audit_log where action = 'handoff-request-folded'"
                      " and detail like :r", r=f'%"run": {second}%') == [(2,)]

    # A repeated pass of either run sends nothing again.
    from tasks.handoff import open_handoff_gates

    before = office.sql("select count(*) from outbox")
    for run_id in (first, second, first):
        open_handoff_gates.fn(run_id)
    office.send()
    assert office.sql("select count(*) from outbox") == before
    assert len(office.inbox.messages) == 2


def test_a_request_folds_only_into_a_recent_email_for_every_module(office: Office):
    def asked() -> tuple[int, int, int]:
        return tuple(len(office.inbox.to(o))  # type: ignore[return-value]
                     for o in (HR_OWNER, MARKETING_OWNER, TECH_OWNER))

    office.at(date(2026, 12, 4))  # Friday
    office.hire("陈杰", "chen.jie@example.com", position="python-developer")
    assert asked() == (1, 0, 1)
    office.at(date(2026, 12, 7))  # Monday: nobody was asked for etiquette yet
    office.hire("张伟", "zhang.wei@example.com")
    assert asked() == (2, 1, 1)
    (monday,) = office.inbox.to(HR_OWNER)[1:]
    assert all(f"「{t}」" in _text(monday) for t in ("企业文化", "规章制度", "职场礼仪"))
    office.hire("周一", "zhou.yi@example.com", position="python-developer")
    assert asked() == (2, 1, 1)  # every module asked for on Friday or today
    office.at(date(2026, 12, 8))  # Tuesday: safety and Python were last asked on Friday
    office.hire("吴二", "wu.er@example.com", position="python-developer")
    assert asked() == (3, 1, 2)
    assert "吴二" in str(office.inbox.to(TECH_OWNER)[-1]["Subject"])
    office.hire("赵敏", "zhao.min@example.com")  # Monday's requests cover all of hers
    assert asked() == (3, 1, 2)


def test_an_owner_is_reminded_every_two_working_days_in_one_email_for_every_leg(
        office: Office):
    office.at(date(2026, 12, 2))  # a Wednesday: the hand-offs are due on Friday
    office.hire("张伟", "zhang.wei@example.com")
    office.at(date(2026, 12, 3))
    office.hire("赵敏", "zhao.min@example.com")  # due on Monday; folded into Wednesday's
    requests = len(office.inbox.to(MARKETING_OWNER))
    assert requests == 1

    day = date(2026, 12, 2)
    while day <= date(2026, 12, 22):
        for hour in (9, 15):  # the sweep runs all day; twice a day shows it holds back
            office.at(day, hour)
            office.sweep()
        day += timedelta(days=1)

    reminders = office.inbox.to(MARKETING_OWNER)[requests:]
    days = [parsedate_to_datetime(m["Date"]).astimezone(SHANGHAI).date() for m in reminders]
    assert days == [date(2026, 12, d) for d in (7, 9, 11, 15, 17, 21)]
    assert all(is_working_day(d) for d in days)  # never on a Saturday or Sunday
    assert all(working_days_between(a, b) == 2 for a, b in zip(days, days[1:], strict=False))

    marketing = _modules_of("marketing-specialist", "marketing")
    first = _text(reminders[0])
    for code in marketing:  # one email lists every module and both hires
        title = get_catalog().modules[code].title.get("zh_CN")
        assert f"「{title}」的资料" in first and f"/handoff/{code}?t=" in first
    assert first.count("张伟：") == first.count("赵敏：") == len(marketing)
    assert "已逾期 3 天" in first  # Friday's due day, told on Monday
    # Each overdue leg is still recorded per gate: the evidence of who was told, when. The
    # second hire's hand-offs, due on Monday, are listed on Monday but overdue from Tuesday.
    rows = office.sql("select count(*), count(distinct gate_id) from reminders "
                      "where to_email = :e and kind = 'reminder'", e=MARKETING_OWNER)
    assert rows == [((len(days) * 2 - 1) * len(marketing), 2 * len(marketing))]
    # Escalations go once per gate: to the manager and the boss on the day each hire's
    # hand-off is two working days late (Tuesday for the first, due on Friday; Wednesday for
    # the second, due on Monday).
    for boss_or_manager in ("zhou.qiang@example.com", "boss@example.com"):
        told = office.inbox.to(boss_or_manager)
        assert [parsedate_to_datetime(m["Date"]).astimezone(SHANGHAI).date()
                for m in told] == [date(2026, 12, 8), date(2026, 12, 9)]
        assert "李娜" in _text(told[0]) and "张伟" in _text(told[0])
    assert office.sql("select count(*) from (select gate_id, to_email from reminders "
                      "where kind = 'escalation' group by 1, 2 having count(*) > 1) t") == [(0,)]


def test_every_email_has_a_date_from_jielis_clock_and_a_message_id(office: Office):
    office.at(date(2026, 12, 2), 10, 30)
    office.hire("张伟", "zhang.wei@example.com")
    office.at(date(2026, 12, 7), 9)
    office.sweep()
    sent = office.sql("select message from outbox order by id")
    assert len(sent) >= 3
    ids = set()
    for (raw,) in sent:
        message = email.message_from_string(raw, policy=default)
        when = parsedate_to_datetime(message["Date"]).astimezone(SHANGHAI)
        assert when.date() in (date(2026, 12, 2), date(2026, 12, 7))  # virtual, not today
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(message["Message-ID"]))
        ids.add(str(message["Message-ID"]))
    assert len(ids) == len(sent)


def test_no_reminder_nor_escalation_goes_out_during_national_day(office: Office):
    """The State Council's 2026 holidays: 1-7 October off, Saturday 10 October worked."""
    day = date(2026, 9, 28)
    while day <= date(2026, 10, 14):
        if day == date(2026, 9, 28):  # Monday: due on Wednesday 30 September
            office.at(day, 9)
            office.hire("赵敏", "zhao.min@example.com", position="python-developer", start=day)
            assert "9月30日（周三）" in _text(office.inbox.to(TECH_OWNER)[0])
        if day == date(2026, 9, 30):  # Wednesday: due two working days after, after the holiday
            office.at(day, 9)
            office.hire("张伟", "zhang.wei@example.com", start=day)
            assert "10月9日（周五）" in _text(office.inbox.to(MARKETING_OWNER)[0])
        office.at(day, 10)
        office.sweep()
        day += timedelta(days=1)

    def days_told(address: str) -> list[date]:
        return [parsedate_to_datetime(m["Date"]).astimezone(SHANGHAI).date()
                for m in office.inbox.to(address)]

    holiday = [date(2026, 10, d) for d in range(1, 8)]
    assert not [m for _, m in office.inbox.messages
                if parsedate_to_datetime(m["Date"]).astimezone(SHANGHAI).date() in holiday]
    # Technology's hand-off, due on 30 September: reminded on the first working day after the
    # holiday, then every two working days (the make-up Saturday counts, Sunday does not).
    assert days_told(TECH_OWNER)[1:] == [date(2026, 10, 8), date(2026, 10, 10),
                                         date(2026, 10, 13)]
    # Escalated to technology's manager once two working days late: 9 October, not 2 October.
    assert days_told("emily.chen@example.com") == [date(2026, 10, 9)]
    # Marketing's hand-off, due on 9 October: reminded on the make-up Saturday, then Tuesday;
    # escalated on Monday 12 October, two working days late.
    assert days_told(MARKETING_OWNER)[1:] == [date(2026, 10, 10), date(2026, 10, 13)]
    assert days_told("zhou.qiang@example.com") == [date(2026, 10, 12)]
    assert days_told("boss@example.com") == [date(2026, 10, 9), date(2026, 10, 12)]
