"""The practice legs from the emailed links (issue 10): the owner department records coaching
sessions and the hire confirms or disputes each; the hire hands in the assignment, the
department grades it, below the mark the hire hands in again. A disputed session, a refused
grade and a hand-in after the appraisal each get a page that says so and change nothing else.

Real SQLite storage, the forms app in-process, a real SMTP server (aiosmtpd) whose received
messages give the links that are followed; Prefect is out of reach (runs are resumed later).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlencode

import pytest
from aiosmtpd.controller import Controller
from httpx import Response

from deployments.simulate import Mailbox
from deployments.stack import free_port
from storage import clock
from tasks.dates import local_date
from tasks.i18n import gettext
from tasks.labels import names
from tests.forms.conftest import Forms
from tests.installation import Configure

OWNER = "wang.lei@example.com"  # technology's owner: coaches and grades Python basics
MANAGER = "emily.chen@example.com"  # technology's manager: appraises python developers
HIRE = "zhang.wei@example.com"
MARKETING_OWNER = "li.na@example.com"  # another department's owner
MODULE = "python-basics"
TITLE = "Python基础"
LINK = re.compile(r"https?://[^/\s]+(/\S+)")


@dataclass
class Practice:
    """One python developer's run with Python basics assigned, and the mail it received."""

    forms: Forms
    inbox: Mailbox
    run_id: int

    @property
    def key(self) -> str:
        return f"{self.run_id}.{MODULE}"

    def send(self) -> None:
        from tasks.email import send_pending_mail

        counts = send_pending_mail()
        assert counts["retry"] == counts["failed"] == 0, counts

    def mail(self, to: str, path: str) -> tuple[EmailMessage, str]:
        """The newest message to `to` with a link under `path`, and that link (path and
        query, to follow on the app)."""
        self.send()
        for message in reversed(self.inbox.to(to)):
            body = message.get_body(("plain",))
            assert body is not None
            found = [m.group(1) for m in LINK.finditer(body.get_content())
                     if m.group(1).startswith(path)]
            if found:
                return message, found[-1]
        raise AssertionError(f"no email to {to} with a link under {path}: "
                             f"{[str(m['Subject']) for m in self.inbox.to(to)]}")

    def counts(self) -> dict[str, int]:
        return {**self.forms.counts(),
                **{t: self.forms.sql(f"select count(*) from {t}")[0][0]
                   for t in ("coaching_sessions", "submissions", "gates")}}

    def changed_only(self, before: dict[str, int], **by: int) -> None:
        """Assert the row counts moved by `by` and nothing else."""
        assert self.counts() == {k: v + by.get(k, 0) for k, v in before.items()}

    def gate(self, kind: str) -> tuple[str, bool] | None:
        """The practice gate of this kind: who it waits on, and whether it is still open."""
        rows = self.forms.sql("select waiting_on, closed_at is null from gates where run_id = :r"
                              " and kind = :k and subject = :m", r=self.run_id, k=kind, m=MODULE)
        return (rows[0][0], bool(rows[0][1])) if rows else None

    def graded(self) -> list[tuple]:
        return self.forms.sql("select number, graded_at is not null, passed from submissions "
                              "order by number")

    def audit(self, n: int) -> list[str]:
        return [a for (a,) in self.forms.sql(
            "select action from audit_log order by id desc limit :n", n=n)]


@contextmanager
def practice_on(forms: Forms, configure: Configure) -> Iterator[Practice]:
    """Python basics handed off by technology and assigned to the hire; its practice legs
    opened (as a pass of the run opens them), their emails going to a real SMTP server."""
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules
    from tasks.practice import open_practice_legs

    inbox, port = Mailbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    configure(smtp_port=port)
    try:
        run_id = forms.start_run(position="python-developer")
        deliver_materials(module_code=MODULE, by_email=OWNER, via="cli")
        assert assign_ready_modules.fn(run_id) == [MODULE]
        assert open_practice_legs.fn(run_id) == [MODULE]
        yield Practice(forms, inbox, run_id)
    finally:
        smtp.stop()


@pytest.fixture
def practice(forms: Forms, configure: Configure) -> Iterator[Practice]:
    with practice_on(forms, configure) as p:
        yield p


