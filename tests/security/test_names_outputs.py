"""Names where they enter without a stack: the catalog's people, and the outputs built by
pure functions (the verdict artifact, the attention email)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from storage.catalog import DEFAULT_CATALOG_DIR, CatalogInvalid, load_catalog
from storage.names import InvalidPerson, check_email, check_name

MARKDOWN_NAME = "![x](http://evil/x.png) [y](javascript:alert(1)) | a |"


@pytest.mark.parametrize("name, fix", [
    ("张伟\r\nBcc: x@evil", "line break"), ("张伟\u202egnp.exe", "control character"),
    ("", "empty"), ("伟" * 101, "at most 100")])
def test_a_name_no_output_can_carry_is_refused_with_what_to_fix(name: str, fix: str):
    with pytest.raises(InvalidPerson, match=fix):
        check_name(name)


@pytest.mark.parametrize("name", ['Robert "Bob" Smith', "赵六 [/red]", MARKDOWN_NAME,
                                  "Zoë O'Brien-Łukasz", "محمد\u200cرضا"])
def test_real_names_with_quotes_brackets_or_joiners_are_accepted(name: str):
    assert check_name(f"  {name} ") == name


@pytest.mark.parametrize("address", ["x@evil>, <boss@example.com", "张伟 <z@example.com>",
                                     "a b@example.com", "a@b@example.com", "z@example.com\r\n",
                                     "z@-example.com", "张@example.com"])
def test_an_address_is_refused_unless_it_is_a_plain_address(address: str):
    if address.strip() != address:
        assert check_email(address) == address.strip()  # surrounding space is trimmed only
        return
    with pytest.raises(InvalidPerson, match="email address"):
        check_email(address)


def test_a_catalog_person_with_a_line_break_in_the_name_is_a_catalog_error(tmp_path: Path):
    catalog = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, catalog)
    departments = catalog / "departments.yaml"
    departments.write_text(departments.read_text(encoding="utf-8").replace(
        "name: 李娜", 'name: "李娜\\nBcc: x@evil"'), encoding="utf-8")
    with pytest.raises(CatalogInvalid) as refused:
        load_catalog(catalog)
    assert any("line break" in str(e) and "departments.yaml" in str(e)
               for e in refused.value.errors)


def test_the_verdict_artifact_shows_a_markdown_name_as_text():
    from storage.repo import plan_for
    from tasks.env import get_catalog
    from tasks.reports.verdict import Verdict, verdict_markdown

    verdict = Verdict(outcome="failed", findings=[{
        "item": "scenario-simulation", "cause": "not-delivered", "responsible": "marketing",
        "evidence": [f"{MARKDOWN_NAME} 未收到资料", "<script>x</script>"],
        "remedial": ["customer-communication"]}])
    rendered = MarkdownIt("commonmark").enable("table").render(
        verdict_markdown(MARKDOWN_NAME, verdict, plan_for(get_catalog(), "marketing-specialist"),
                         "zh_CN"))
    assert "<img" not in rendered and "<a " not in rendered and "<script>" not in rendered
    rows = re.findall(r"<tr>(.*?)</tr>", rendered, re.S)
    assert len(rows) == 2 and all(len(re.findall(r"<t[hd]>", r)) == 5 for r in rows)
    assert "| a |" in rendered  # the name's pipes, as text inside the heading and the cell


@pytest.mark.parametrize("locale, words", [("zh_CN", "停止"), ("en", "stopped")])
def test_the_attention_email_names_the_hire_the_error_and_the_command(locale: str, words: str):
    from tasks.email import Recipient, render

    message = render("attention", to=Recipient("刘芳", "liu.fang@example.com", locale),
                     hire='Evil "Q" <x@evil>', run_id=7, error="boom <b>", failures=3)
    assert words in str(message["Subject"]) and 'Evil "Q" <x@evil>' in str(message["Subject"])
    text = message.get_body(("plain",)).get_content()
    assert "jieli resume 7" in text and "boom <b>" in text
    page = message.get_body(("html",)).get_content()
    assert "boom &lt;b&gt;" in page and "<x@evil>" not in page
