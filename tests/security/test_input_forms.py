"""A field sent twice is refused; text over its limit is refused with what was typed kept."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from storage.catalog import load_catalog
from tests.forms import conftest
from tests.forms.conftest import Forms

forms = conftest.forms  # the fixture: the forms app in-process on real SQLite

HIRE = "zhang.wei@example.com"
OWNER = "li.na@example.com"
MANAGER = "zhou.qiang@example.com"
QUESTIONS = load_catalog().modules["culture"].quiz.questions
SCORES = {"score-scenario-simulation-practice": "55", "score-proposal-presentation-content": "85",
          "score-proposal-presentation-delivery": "50"}


def post_fields(forms: Forms, url: str, fields: list[tuple[str, str]]):
    """POST form fields as given, repeats included (a dict could not repeat a field)."""
    return forms.client.post(url, content=urlencode(fields),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})


def culture_quiz_url(forms: Forms) -> str:
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules

    run_id = forms.start_run(position="python-developer")
    deliver_materials(module_code="culture", by_email="liu.fang@example.com", via="cli")
    assign_ready_modules.fn(run_id)
    assignment = forms.sql("select id from assignments where module_code = 'culture'")[0][0]
    return f"/quiz/{assignment}?t={forms.token('quiz', HIRE, str(assignment))}"


def test_a_quiz_answer_sent_twice_is_refused_and_uses_no_attempt(forms: Forms):
    url = culture_quiz_url(forms)
    right = [(f"q{i}", str(q.answer)) for i, q in enumerate(QUESTIONS)]
    wrong = ("q0", str((QUESTIONS[0].answer + 1) % len(QUESTIONS[0].choices)))
    response = post_fields(forms, url, [wrong, *right])
    assert response.status_code == 422
    assert "无法识别这些答案" in response.text
    assert forms.sql("select count(*) from quiz_attempts") == [(0,)]
    # The link was not spent: the same link then takes one answer per question.
    assert "得分 100" in forms.client.post(url, data=dict(right)).text


def test_an_appraisal_score_sent_twice_is_refused(forms: Forms):
    run_id = forms.start_run()
    url = f"/appraise/{run_id}?t={forms.token('appraise', MANAGER, str(run_id))}"
    fields = [*SCORES.items(), ("score-scenario-simulation-practice", "95")]
    response = post_fields(forms, url, fields)
    assert response.status_code == 422 and "重复的栏目" in response.text
    assert forms.sql("select count(*) from appraisal_scores") == [(0,)]


def test_a_5000_character_comment_is_refused_and_kept(forms: Forms):
    run_id = forms.start_run()
    url = f"/appraise/{run_id}?t={forms.token('appraise', MANAGER, str(run_id))}"
    comment = "话术生硬，需要<多练>。" * 416 + "继续练习下周复评"  # 5,000 characters
    assert len(comment) == 5000
    response = forms.client.post(url, data={**SCORES, "comment-scenario-simulation": comment})
    assert response.status_code == 422
    assert "评语有 5000 字，请删减到 2000 字以内" in response.text
    assert html.escape(comment, quote=False) in response.text  # kept in the form
    assert 'value="85"' in response.text  # and so are the scores
    assert forms.sql("select count(*) from appraisal_scores") == [(0,)]
    done = forms.client.post(url, data={**SCORES, "comment-scenario-simulation": comment[:2000]})
    assert done.status_code == 200
    assert forms.sql("select length(comment) from appraisal_scores where item = "
                     "'scenario-simulation'") == [(2000,)]


def test_an_over_long_handoff_note_is_refused_and_kept(forms: Forms):
    forms.start_run()
    url = f"/handoff/customer-communication?t=" \
          f"{forms.token('handoff', OWNER, 'customer-communication')}"
    links = {f"link-{m}": f"https://docs.example.com/{m}" for m in
             ["communication-scripts", "objection-cases", "communication-assessment"]}
    note = "先看话术模板。" * 500
    response = forms.client.post(url, data={**links, "note": note})
    assert response.status_code == 422
    assert "说明有 3500 字" in response.text and note in response.text
    assert 'value="https://docs.example.com/objection-cases"' in response.text
    assert forms.sql("select count(*) from deliveries") == [(0,)]
    repeated = post_fields(forms, url, [*links.items(), ("note", "a"), ("note", "b")])
    assert repeated.status_code == 422 and "重复的栏目" in repeated.text
