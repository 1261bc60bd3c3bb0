"""Departments keep their modules (issue 9 item 4): an owner signs in by an emailed link, replaces
and adds materials as new versions (the earlier ones kept, the studying hires emailed through a
real SMTP server), archives one (audited, nothing deleted), edits the quiz (checked before it is
saved, audited; the next attempt answers the new version; a run under way keeps its pass mark);
HR does the same for the general modules; anyone else is refused with a 403 page and one audit
row. Real SQLite storage, the forms app in-process, Prefect out of reach.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from deployments.simulate import Mailbox
from deployments.stack import free_port
from storage import repo
from storage.catalog import Quiz
from tasks.env import get_catalog
from tests.forms.conftest import Forms
from tests.installation import Configure
from tests.security.conftest import emailed_links, sign_in

OWNER = "li.na@example.com"  # marketing's owner
HR = "liu.fang@example.com"  # hr's owner: keeps the general modules
HIRE = "zhang.wei@example.com"
MODULE = "customer-communication"  # marketing's
MATERIAL = "communication-scripts"
PDF = b"%PDF-1.4 scripts, second edition\n"
LINKS = {"communication-scripts": "https://pan.example.com/s/scripts-v1",
         "objection-cases": "https://pan.example.com/s/cases-v1",
         "communication-assessment": "https://pan.example.com/s/assessment-v1"}
LINK = re.compile(r"https?://[^/\s]+(/\S+)")


@dataclass
class Dept:
    """One marketing specialist studying customer communication, its mail on a real server."""

    forms: Forms
    inbox: Mailbox
    run_id: int

    @property
    def client(self):
        return self.forms.client

    def sign_in(self, email: str) -> None:
        """Ask for the link on the sign-in page, open it from the outbox, press the button."""
        before = len(emailed_links(self.forms, email, "dept-sign-in"))
        assert self.client.post("/dept/sign-in", data={"email": email}).status_code == 200
        links = emailed_links(self.forms, email, "dept-sign-in")
        assert len(links) == before + 1 and re.match(r"/dept/sign-in/[a-z]+/confirm\?t=", links[-1])
        assert self.client.get(links[-1]).status_code == 200
        opened = self.client.post(links[-1], follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/dept"

    def csrf(self, path: str = "/dept") -> str:
        page = self.client.get(path).text
        return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]

    def hire_mail(self, subject_part: str) -> list[EmailMessage]:
        return [m for m in self.inbox.to(HIRE) if subject_part in str(m["Subject"])]

    def counts(self) -> dict[str, int]:
        return {**self.forms.counts(), "quiz_versions": self.forms.sql(
            "select count(*) from quiz_versions")[0][0]}


@pytest.fixture
def dept(forms: Forms, configure: Configure) -> Iterator[Dept]:
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules

    inbox, port = Mailbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    configure(smtp_port=port)
    try:
        run_id = forms.start_run()
        deliver_materials(module_code=MODULE, by_email=OWNER, via="cli", items=[
            repo.MaterialItem(material_code=c, link=url) for c, url in LINKS.items()])
        assert assign_ready_modules.fn(run_id) == [MODULE]
        yield Dept(forms, inbox, run_id)
    finally:
        smtp.stop()


def versions(forms: Forms) -> list[dict[str, str]]:
    """Each delivery of the module, oldest first: material code -> its file name or link."""
    rows = forms.sql("select d.id, m.material_code, coalesce(m.file_name, m.link) "
                     "from deliveries d join delivered_materials m on m.delivery_id = d.id "
                     "where d.module_code = :m order by d.id, m.id", m=MODULE)
    found: dict[int, dict[str, str]] = {}
    for delivery, code, what in rows:
        found.setdefault(delivery, {})[code] = what
    return list(found.values())


def study_page(d: Dept) -> str:
    """The hire's study page, from the link of the newest email about the module."""
    message = d.hire_mail("客户沟通")[-1]
    body = message.get_body(("plain",))
    assert body is not None
    link = next(m.group(1) for m in LINK.finditer(body.get_content())
                if m.group(1).startswith("/study/"))
    page = d.client.get(link)
    assert page.status_code == 200
    return page.text


