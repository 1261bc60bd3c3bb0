"""Chinese that reads right everywhere: names instead of codes, days as people write them.

One hire's relay is played on real storage (hand-offs, study, a passed quiz, the appraisal
day, a failed appraisal and its findings); then every page, email, artifact and CLI table a
person reads from it is collected as visible text and searched for the catalog's codes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_string, policy
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from storage import clock, repo
from tasks.dates import local_date, spoken_day
from tasks.env import reading
from tests.forms.conftest import Forms
from tests.forms.relay import APPRAISER, HIRE, HR, MARKETING_OWNER, assignment_of, play_relay
from tests.security.conftest import server, sign_in  # noqa: F401  (server: a fixture)
from tests.visible_text import Reading, visible

URL = re.compile(r"https?://\S+")
ADDRESS = re.compile(r"[\w.+-]+@[\w.-]+")  # an email address is data, not a code


def artifacts(run_id: int, locale: str) -> dict[str, str]:
    """What the Prefect run shows: its name, artifacts and log line (the renderers that
    publish_status and attribute publish), without the markdown's escapes."""
    from tasks.reports.relay import (
        blocking_markdown,
        leg_rows,
        legs_markdown,
        pass_story,
        view_run,
        waiting_name,
    )
    from tasks.reports.verdict import verdict_markdown, verdict_of
    from tasks.runs import flow_run_name

    with reading() as session:
        run = repo.get_run(session=session, run_id=run_id)
        now = clock.now()
        view = view_run(session=session, run=run, now=now, locale=locale)
        rows = leg_rows(session=session, run=run, now=now, locale=locale)
        verdict = verdict_of(session, run_id)
        shown = {
            "run name": f"{flow_run_name(run)} · {waiting_name(view, locale)}",
            "blocking artifact": blocking_markdown(view, run.hire.name, locale),
            "legs artifact": legs_markdown(rows, run.hire.name, locale),
            "log line": pass_story(3, view, rows, verdict, locale),
        }
        if verdict.findings:
            shown["verdict artifact"] = verdict_markdown(run.hire.name, verdict, run.plan,
                                                         locale)
    return {k: re.sub(r"\\(.)", r"\1", v) for k, v in shown.items()}


def emails(forms: Forms) -> dict[str, str]:
    """Each email's subject and text part, minus its links."""
    found = {}
    for key, raw in forms.sql("select key, message from outbox order by id"):
        message = message_from_string(raw, policy=policy.default)
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        found[f"email {key}"] = URL.sub(" ", f"{message['Subject']}\n{text}")
    return found


def pages(forms: Forms, run_id: int) -> dict[str, str]:
    """The pages each person opens, as their visible text."""
    study = assignment_of(forms, run_id, "customer-communication")
    links = {
        "hand-off form": f"/handoff/product-knowledge?t="
                         f"{forms.token('handoff', MARKETING_OWNER, 'product-knowledge')}",
        "study page": f"/study/{study}?t={forms.token('study', HIRE, str(study))}",
        "quiz page": f"/quiz/{study}?t={forms.token('quiz', HIRE, str(study))}",
        "appraisal form": f"/appraise/{run_id}?t="
                          f"{forms.token('appraise', APPRAISER, str(run_id))}",
        "record page": f"/record/{run_id}?t={forms.token('record', HR, str(run_id))}",
        "HR overview": "/hr", "HR run page": f"/hr/runs/{run_id}",
        "RACI page": "/hr/positions/marketing-specialist",
    }
    shown = {}
    for where, url in links.items():
        response = forms.client.get(url)
        # Once scored, the appraisal link shows when and by whom (410): read that page too.
        spent = where == "appraisal form" and response.status_code == 410
        assert response.status_code == 200 or spent, (where, response.text)
        shown[where] = visible(response.text)
    return shown


def fail_the_appraisal(forms: Forms, run_id: int) -> None:
    """The manager scores both items below the pass mark where it hurts; the findings follow."""
    from tasks.attribution import attribute

    token = forms.token("appraise", APPRAISER, str(run_id))
    answer = forms.client.post(f"/appraise/{run_id}?t={token}", data={
        "score-scenario-simulation-practice": "40", "score-proposal-presentation-content": "80",
        "score-proposal-presentation-delivery": "40"})
    assert answer.status_code == 200, answer.text
    attribute.fn(run_id)