def said(msgid: str, **values: object) -> str:
    """What a page in Chinese says for this sentence of the catalog (translated or not yet)."""
    return gettext("zh_CN", msgid) % values


def post_fields(p: Practice, url: str, fields: list[tuple[str, str]]) -> Response:
    """POST form fields as given, repeats included (a dict could not repeat a field)."""
    return p.forms.client.post(url, content=urlencode(fields), headers={
        "Content-Type": "application/x-www-form-urlencoded"})


def today() -> str:
    return local_date(clock.now()).isoformat()


def session(minutes: str = "60", topic: str = "调试与单元测试", held_on: str | None = None,
            notes: str = "") -> dict[str, str]:
    return {"held_on": held_on or today(), "minutes": minutes, "topic": topic, "notes": notes}


def record(p: Practice, coaching: str, **typed: str) -> str:
    """The owner records a session; the link of the hire's email asking about it."""
    answer = p.forms.client.post(coaching, data=session(**typed))
    assert answer.status_code == 200, answer.text
    return p.mail(HIRE, "/coaching/sessions/")[1]


def test_a_disputed_session_does_not_count_and_a_confirmed_one_does(practice: Practice):
    p = practice
    request, coaching = p.mail(OWNER, f"/coaching/{p.key}?t=")
    assert "张伟" in str(request["Subject"]) and TITLE in str(request["Subject"])
    form = p.forms.client.get(coaching)
    assert form.status_code == 200 and "张伟" in form.text and TITLE in form.text
    assert p.gate("coaching") == ("technology", True)

    answer = p.forms.client.post(coaching, data=session(notes="pytest 入门"))
    assert answer.status_code == 200 and 'role="status"' in answer.text
    assert p.forms.sql("select minutes, topic, notes, answer from coaching_sessions") == [
        (60, "调试与单元测试", "pytest 入门", "pending")]
    asked, link = p.mail(HIRE, "/coaching/sessions/")
    assert "60" in asked.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    question = p.forms.client.get(link)
    assert question.status_code == 200 and "调试与单元测试" in question.text
    assert 'value="disputed"' in question.text and 'value="confirmed"' in question.text

    before, received = p.counts(), len(p.inbox.messages)
    disputed = p.forms.client.post(link, data={"answer": "disputed", "comment": "那天我请假了"})
    assert disputed.status_code == 200
    assert said("It does not count as coaching given in «%(module)s», and nothing else "
                "changed. The department still owes the sessions it has not given; HR sees "
                "your answer in your training record.", module=TITLE) in disputed.text
    assert p.forms.sql("select answer, hire_comment from coaching_sessions") == [
        ("disputed", "那天我请假了")]
    assert p.gate("coaching") == ("technology", True)  # still owed by technology
    # The answer and the spent link are all that changed: no mail, no other row.
    p.changed_only(before, audit_log=1, used_links=1)
    assert p.audit(1) == ["coaching-disputed"]
    p.send()
    assert len(p.inbox.messages) == received

    again = p.forms.client.get(link)  # the link, opened again: answered, no form
    assert again.status_code == 410 and 'value="confirmed"' not in again.text
    shown = p.forms.client.get(coaching).text
    assert names("zh_CN").session_answer("disputed") in shown and "那天我请假了" in shown

    # Two confirmed sessions are owed: each counts, and the second closes technology's leg.
    for topic in ("代码评审", "调试技巧"):
        assert p.gate("coaching") == ("technology", True)
        confirmed = p.forms.client.post(record(p, coaching, topic=topic),
                                         data={"answer": "confirmed"})
        assert confirmed.status_code == 200
        assert said("It counts as coaching given in «%(module)s».",
                    module=TITLE) in confirmed.text
    assert p.gate("coaching") == ("technology", False)
    assert p.forms.sql("select topic, answer from coaching_sessions order by id") == [
        ("调试与单元测试", "disputed"), ("代码评审", "confirmed"), ("调试技巧", "confirmed")]


