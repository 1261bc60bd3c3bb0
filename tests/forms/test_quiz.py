"""The hire's side through the links: study, take the quiz, fail, retake, pass."""

from __future__ import annotations

import re

from storage.catalog import load_catalog
from tests.forms.conftest import Forms

HIRE = "zhang.wei@example.com"
QUESTIONS = load_catalog().modules["culture"].quiz.questions


def answers(right: int) -> dict[str, str]:
    """Answer the culture quiz with `right` correct answers out of 10."""
    return {f"q{i}": str(q.answer if i < right else (q.answer + 1) % len(q.choices))
            for i, q in enumerate(QUESTIONS)}


def assigned_culture(forms: Forms) -> int:
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules

    run_id = forms.start_run(position="python-developer")
    deliver_materials(module_code="culture", by_email="liu.fang@example.com", via="cli")
    assert assign_ready_modules.fn(run_id) == ["culture"]
    return forms.sql("select id from assignments where module_code = 'culture'")[0][0]


def quiz_link(forms: Forms, study_url: str) -> str:
    page = forms.client.get(study_url)
    assert page.status_code == 200
    return re.search(r'href="(/quiz/\d+\?t=[^"]+)"', page.text).group(1)


def test_fail_then_retake_and_pass(forms: Forms):
    assignment = assigned_culture(forms)
    study = f"/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}"
    page = forms.client.get(study)
    assert "学习：企业文化" in page.text and "《企业文化手册》" in page.text

    first = quiz_link(forms, study)
    form = forms.client.get(first)
    assert form.text.count('type="radio"') == sum(len(q.choices) for q in QUESTIONS)
    result = forms.client.post(first, data=answers(7))
    assert result.status_code == 200
    assert "得分 70；及格线 80 分" in result.text and "剩余机会：2 次" in result.text
    retest = forms.sql("select to_addr, kind from outbox where kind = 'retest'")
    assert len(retest) == 1 and HIRE in retest[0][0]

    before = forms.counts()
    assert forms.client.post(first, data=answers(10)).status_code == 410
    assert forms.refused(before, 1) == ["refused-link:used"]

    result = forms.client.post(quiz_link(forms, study), data=answers(8))  # 80 passes
    assert "得分 80；及格线 80 分" in result.text and "已通过" in result.text
    assert forms.sql("select status from assignments where id = :a", a=assignment) == \
        [("passed",)]
    assert forms.sql("select attempt_no, score, passed from quiz_attempts order by 1") == \
        [(1, 70, 0), (2, 80, 1)]
    assert forms.sql("select closed_at is not null from gates where kind = 'study'") == [(1,)]
    assert "参加测验" not in forms.client.get(study).text
    fresh = f"/quiz/{assignment}?t={forms.token('quiz', HIRE, str(assignment))}"
    closed = forms.client.post(fresh, data=answers(10))
    assert closed.status_code == 410 and "测验已关闭" in closed.text


def test_every_attempt_used(forms: Forms):
    assignment = assigned_culture(forms)
    study = f"/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}"
    for _ in range(3):
        result = forms.client.post(quiz_link(forms, study), data=answers(5))
    assert "所有机会已用完" in result.text
    assert forms.sql("select status from assignments") == [("failed",)]
    assert forms.sql("select count(*) from outbox where kind = 'retest'") == [(2,)]


def test_a_hire_cannot_take_someone_elses_quiz(forms: Forms):
    assignment = assigned_culture(forms)
    forms.start_run(email="other.hire@example.com", position="python-developer")
    token = forms.token("quiz", "other.hire@example.com", str(assignment))
    before = forms.counts()
    response = forms.client.post(f"/quiz/{assignment}?t={token}", data=answers(10))
    assert response.status_code == 403
    assert forms.refused(before, 1) == ["refused:quiz"]


def test_unreadable_answers_use_no_attempt(forms: Forms):
    assignment = assigned_culture(forms)
    study = f"/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}"
    link = quiz_link(forms, study)
    before = forms.counts()
    response = forms.client.post(link, data={"q0": "not-a-number"})
    assert response.status_code == 422 and "未占用测验机会" in response.text
    assert forms.counts() == before
    assert forms.client.post(link, data=answers(10)).status_code == 200  # link not spent