# --- signing in -----------------------------------------------------------------------------


def test_an_owner_signs_in_by_email_and_sees_their_modules_with_the_hires(dept: Dept):
    assert dept.client.get("/dept").status_code == 401
    assert 'href="/dept/sign-in"' in dept.client.get("/dept").text
    # Someone who owns no materials is answered the same, and nothing is queued for them.
    stranger = dept.client.post("/dept/sign-in", data={"email": HIRE})
    owner = dept.client.post("/dept/sign-in", data={"email": OWNER})
    assert stranger.status_code == owner.status_code == 200 and stranger.text == owner.text
    assert dept.forms.sql("select count(*) from outbox where kind = 'dept-sign-in' "
                          "and to_addr like :h", h=f"%{HIRE}%") == [(0,)]
    assert dept.forms.sql("select count(*) from outbox where kind = 'dept-sign-in' "
                          "and to_addr like :o", o=f"%{OWNER}%") == [(1,)]

    dept.sign_in(OWNER)
    page = dept.client.get("/dept")
    assert page.status_code == 200 and "我的模块" in page.text
    assert "客户沟通" in page.text and "产品知识" in page.text and "方案撰写" in page.text
    assert "企业文化" not in page.text  # HR's, not marketing's
    # Who studies customer communication, and who waits on the other two hand-offs.
    assert "正在学习的新员工" in page.text and "等待交接资料的新员工" in page.text
    assert page.text.count("张伟") == 3
    assert "资料第 1 版" in page.text and "测验第 1 版" in page.text


# --- material versions ----------------------------------------------------------------------


def test_a_replaced_material_is_a_new_version_the_earlier_ones_kept_the_studying_hire_emailed(
        dept: Dept):
    dept.sign_in(OWNER)
    form = f"/dept/modules/{MODULE}/materials/{MATERIAL}"
    page = dept.client.get(form)
    assert page.status_code == 200 and "《客户沟通话术模板》" in page.text
    assert "scripts-v1" in page.text  # the version hires study now

    saved = dept.client.post(form, data={"csrf": dept.csrf(form), "note": "新增了报价话术"},
                             files={"file": ("话术模板第二版.pdf", PDF, "application/pdf")})
    assert saved.status_code == 200  # after the redirect: the module's page
    assert "资料第 2 版已保存" in saved.text
    assert "已发邮件通知正在学习本模块的 1 名新员工" in saved.text
    first, second = versions(dept.forms)
    assert first == LINKS  # version 1 as it was
    assert second == {**LINKS, MATERIAL: "话术模板第二版.pdf"}  # the others carried over
    assert "以前的版本" in saved.text and "已替换" in saved.text

    # The studying hire is emailed once, and studies the new version from the email's link.
    (mail,) = dept.hire_mail("第 2 版")
    assert str(mail["Subject"]) == "「客户沟通」的培训资料已更新（第 2 版）"
    text = mail.get_body(("plain",)).get_content()
    assert "市场部 李娜 替换了「客户沟通」资料中的「《客户沟通话术模板》」" in text
    assert "新增了报价话术" in text
    assert "话术模板第二版.pdf" in study_page(dept)
    assert [a for (a,) in dept.forms.sql("select kind from outbox where kind = "
                                         "'material-update'")] == ["material-update"]

    # Replaced again by a link: version 3. The version-2 file is still there for its owner.
    again = dept.client.post(form, data={"csrf": dept.csrf(form),
                                         "link": "pan.example.com/s/scripts-v3"})
    assert "资料第 3 版已保存" in again.text
    assert versions(dept.forms)[2][MATERIAL] == "https://pan.example.com/s/scripts-v3"
    assert len(dept.hire_mail("第 3 版")) == 1
    (item, path), = dept.forms.sql("select id, file_path from delivered_materials "
                                   "where file_name = '话术模板第二版.pdf'")
    assert Path(path).read_bytes() == PDF
    download = dept.client.get(f"/dept/modules/{MODULE}/files/{item}")
    assert download.status_code == 200 and download.content == PDF
    assert dept.forms.sql("select actor, action, via from audit_log where action like "
                          "'material-%' order by id") == [(OWNER, "material-replaced",
                                                           "session")] * 2
    history = dept.client.get(form).text  # the material through its three versions
    assert all(f"第 {n} 版</strong>" in history for n in (1, 2, 3))


