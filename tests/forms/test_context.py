"""Forms that carry their context and lose nothing: a spent link says when and by whom, a link
typed without https:// is taken, the owner's note reaches the hire, the appraisal form shows the
pass mark and the hire's training, the quiz result reviews the wrong answers, unknown addresses
get a page."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from email import message_from_string
from email.policy import default
from pathlib import Path

import pytest
import yaml

from storage import clock
from storage.catalog import DEFAULT_CATALOG_DIR, load_catalog
from tasks.dates import spoken_day
from tests.forms.conftest import Forms

OWNER = "li.na@example.com"  # marketing's owner
MANAGER = "zhou.qiang@example.com"  # marketing's manager
HIRE = "zhang.wei@example.com"
CULTURE = load_catalog().modules["culture"].quiz.questions


def answers(right: int) -> dict[str, str]:
    """The culture quiz answered with the first `right` questions right, the others wrong."""
    return {f"q{i}": str(q.answer if i < right else (q.answer + 1) % len(q.choices))
            for i, q in enumerate(CULTURE)}


def assign(forms: Forms, *modules: str) -> dict[str, int]:
    """A python-developer run with these HR modules handed off and assigned: their ids."""
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules

    run_id = forms.start_run(position="python-developer")
    for code in modules:
        deliver_materials(module_code=code, by_email="liu.fang@example.com", via="cli")
    assert sorted(assign_ready_modules.fn(run_id)) == sorted(modules)
    return {code: i for code, i in forms.sql("select module_code, id from assignments")}


def quiz_link(forms: Forms, assignment: int) -> str:
    study = forms.client.get(f"/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}")
    return re.search(r'href="(/quiz/\d+\?t=[^"]+)"', study.text).group(1)


def said_used(forms: Forms, name: str) -> str:
    (used_at,) = forms.sql("select used_at from used_links order by used_at desc limit 1")[0]
    return f"已于{spoken_day(forms.moment(used_at), 'zh_CN')}由 {name} 提交"


def test_a_link_without_https_is_taken_and_the_note_reaches_the_hire(forms: Forms):
    from tasks.learning import assign_ready_modules

    run_id = forms.start_run()
    token = forms.token("handoff", OWNER, "customer-communication")
    url = f"/handoff/customer-communication?t={token}"
    typed = {"link-communication-scripts": "pan.example.com/s/scripts",
             "link-objection-cases": "http://wiki.example.com/cases",
             "link-communication-assessment": "docs.example.com/assessment?id=7",
             "note": "先看话术模板，\n再做测评。"}
    refused = forms.client.post(url, data={**typed, "link-objection-cases": "mailto:li.na@x.com"})
    assert refused.status_code == 422 and "不是有效的网址：mailto:li.na@x.com" in refused.text
    assert 'value="https://pan.example.com/s/scripts"' in refused.text  # kept, as stored
    assert 'value="mailto:li.na@x.com" aria-invalid="true"' in refused.text
    assert ">先看话术模板，\n再做测评。</textarea>" in refused.text

    done = forms.client.post(url, data=typed)
    assert done.status_code == 200 and "您的留言会随资料一起发给新员工" in done.text
    assert sorted(forms.sql("select material_code, link from delivered_materials")) == [
        ("communication-assessment", "https://docs.example.com/assessment?id=7"),
        ("communication-scripts", "https://pan.example.com/s/scripts"),
        ("objection-cases", "http://wiki.example.com/cases")]

    assign_ready_modules.fn(run_id)
    (raw,) = forms.sql("select message from outbox where kind = 'assignment'")[0]
    mail = message_from_string(raw, policy=default)
    for part in ("plain", "html"):
        body = mail.get_body((part,)).get_content()
        assert "李娜 的留言：" in body and "先看话术模板，" in body and "再做测评。" in body
    (assignment,) = forms.sql("select id from assignments where module_code = "
                              "'customer-communication'")[0]
    study = forms.client.get(f"/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}")
    assert "李娜 的留言：" in study.text and "先看话术模板，\n再做测评。" in study.text
    assert 'href="https://pan.example.com/s/scripts"' in study.text


def test_a_spent_quiz_link_says_so_and_leads_back_to_the_study_page(forms: Forms):
    culture = assign(forms, "culture")["culture"]
    link = quiz_link(forms, culture)
    form = forms.client.get(link)
    assert "共 10 题" in form.text and "第 3/10 题" in form.text and "第 10/10 题" in form.text
    assert forms.client.post(link, data=answers(7)).status_code == 200

    before = forms.counts()
    back = forms.client.get(link)  # Back from the result, or the link opened again
    assert back.status_code == 410 and said_used(forms, "张伟") in back.text
    assert 'type="radio"' not in back.text
    study = re.search(r'href="(/study/\d+\?t=[^"]+)"', back.text).group(1)
    assert "学习：企业文化" in forms.client.get(study).text
    assert forms.counts() == before
    no_such = forms.client.get(study.replace("?", "/materials/x?"))  # not a material id
    assert no_such.status_code == 404 and "此地址没有页面" in no_such.text


def test_the_result_reviews_wrong_answers_and_shows_the_next_step(forms: Forms):
    ids = assign(forms, "culture", "rules")
    failed = forms.client.post(quiz_link(forms, ids["culture"]), data=answers(7)).text
    assert "共 10 题，答对 7 题。" in failed
    for i in (7, 8, 9):  # the three answered wrongly, each with the right choice
        question = CULTURE[i]
        given = question.choices[(question.answer + 1) % len(question.choices)].zh_CN
        assert f"第 {i + 1}/10 题</span> {question.text.zh_CN}" in failed
        assert f"您的答案：{given}" in failed
        assert f"正确答案：{question.choices[question.answer].zh_CN}" in failed
    assert "第 7/10 题" not in failed
    again = re.search(r'<a class="button" href="(/study/\d+\?t=[^"]+)">再学一遍资料', failed)
    assert again and f"/study/{ids['culture']}?" in again.group(1)

    passed = forms.client.post(quiz_link(forms, ids["culture"]), data=answers(10)).text
    assert "已通过" in passed and "答错的题目" not in passed
    following = re.search(r'href="(/study/\d+\?t=[^"]+)">下一个模块：(\S+)</a>', passed)
    rules = load_catalog().modules["rules"].title.zh_CN
    assert following and following.group(2) == rules
    assert f"学习：{rules}" in forms.client.get(following.group(1)).text


@pytest.fixture
def answers_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog whose culture quiz does not reveal its right answers."""
    catalog = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, catalog)
    modules = yaml.safe_load((catalog / "modules.yaml").read_text(encoding="utf-8"))
    next(m for m in modules["modules"] if m["code"] == "culture")["quiz"]["reveal_answers"] = False
    (catalog / "modules.yaml").write_text(yaml.safe_dump(modules, allow_unicode=True),
                                          encoding="utf-8")
    monkeypatch.setenv("JIELI_CATALOG_DIR", str(catalog))


