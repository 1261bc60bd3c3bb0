"""The appraiser scores the probation review from the emailed link."""

from __future__ import annotations

import re

from tests.forms.conftest import Forms

MANAGER = "zhou.qiang@example.com"  # marketing's manager
SCORES = {"score-scenario-simulation-practice": "55", "score-proposal-presentation-content": "85",
          "score-proposal-presentation-delivery": "50", "comment-scenario-simulation": "话术生硬"}


def test_the_manager_scores_each_criterion_once(forms: Forms):
    run_id = forms.start_run()
    url = f"/appraise/{run_id}?t={forms.token('appraise', MANAGER, str(run_id))}"
    form = forms.client.get(url)
    assert form.status_code == 200 and "试用期考核：张伟" in form.text and "情景模拟" in form.text

    bad = forms.client.post(url, data={**SCORES, "score-scenario-simulation-practice": "150"})
    assert bad.status_code == 422 and "0 到 100 之间的整数" in bad.text
    marked = re.search(r'<input [^>]*name="score-scenario-simulation-practice"[^>]*>', bad.text)
    assert marked and 'value="150"' in marked.group(0) and 'aria-invalid="true"' in marked.group(0)
    assert bad.text.count('aria-invalid="true"') == 1 and 'value="85"' in bad.text
    assert forms.counts()["appraisal_scores"] == 0

    done = forms.client.post(url, data=SCORES)
    assert done.status_code == 200 and "考核结果已记录" in done.text
    rows = forms.sql("select item, criterion, score, comment from appraisal_scores order by 1, 2")
    assert rows == [
        ("proposal-presentation", "content", 85, ""),
        ("proposal-presentation", "delivery", 50, ""),
        ("scenario-simulation", "practice", 55, "话术生硬")]
    before = forms.counts()
    assert forms.client.post(url, data=SCORES).status_code == 410
    assert forms.refused(before, 1) == ["refused-link:used"]


def test_another_departments_manager_may_not_score(forms: Forms):
    run_id = forms.start_run()
    token = forms.token("appraise", "emily.chen@example.com", str(run_id))
    response = forms.client.post(f"/appraise/{run_id}?t={token}", data=SCORES)
    assert response.status_code == 403 and "Nothing was changed" in response.text  # her locale
    assert forms.counts()["appraisal_scores"] == 0