def test_a_refused_file_saves_nothing_and_keeps_the_note(dept: Dept):
    dept.sign_in(OWNER)
    form = f"/dept/modules/{MODULE}/materials/{MATERIAL}"
    before = dept.counts()
    refused = dept.client.post(form, data={"csrf": dept.csrf(form), "note": "第二版"},
                               files={"file": ("scripts.pdf", b"not a pdf", "application/pdf")})
    assert refused.status_code == 422
    assert "未保存任何内容" in refused.text and "文件内容与扩展名不符" in refused.text
    assert ">第二版</textarea>" in refused.text
    assert dept.counts() == before


def test_an_added_material_and_an_archived_one_are_versions_and_nothing_is_deleted(dept: Dept):
    dept.sign_in(OWNER)
    module = f"/dept/modules/{MODULE}"
    added = dept.client.post(f"{module}/materials", data={
        "csrf": dept.csrf(module), "title": "2027年报价单", "link": "pan.example.com/s/prices"})
    assert "资料第 2 版已保存" in added.text
    assert "2027年报价单" in study_page(dept)
    assert [v for c, v in versions(dept.forms)[1].items() if c not in LINKS] == [
        "https://pan.example.com/s/prices"]

    archive = f"{module}/materials/objection-cases/archive"
    archived = dept.client.post(archive, data={"csrf": dept.csrf(module)})
    assert "已保存第 3 版，其中不含已归档的资料" in archived.text
    three = versions(dept.forms)
    assert "objection-cases" in three[1] and "objection-cases" not in three[2]
    assert dept.forms.sql("select count(*) from delivered_materials where material_code = "
                          "'objection-cases'") == [(2,)]  # in versions 1 and 2, still
    assert "《常见问题应对案例》" not in study_page(dept)
    (told,) = dept.hire_mail("第 3 版")
    assert "市场部 李娜 从「客户沟通」的资料中撤下了「《常见问题应对案例》」" in \
        told.get_body(("plain",)).get_content()
    (actor, detail), = dept.forms.sql("select actor, detail from audit_log where action = "
                                      "'material-archived'")
    assert actor == OWNER and '"version": 3' in detail and '"objection-cases"' in detail

    # Put back with a new link: version 4 has it again.
    page = dept.client.get(f"{module}/materials/objection-cases").text
    assert "已归档" in page and "恢复这份资料" in page
    dept.client.post(f"{module}/materials/objection-cases",
                     data={"csrf": dept.csrf(module), "link": "pan.example.com/s/cases-v2"})
    assert versions(dept.forms)[3]["objection-cases"] == "https://pan.example.com/s/cases-v2"


def test_the_last_material_cannot_be_archived(dept: Dept):
    dept.sign_in(OWNER)
    module = f"/dept/modules/{MODULE}"
    for code in ("objection-cases", "communication-assessment"):
        dept.client.post(f"{module}/materials/{code}/archive", data={"csrf": dept.csrf(module)})
    before = dept.counts()
    last = dept.client.post(f"{module}/materials/{MATERIAL}/archive",
                            data={"csrf": dept.csrf(module)})
    assert last.status_code == 409 and "这是本模块唯一的资料" in last.text
    assert dept.counts() == before


# --- the quiz -------------------------------------------------------------------------------


def quiz_fields(quiz: Quiz) -> dict[str, str]:
    """The quiz form filled in with a version, as its page shows it."""
    fields = {"pass_mark": str(quiz.pass_mark), "attempts": str(quiz.attempts),
              "reveal_answers": "1"}
    for i, q in enumerate(quiz.questions):
        fields |= {f"q{i}-text-zh_CN": q.text.zh_CN, f"q{i}-text-en": q.text.en,
                   f"q{i}-answer": str(q.answer)}
        for j, c in enumerate(q.choices):
            fields |= {f"q{i}-c{j}-zh_CN": c.zh_CN, f"q{i}-c{j}-en": c.en}
    return fields