def test_pages_emails_artifacts_and_cli_tables_show_names_and_days_not_codes(
        forms: Forms):
    today = local_date(clock.now())
    start = today - timedelta(days=40)  # the hire started 40 days ago: the appraisal is due
    run_id = play_relay(forms, start)
    sign_in(forms, HR)
    before = Reading({**pages(forms, run_id), **artifacts(run_id, "zh_CN")})
    fail_the_appraisal(forms, run_id)
    after = Reading({**pages(forms, run_id), **artifacts(run_id, "zh_CN"), **emails(forms)})

    from deployments import cli

    for command in (["runs"], ["outbox", "--all"], ["catalog", "show"]):
        # Wide enough that no cell is wrapped mid-word. (Not by setting the console's width:
        # undoing that pins every later command's console to the width it had.)
        result = CliRunner().invoke(cli.app, ["--as", HR, *command], env={"COLUMNS": "400"})
        assert result.exit_code == 0, result.output
        lines = ADDRESS.sub(" ", result.output).splitlines()
        if command == ["catalog", "show"]:  # its first column is the code, on purpose
            lines = [line.split("│", 2)[-1] for line in lines]
        if command[0] == "outbox":  # its last column is the SMTP server's own words
            lines = [line.rsplit("│", 2)[0] for line in lines]
        after.add("jieli " + " ".join(command), "\n".join(lines))

    assert before.problems("zh_CN") == {}
    assert after.problems("zh_CN") == {}
    for where in ("email verdict", "email handoff-request", "email assignment",
                  "email appraisal-request", "verdict artifact", "HR run page", "record page"):
        assert any(k.startswith(where) for k in after.texts), where

    # What the reader does see: who does what, in the tense of the day.
    first_day = spoken_day(start, "zh_CN")
    overview = before.texts["HR overview"]
    assert f"已于{first_day}入职" in overview and "进行中" in overview
    assert "待新员工 张伟 学习「客户沟通」并通过测验" in overview
    assert "待人力资源部 刘芳 提交「规章制度」的培训资料" in overview
    assert "待市场部 周强 完成试用期考核评分" in overview
    assert "技术部" not in overview
    assert f"已于{first_day}入职" in after.texts["record page"]
    verdict = next(t for k, t in after.texts.items() if k.startswith("email verdict"))
    assert "表达能力不足" in verdict and "补训模块：表达与演示技巧" in verdict
    assert "责任方：人力资源部" in verdict
    assert "实操" in before.texts["appraisal form"]
    assert "待新员工、人力资源部、市场部处理" in before.texts["run name"]
    assert "卡在谁那里" in before.texts["blocking artifact"]


def test_english_readers_get_the_same_pages_in_english_without_codes(forms: Forms):
    run_id = play_relay(forms, local_date(clock.now()) + timedelta(days=3))
    sign_in(forms, HR)
    forms.client.get("/language/en?next=/hr")  # the reader's choice, kept in a cookie
    shown = Reading({**pages(forms, run_id), **artifacts(run_id, "en")})
    assert shown.problems("en") == {}
    overview = shown.texts["HR overview"]
    assert "Waiting for 张伟 (new hire) to study" in overview
    assert "Waiting for 李娜 (Marketing) to hand off the materials of" in overview
    assert "Joins on " in overview and "Practice" in shown.texts["appraisal form"]


def test_every_page_links_to_itself_in_the_other_language_keeping_its_link(forms: Forms):
    run_id = forms.start_run()
    study = None
    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules

    deliver_materials(module_code="culture", by_email=HR, via="cli")
    assign_ready_modules.fn(run_id)
    study = assignment_of(forms, run_id, "culture")
    url = f"/study/{study}?t={forms.token('study', HIRE, str(study))}"
    page = forms.client.get(url)
    assert page.status_code == 200 and "学习：企业文化" in page.text
    switch = re.search(r'<nav class="language"><a href="([^"]+)"[^>]*>([^<]+)</a>', page.text)
    assert switch is not None and switch.group(2) == "English"
    assert unquote(switch.group(1).split("next=", 1)[1]) == url  # the token, unchanged

    english = forms.client.get(switch.group(1).replace("&amp;", "&"))
    assert english.status_code == 200 and str(english.url).endswith(url)
    assert "Study: Company culture" in english.text
    assert '<html lang="en">' in english.text and ">中文</a>" in english.text
    # The choice holds on the next page too, though the hire's own language is Chinese.
    assert "Take the quiz" in forms.client.get(url).text

    # A page of another site is never where the switch leads.
    for elsewhere in ("https://evil.example/x", "//evil.example/x", "/\\evil.example"):
        answer = forms.client.get("/language/zh_CN", params={"next": elsewhere},
                                  follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert "学习：企业文化" in forms.client.get(url).text


@pytest.mark.slow
def test_a_hire_switches_the_study_page_to_english_and_back_in_chromium(
        forms: Forms, server: str, browser):  # noqa: F811
    """In Debian's chromium on a phone screen: the link, the redirect and the cookie."""
    from pathlib import Path

    from tasks.handoff import deliver_materials
    from tasks.learning import assign_ready_modules

    run_id = forms.start_run()
    deliver_materials(module_code="culture", by_email=HR, via="cli")
    assign_ready_modules.fn(run_id)
    study = assignment_of(forms, run_id, "culture")
    url = f"{server}/study/{study}?t={forms.token('study', HIRE, str(study))}"
    shots = Path("test-artifacts/screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(url)
    assert page.locator("h1").inner_text() == "学习：企业文化"
    page.get_by_role("link", name="English").click()
    page.wait_for_url(url)  # the same page, its link token unchanged
    assert page.locator("h1").inner_text() == "Study: Company culture"
    assert page.locator("html").get_attribute("lang") == "en"
    page.screenshot(path=str(shots / "words-study-en-390.png"))
    page.get_by_role("link", name="Take the quiz").click()  # the choice holds on the next page
    assert page.locator("h1").inner_text() == "Quiz: Company culture"
    page.get_by_role("link", name="中文").click()
    assert page.locator("h1").inner_text() == "测验：企业文化"
    page.screenshot(path=str(shots / "words-quiz-zh-390.png"))
    context.close()