def test_a_session_dated_in_the_future_or_before_the_module_or_sent_twice_is_refused(
        practice: Practice):
    p = practice
    coaching = p.mail(OWNER, f"/coaching/{p.key}?t=")[1]
    before = p.counts()
    tomorrow = (local_date(clock.now()) + timedelta(days=1)).isoformat()
    future = p.forms.client.post(coaching, data=session(held_on=tomorrow, topic="代码评审"))
    assert future.status_code == 422 and 'role="alert"' in future.text
    assert said("a session cannot be recorded before it took place: the date is in the "
                "future") in future.text
    marked = re.search(r'<input [^>]*id="held_on"[^>]*>', future.text)
    assert marked and f'value="{tomorrow}"' in marked.group(0)
    assert 'aria-invalid="true"' in marked.group(0) and future.text.count("aria-invalid") == 1
    assert 'value="代码评审"' in future.text  # what was typed is kept

    twice = post_fields(p, coaching, [*session().items(), ("minutes", "90")])
    assert twice.status_code == 422 and said(
        "the form arrived with a field sent twice; reload the page and submit it again"
    ) in twice.text
    for minutes in ("0", "481", "²", "-5", ""):  # none is a number of minutes 1-480
        wrong = p.forms.client.post(coaching, data=session(minutes=minutes))
        assert wrong.status_code == 422, (minutes, wrong.status_code)
        assert re.search(r'id="minutes"[^>]*aria-invalid="true"', wrong.text), minutes
    yesterday = (local_date(clock.now()) - timedelta(days=1)).isoformat()
    early = p.forms.client.post(coaching, data=session(held_on=yesterday))
    assert early.status_code == 422 and said(
        "the date is before the module was assigned to the hire") in early.text
    p.changed_only(before)  # no session, no email to the hire, no audit row


def hand_in(p: Practice, submit: str, link: str) -> str:
    """The hire hands in a link; the reviewer's grading link from their email."""
    answer = p.forms.client.post(submit, data={"link": link, "note": "README 里有运行方法"})
    assert answer.status_code == 200, answer.text
    return p.mail(OWNER, "/grade/")[1]