def catalog_quiz() -> Quiz:
    return get_catalog().modules[MODULE].quiz


@pytest.mark.parametrize(("change", "message"), [
    ({"q0-c3-zh_CN": "", "q0-c3-en": ""}, "第 1 题：需要四个选项（现在有 3 个）"),
    ({"q0-answer": None}, "第 1 题：请标出哪个选项是正确答案"),
    ({"pass_mark": "120"}, "及格线：请填写 0 到 100 之间的整数（不能是 120）"),
], ids=["three-choices", "no-right-answer", "pass-mark-120"])
def test_a_wrong_quiz_is_refused_with_a_message_and_nothing_saved(dept: Dept, change, message):
    dept.sign_in(OWNER)
    form = f"/dept/modules/{MODULE}/quiz"
    fields = {**quiz_fields(catalog_quiz()), "q0-text-zh_CN": "改过的第一题", "csrf":
              dept.csrf(form)} | change
    before = dept.counts()
    refused = dept.client.post(form, data={k: v for k, v in fields.items() if v is not None})
    assert refused.status_code == 422
    assert "未保存任何内容" in refused.text and message in refused.text
    assert "改过的第一题" in refused.text  # what was typed is kept
    assert dept.counts() == before  # no version, no audit row


def test_an_edited_quiz_is_the_one_the_next_attempt_answers(dept: Dept):
    from tasks.learning import take_quiz

    dept.sign_in(OWNER)
    form = f"/dept/modules/{MODULE}/quiz"
    quiz = catalog_quiz()
    page = dept.client.get(form)
    assert page.status_code == 200 and quiz.questions[0].text.zh_CN in page.text
    right = (quiz.questions[0].answer + 1) % 4  # another choice is right from now on
    saved = dept.client.post(form, data={
        **quiz_fields(quiz), "csrf": dept.csrf(form), "pass_mark": "90",
        "q0-text-zh_CN": "客户第一次来电时应先做什么？", "q0-answer": str(right)})
    assert saved.status_code == 200 and "测验第 2 版已保存" in saved.text
    assert dept.forms.sql("select module_code, number from quiz_versions") == [(MODULE, 2)]
    (actor, detail), = dept.forms.sql("select actor, detail from audit_log "
                                      "where action = 'quiz-edited'")
    assert actor == OWNER and '"changed": [1]' in detail

    # The hire's quiz shows the new question; the run keeps the pass mark it started with.
    (assignment,), = dept.forms.sql("select id from assignments where module_code = :m",
                                    m=MODULE)
    link = f"/quiz/{assignment}?t={dept.forms.token('quiz', HIRE, str(assignment))}"
    shown = dept.client.get(link).text
    assert "客户第一次来电时应先做什么？" in shown and "及格线 80" in shown
    answers = {i: q.answer for i, q in enumerate(quiz.questions)} | {0: right}
    result = take_quiz(assignment_id=assignment, answers=answers, via="flow", by_email=HIRE)
    assert (result.score, result.pass_mark, result.quiz_version) == (100, 80, 2)
    assert dept.forms.sql("select quiz_version, delivery_id is not null from quiz_attempts") \
        == [(2, 1)]
    # A run started now takes the new pass mark.
    new_run = dept.forms.start_run("wang.fang@example.com")
    from tasks.env import reading

    with reading() as session:
        plan = repo.get_run(session=session, run_id=new_run).plan
    assert plan.module(MODULE).pass_mark == 90  # type: ignore[union-attr]

    # The training record says which versions the hire studied and answered.
    sign_in(dept.forms, HR)
    record = dept.client.get(f"/hr/runs/{dept.run_id}").text
    assert "学习的资料：第 1 版；作答的测验：第 2 版" in record