def test_a_quiz_may_list_wrong_answers_without_the_right_ones(answers_kept: None,
                                                              forms: Forms):
    culture = assign(forms, "culture")["culture"]
    failed = forms.client.post(quiz_link(forms, culture), data=answers(8)).text
    assert "第 9/10 题" in failed and "第 10/10 题" in failed and "您的答案：" in failed
    assert "正确答案：" not in failed and "本测验不显示正确答案" in failed


def test_the_appraisal_form_shows_pass_mark_criteria_and_training(forms: Forms):
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules

    run_id = forms.start_run()
    (due,) = forms.sql("select due_at from handoffs where module_code = "
                       "'customer-communication'")[0]
    clock.use_clock(clock.VirtualClock(forms.moment(due) + timedelta(days=3, hours=-1)))
    try:  # marketing hands off three days after its due day
        deliver_materials(module_code="customer-communication", by_email=OWNER, via="cli")
    finally:
        clock.use_clock(clock.SystemClock())
    assign_ready_modules.fn(run_id)
    (assignment,) = forms.sql("select id from assignments")[0]
    link = quiz_link(forms, assignment)
    forms.client.post(link, data={})  # nothing answered: 0

    url = f"/appraise/{run_id}?t={forms.token('appraise', MANAGER, str(run_id))}"
    form = forms.client.get(url).text
    assert "每项标准都达到 60 分才算通过" in form
    assert "情景模拟" in form and "方案讲解" in form
    for criterion in ("实操", "内容", "表达"):
        assert f">{criterion}</label>" in form
    assert "客户沟通：</strong>学习中" in form and "学习中（目前成绩：0；及格线 80 分）" in form
    assert "市场部 晚交资料 3 天" in form
    assert "企业文化：</strong>未开始" in form and "未开始：培训资料尚未交接" in form
    assert "仍未交接" not in form  # the other hand-offs are not due yet
    token = forms.token("appraise", MANAGER, str(run_id), valid_for=timedelta(days=30))
    clock.use_clock(clock.VirtualClock(forms.moment(due) + timedelta(days=5, hours=-1)))
    try:  # five days after the hand-off due day, proposal writing is still owed
        later = forms.client.get(f"/appraise/{run_id}?t={token}").text
    finally:
        clock.use_clock(clock.SystemClock())
    assert "方案撰写：</strong>" in later and "资料已逾期 5 天，市场部仍未交接" in later
    assert "市场部 晚交资料 3 天" in later  # delivered late stays delivered late

    scores = {"score-scenario-simulation-practice": "70",
              "score-proposal-presentation-content": "70",
              "score-proposal-presentation-delivery": "70"}
    assert forms.client.post(url, data=scores).status_code == 200
    spent = forms.client.get(url)
    assert spent.status_code == 410 and said_used(forms, "周强") in spent.text
    # Another link to the same appraisal (a reminder's, say) says the same before any typing.
    token = forms.token("appraise", MANAGER, str(run_id))
    other = forms.client.get(f"/appraise/{run_id}?t={token}")
    assert other.status_code == 410 and said_used(forms, "周强") in other.text
    assert 'type="number"' not in other.text


def test_unknown_addresses_and_methods_get_a_page_in_the_readers_language(forms: Forms):
    missing = forms.client.get("/no/such/page")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "此地址没有页面" in missing.text and 'href="/"' in missing.text
    english = forms.client.get("/no/such/page", headers={"Accept-Language": "en-GB,en"})
    assert "There is no page at this address" in english.text and 'lang="en"' in english.text
    assert "detail" not in english.text

    wrong_method = forms.client.put("/", headers={"Accept-Language": "en"})
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET"
    assert "This page cannot be used that way" in wrong_method.text
    assert "无法以这种方式使用此页面" in forms.client.delete("/healthz").text
    run_id = forms.start_run()
    token = forms.token("appraise", MANAGER, str(run_id))
    malformed = forms.client.post(f"/appraise/{run_id}?t={token}", content=b"--x\r\n",
                                  headers={"Content-Type": "multipart/form-data"})
    assert malformed.status_code == 400 and "无法读取这次提交" in malformed.text