def test_a_grade_below_the_mark_lets_the_hire_hand_in_again_until_it_passes(
        practice: Practice):
    p = practice
    brief, submit = p.mail(HIRE, f"/submit/{p.key}?t=")
    assert "编程作业" in str(brief["Subject"])
    form = p.forms.client.get(submit)
    assert form.status_code == 200 and "编程作业" in form.text and 'name="link"' in form.text
    assert p.gate("submit") == ("hire", True) and p.gate("review") is None

    grade = hand_in(p, submit, "github.com/zhangwei/csv-summary")
    before, received = p.counts(), len(p.inbox.messages)
    hand_in(p, submit, "github.com/zhangwei/csv-summary")  # reloaded: the same hand-in again
    p.changed_only(before)
    assert len(p.inbox.messages) == received  # the reviewer is not asked twice
    assert p.forms.sql("select number, link, note from submissions") == [
        (1, "https://github.com/zhangwei/csv-summary", "README 里有运行方法")]
    assert p.gate("submit") == ("hire", False) and p.gate("review") == ("technology", True)
    page = p.forms.client.get(grade)
    assert page.status_code == 200 and "张伟" in page.text and "#1" in page.text
    assert 'href="https://github.com/zhangwei/csv-summary"' in page.text
    assert "正确性" in page.text and "代码风格" in page.text

    # Refused grades: a score outside 0-100, or none, or a field sent twice.
    before = p.counts()
    for scores, field in ((("101", "70"), "correctness"), (("80", "-1"), "style"),
                          (("", "70"), "correctness"), (("80", "--1"), "style"),
                          (("²", "70"), "correctness")):
        typed = {"score-correctness": scores[0], "score-style": scores[1],
                 "comment-correctness": "边界情况没处理"}
        refused = p.forms.client.post(grade, data=typed)
        assert refused.status_code == 422, (scores, refused.status_code)
        marked = re.search(rf'<input [^>]*name="score-{field}"[^>]*>', refused.text)
        assert marked and 'aria-invalid="true"' in marked.group(0), scores
        assert refused.text.count('aria-invalid="true"') == 1
        label = "正确性" if field == "correctness" else "代码风格"
        alert = refused.text.split('role="alert"', 1)[1].split("</div>", 1)[0]
        assert label in alert, (scores, alert)
        assert ">边界情况没处理</textarea>" in refused.text  # the comment is kept
    long = p.forms.client.post(grade, data={"score-correctness": "80", "score-style": "70",
                                            "comment-style": "缩" * 2001})
    assert long.status_code == 422 and "代码风格" in long.text.split('role="alert"', 1)[1]
    assert re.search(r'<textarea [^>]*name="comment-style"[^>]*aria-invalid="true"', long.text)
    assert f">{'缩' * 2001}</textarea>" in long.text  # kept, to shorten
    twice = post_fields(p, grade, [("score-correctness", "50"), ("score-correctness", "90"),
                                   ("score-style", "70")])
    assert twice.status_code == 422 and said(
        "the form arrived with a field sent twice; reload the page and submit it again"
    ) in twice.text
    p.changed_only(before)
    assert p.graded() == [(1, False, None)]

    # Below the mark (correctness 50 < 60): the hire is told, with a link to hand in again.
    below = p.forms.client.post(grade, data={"score-correctness": "50", "score-style": "75",
                                             "comment-correctness": "空文件会崩溃"})
    assert below.status_code == 200 and "#1" in below.text
    assert p.graded() == [(1, True, False)]
    assert p.forms.sql("select scores, comments from submissions")[0][0].replace(" ", "") == \
        '{"correctness":50,"style":75}'
    assert p.gate("review") == ("technology", False)
    result, again = p.mail(HIRE, f"/submit/{p.key}?t=")
    assert result is p.inbox.to(HIRE)[-1]  # the grade's email, not the brief's
    text = result.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "50" in text and "75" in text and "空文件会崩溃" in text and "王磊" in text
    assert p.forms.client.get(grade).status_code == 410  # graded: the link is spent

    shown = p.forms.client.get(again)
    assert shown.status_code == 200 and 'name="link"' in shown.text and "空文件会崩溃" in shown.text
    second = hand_in(p, again, "https://github.com/zhangwei/csv-summary/tree/v2")
    assert second != grade and p.forms.sql("select number from submissions") == [(1,), (2,)]
    assert p.gate("review") == ("technology", True)
    passed = p.forms.client.post(second, data={"score-correctness": "85", "score-style": "70"})
    assert passed.status_code == 200 and "#2" in passed.text
    assert p.graded() == [(1, True, False), (2, True, True)]
    p.send()
    result = p.inbox.to(HIRE)[-1]
    text = result.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "85" in text and f"/submit/{p.key}" not in text  # passed: nothing to hand in again
    done = p.forms.client.get(again)
    assert done.status_code == 200 and 'name="link"' not in done.text  # no form once passed
    assert said("Passed. Well done.") in done.text
    before = p.counts()  # Back to the hand-in form and submit: passed stays passed
    late = p.forms.client.post(again, data={"link": "github.com/zhangwei/csv-summary/tree/v3"})
    assert late.status_code == 409 and said("Passed. Well done.") in late.text
    assert 'name="link"' not in late.text
    p.changed_only(before)
    assert p.gate("review") == ("technology", False)


def test_a_grade_link_of_another_department_is_refused_and_audited(practice: Practice):
    from tasks.practice import grade_link

    p = practice
    submit = p.mail(HIRE, f"/submit/{p.key}?t=")[1]
    hand_in(p, submit, "github.com/zhangwei/csv-summary")
    (submission,) = p.forms.sql("select id from submissions")[0]
    foreign = LINK.match(grade_link(reviewer_id=p.forms.person_id(MARKETING_OWNER),
                                    submission_id=submission))
    assert foreign
    before = p.counts()
    looked = p.forms.client.get(foreign.group(1))
    assert looked.status_code == 403 and "github.com/zhangwei" not in looked.text
    assert said("This link does not allow that") in looked.text  # li.na reads Chinese
    p.changed_only(before, audit_log=1)
    assert p.audit(1) == ["refused:grade"]
    before = p.counts()
    posted = p.forms.client.post(foreign.group(1), data={"score-correctness": "90",
                                                         "score-style": "90"})
    assert posted.status_code == 403 and 'name="score-style"' not in posted.text
    p.changed_only(before, audit_log=1)
    assert p.audit(1) == ["refused:grade"]
    assert p.forms.sql("select actor, via from audit_log order by id desc limit 1") == [
        (MARKETING_OWNER, "link")]
    assert p.graded() == [(1, False, None)]