def test_answers_to_a_quiz_changed_meanwhile_use_no_attempt(dept: Dept):
    dept.sign_in(OWNER)
    (assignment,), = dept.forms.sql("select id from assignments where module_code = :m",
                                    m=MODULE)
    link = f"/quiz/{assignment}?t={dept.forms.token('quiz', HIRE, str(assignment))}"
    assert 'name="version" value="1"' in dept.client.get(link).text
    form = f"/dept/modules/{MODULE}/quiz"
    dept.client.post(form, data={**quiz_fields(catalog_quiz()), "csrf": dept.csrf(form),
                                 "q1-text-zh_CN": "新的第二题"})
    answers = {f"q{i}": str(q.answer) for i, q in enumerate(catalog_quiz().questions)}
    late = dept.client.post(link, data={**answers, "version": "1"})
    assert late.status_code == 409 and "您作答期间测验已更新" in late.text
    assert "新的第二题" in late.text and 'name="version" value="2"' in late.text
    assert dept.forms.sql("select count(*) from quiz_attempts") == [(0,)]
    assert dept.client.post(link, data={**answers, "version": "2"}).status_code == 200
    assert dept.forms.sql("select quiz_version from quiz_attempts") == [(2,)]


# --- who may --------------------------------------------------------------------------------


def test_another_departments_module_is_refused_with_a_403_page_and_one_audit_row(dept: Dept):
    dept.sign_in(OWNER)
    for path, action in (("/dept/modules/culture", "edit-module"),
                         ("/dept/modules/culture/quiz", "edit-quiz"),
                         ("/dept/modules/culture/materials/culture-handbook", "edit-module")):
        before = dept.forms.counts()
        refused = dept.client.get(path)
        assert refused.status_code == 403 and "您无权修改这个模块" in refused.text, path
        assert dept.forms.refused(before, 1) == [f"refused:{action}"]
    assert dept.forms.sql("select actor, object_type, object_id, via from audit_log "
                          "order by id desc limit 1") == [(OWNER, "module", "culture",
                                                           "session")]


def test_hr_keeps_the_general_modules_and_may_not_touch_marketings(dept: Dept):
    dept.sign_in(HR)
    page = dept.client.get("/dept").text
    assert "企业文化" in page and "客户沟通" not in page
    csrf = dept.csrf()
    material = f"/dept/modules/{MODULE}/materials/{MATERIAL}"
    for method, path, data, files in (
            ("get", material, None, None),
            ("post", f"{material}/archive", {"csrf": csrf}, None),  # the "delete" action
            ("post", material, {"csrf": csrf}, {"file": ("x.pdf", PDF, "application/pdf")}),
            ("post", f"/dept/modules/{MODULE}/quiz", {**quiz_fields(catalog_quiz()),
                                                      "csrf": csrf}, None)):
        before = dept.forms.counts()
        refused = dept.client.request(method, path, data=data, files=files)
        assert refused.status_code == 403 and "您无权修改这个模块" in refused.text, path
        action = "edit-quiz" if path.endswith("/quiz") else "edit-module"
        assert dept.forms.refused(before, 1) == [f"refused:{action}"], path
    assert versions(dept.forms) == [LINKS]

    # The general modules are HR's: the culture materials, handed off, get a new version.
    from tasks.handoff import deliver_materials

    deliver_materials(module_code="culture", by_email=HR, via="cli",
                      items=[repo.MaterialItem(material_code="culture-handbook",
                                               link="https://pan.example.com/s/handbook"),
                             repo.MaterialItem(material_code="company-history",
                                               link="https://pan.example.com/s/history")])
    culture = "/dept/modules/culture/materials/culture-handbook"
    saved = dept.client.post(culture, data={"csrf": csrf, "link": "pan.example.com/s/hb-2"})
    assert saved.status_code == 200 and "资料第 2 版已保存" in saved.text
    assert dept.forms.sql("select actor from audit_log where action = 'material-replaced'") \
        == [(HR,)]


def test_a_post_without_the_sessions_token_changes_nothing(dept: Dept):
    dept.sign_in(OWNER)
    before = dept.counts()
    refused = dept.client.post(f"/dept/modules/{MODULE}/materials/{MATERIAL}/archive")
    assert refused.status_code == 403
    assert dept.counts() == before
