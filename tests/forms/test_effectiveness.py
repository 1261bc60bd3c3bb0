"""The training effectiveness page on HR's pages: the boss picks a module and a metric and reads
the figures, in names not codes, with the caution; nobody signed out sees them."""

from __future__ import annotations

import re
from pathlib import Path

from tests.forms.conftest import Forms
from tests.security.conftest import sign_in
from tests.tasks.planted import METRIC, MODULE, plant

BOSS = "boss@example.com"


def text(html: str) -> str:
    """The page's words without its markup, as a reader sees them."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_boss_reads_the_figures_of_a_module_by_its_name(forms: Forms, tmp_path: Path):
    plant(tmp_path, completers=40, others=40, effect=1.30)
    sign_in(forms, BOSS)
    assert 'href="/hr/effectiveness"' in forms.client.get("/hr").text  # reached from HR's home

    page = forms.client.get("/hr/effectiveness", params={"module": MODULE, "metric": METRIC})
    assert page.status_code == 200
    words = text(page.text)
    assert "客户沟通 · 销售额" in words
    assert re.search(r"已完成（完成之后的月份） 40 1\d,\d{3}\.\d\d", words), words
    assert re.search(r"未完成 40 \d{1,2},\d{3}\.\d\d", words), words
    lift = re.search(r"提升：\+(\d+\.\d)%", words)
    assert lift and 25 < float(lift.group(1)) < 35, words
    assert "其中 40 人在旧系统中完成" in words and "提示" not in words
    assert f'<option value="{MODULE}" selected>客户沟通</option>' in page.text
    assert f">{MODULE}<" not in page.text  # the code is the option's value, never its text

    english = forms.client.get("/hr/effectiveness", params={"module": MODULE, "metric": METRIC},
                               cookies={"jieli_lang": "en"})
    assert "Customer communication · 销售额" in text(english.text)


def test_a_group_of_three_shows_its_caution(forms: Forms, tmp_path: Path):
    plant(tmp_path, completers=3, others=60, effect=1.30)
    sign_in(forms, BOSS)
    words = text(forms.client.get("/hr/effectiveness").text)  # the first module with data
    assert "客户沟通 · 销售额" in words
    assert "提示：完成「客户沟通」且之后有「销售额」数据的员工只有 3 人" in words


def test_an_unknown_choice_keeps_the_form_and_says_what_to_fix(forms: Forms, tmp_path: Path):
    plant(tmp_path, completers=3, others=3, effect=1.0)
    sign_in(forms, BOSS)
    page = forms.client.get("/hr/effectiveness", params={"module": MODULE, "metric": "利润"})
    assert page.status_code == 422 and "指标：请从列表中选择" in page.text
    assert '<select id="metric" name="metric">' in page.text


def test_before_any_figures_are_imported_the_page_says_how_to_get_them(forms: Forms):
    sign_in(forms, "liu.fang@example.com")
    page = forms.client.get("/hr/effectiveness")
    assert page.status_code == 200 and "还没有导入月度指标" in page.text


def test_without_signing_in_the_figures_stay_hidden(forms: Forms, tmp_path: Path):
    plant(tmp_path, completers=40, others=40, effect=1.30)
    page = forms.client.get("/hr/effectiveness", params={"module": MODULE, "metric": METRIC})
    assert page.status_code == 401 and "销售额" not in page.text