def test_the_grade_link_of_a_superseded_hand_in_points_to_the_newer_one(practice: Practice):
    p = practice
    submit = p.mail(HIRE, f"/submit/{p.key}?t=")[1]
    pdf = b"%PDF-1.4 csv summary\n"
    for _ in range(2):  # sent twice (a reload): one hand-in
        answer = p.forms.client.post(submit, data={"link": "", "note": ""},
                                     files={"file": ("csv-summary.pdf", pdf, "application/pdf")})
        assert answer.status_code == 200, answer.text
    first = p.mail(OWNER, "/grade/")[1]
    assert p.forms.sql("select number, file_name, link from submissions") == [
        (1, "csv-summary.pdf", None)]
    assert p.forms.sql("select count(*) from outbox where kind = 'grade-request'") == [(1,)]
    download = re.search(r'href="(/grade/\d+/file\?t=[^"]+)"', p.forms.client.get(first).text)
    assert download and p.forms.client.get(download.group(1).replace("&amp;", "&")).content == pdf

    second = hand_in(p, submit, "github.com/zhangwei/csv-summary-fixed")  # before any grade
    assert first != second
    before = p.counts()
    newer = said("%(hire)s has handed in a newer version (#%(number)s): grade that one, from "
                 "its email. Nothing was recorded.", hire="张伟", number=2)
    page = p.forms.client.get(first)
    assert page.status_code == 200 and newer in page.text and 'name="score-style"' not in page.text
    posted = p.forms.client.post(first, data={"score-correctness": "90", "score-style": "90"})
    assert posted.status_code == 409 and newer in posted.text
    p.changed_only(before)
    assert p.graded() == [(1, False, None), (2, False, None)]
    assert p.forms.client.post(second, data={"score-correctness": "90",
                                             "score-style": "90"}).status_code == 200
    assert p.graded() == [(1, False, None), (2, True, True)]


def test_after_the_appraisal_nothing_more_is_handed_in_or_recorded(practice: Practice):
    p = practice
    coaching = p.mail(OWNER, f"/coaching/{p.key}?t=")[1]
    submit = p.mail(HIRE, f"/submit/{p.key}?t=")[1]
    pending = record(p, coaching)  # a session the hire has not answered yet
    grade = hand_in(p, submit, "github.com/zhangwei/csv-summary")
    assert p.forms.client.post(grade, data={"score-correctness": "40",
                                            "score-style": "70"}).status_code == 200

    run = str(p.run_id)
    appraisal = f"/appraise/{run}?t={p.forms.token('appraise', MANAGER, run)}"
    # The appraiser sees the practice legs beside the form: coaching owed, the grade.
    shown = p.forms.client.get(appraisal).text
    assert "0 of 2 session(s) confirmed" in shown  # technology's manager reads English
    assert "#1 below the pass mark (40, 70)" in shown
    appraised = p.forms.client.post(appraisal, data={"score-coding-assignment-practice": "50"})
    assert appraised.status_code == 200, appraised.text

    before = p.counts()
    late = p.forms.client.post(submit, data={"link": "github.com/zhangwei/csv-summary-v2"})
    assert late.status_code == 409 and said("The practice legs are closed") in late.text
    coached = p.forms.client.post(coaching, data=session(topic="补课"))
    assert coached.status_code == 409 and said("The practice legs are closed") in coached.text
    answered = p.forms.client.post(pending, data={"answer": "confirmed"})
    assert answered.status_code == 409
    opened = p.forms.client.get(pending)  # the form is not offered either
    assert opened.status_code == 409 and 'name="answer"' not in opened.text
    p.changed_only(before)
    assert p.forms.sql("select answer from coaching_sessions") == [("pending",)]
    assert [n for n, *_ in p.graded()] == [1]

    form = p.forms.client.get(submit)  # the page still shows the grade, and no form
    assert form.status_code == 200 and 'name="link"' not in form.text and "40" in form.text
    assert 'name="topic"' not in p.forms.client.get(coaching).text
