"""Hostile hire names through the whole stack: refused where no output can carry them,
otherwise shown as typed in every output (email, CLI tables, Prefect artifacts, pages).

What is refused and why is decided in storage/names.py: a line break can never be part of a
name; quotes, brackets and markdown do occur in real names and imported data, so they are
accepted and each output escapes them with its own tool.
"""

from __future__ import annotations

import html
import re
import subprocess

import markupsafe
import pytest
from markdown_it import MarkdownIt
from sqlalchemy import create_engine, text

from tests.flows import conftest as flows
from tests.flows.conftest import Live, blocking_markdown, wait_for

stack = flows.live  # the `live` fixture: a whole stack shared by this module's tests

pytestmark = pytest.mark.slow

HR_OWNER = "liu.fang@example.com"
MARKETING_OWNER = "li.na@example.com"
HOSTILE = {
    "quotes": 'Evil "Q" <x@evil>',
    "rich": "赵六 [/red][bold]",
    "markdown": "![x](http://evil/x.png) [y](javascript:alert(1)) | a |",
}


def jieli(stack: Live, *args: str) -> subprocess.CompletedProcess:
    """The CLI as HR runs it, on a terminal wide enough that no cell wraps."""
    return stack.jieli(*args, check=False, COLUMNS="400")


def render_markdown(markdown: str) -> str:
    """The artifact as a CommonMark renderer with tables (as the Prefect UI) shows it."""
    return MarkdownIt("commonmark").enable("table").render(markdown)


@pytest.fixture(scope="module")
def culture_delivered(stack: Live) -> None:
    """HR's culture materials exist, so every hire is emailed a study link at the first pass."""
    result = jieli(stack, "deliver", "culture", "--by", HR_OWNER)
    assert result.returncode == 0, result.stderr


def test_a_name_with_a_line_break_is_refused_and_nothing_is_stored(stack: Live):
    email = "crlf@example.com"
    result = jieli(stack, "hire", "--name", "张伟\r\nBcc: x@evil", "--email", email,
                   "--position", "marketing-specialist", "--start", "2026-12-01")
    assert result.returncode == 1
    assert "line break" in result.stderr and "--name" in result.stderr
    assert "Traceback" not in result.stderr
    assert stack.sql("select count(*) from people where email = :e", e=email) == [(0,)]
    assert stack.sql("select count(*) from audit_log where action = 'run-started' and "
                    "detail like :e", e=f"%{email}%") == [(0,)]


def test_an_address_with_a_display_name_is_refused(stack: Live):
    result = jieli(stack, "hire", "--name", "张伟", "--email", "x@evil>, <boss@example.com",
                   "--position", "marketing-specialist", "--start", "2026-12-01")
    assert result.returncode == 1
    assert "is not an email address" in result.stderr
    assert stack.sql("select count(*) from people where email like '%evil%'") == [(0,)]


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_name_is_accepted_and_shown_as_typed_everywhere(
        stack: Live, culture_delivered: None, case: str):
    name, email = HOSTILE[case], f"hostile.{case}@example.com"

    # Earlier hires' hand-off requests a week old: this hire's owners are asked again instead
    # of the request being folded into a recent one (tasks/handoff.py).
    engine = create_engine(stack.settings.storage_url)
    with engine.begin() as c:
        c.execute(text("update outbox set created_at = :t where kind = 'handoff-request'"),
                  {"t": "2026-01-01 00:00:00.000000"})
    engine.dispose()
    hired = jieli(stack, "hire", "--name", name, "--email", email,
                  "--position", "marketing-specialist", "--start", "2026-12-01")
    assert hired.returncode == 0, hired.stderr
    assert f"已为 {name} 启动：" in hired.stdout
    run_id = int(hired.stdout.split("#", 1)[1].split()[0])
    flow_run = stack.wait_state(run_id, "Suspended", min_pass=1, timeout=180)

    # Email: the hire's study email arrives, parses, and carries the name as typed.
    mail = wait_for(lambda: stack.mail(email), 20, what="the hire's email")
    assert len(mail) == 1
    (to,) = mail[0]["To"].addresses
    assert (to.display_name, to.addr_spec) == (name, email)
    page = mail[0].get_body(("html",)).get_content()
    assert str(markupsafe.escape(name)) in page and "<x@evil>" not in page  # autoescaped
    owners = wait_for(lambda: [m for m in stack.mail(MARKETING_OWNER)
                               if name in str(m["Subject"])], 20, what="the owner's email")
    (owner,) = owners  # one email per owner per pass, listing every module it owes
    listed = owner.get_body(("plain",)).get_content()
    for code in ("product-knowledge", "customer-communication", "proposal-writing"):
        assert f"/handoff/{code}?t=" in listed
    assert wait_for(lambda: stack.sql(
        "select distinct status from outbox where run_id = :r", r=run_id) == [("sent",)],
        20, what="every message of the run sent")

    # CLI: the literal name in the tables, and no crash.
    for args in (["runs"], ["outbox", "--all"]):
        shown = jieli(stack, *args)
        assert shown.returncode == 0, shown.stderr
        assert name in shown.stdout, shown.stdout[-2000:]

    # Prefect: the boss's "who the run waits on" artifact has no image or link, and every row
    # of its table keeps its five cells; the hire's study row names them as typed.
    rendered = render_markdown(blocking_markdown(stack, flow_run["id"]))
    assert "<a " not in rendered and "<img" not in rendered and "href" not in rendered
    rows = re.findall(r"<tr>(.*?)</tr>", rendered, re.S)
    assert rows and all(len(re.findall(r"<t[hd]>", row)) == 5 for row in rows)
    heading = re.search(r"<h1>(.*?)</h1>", rendered).group(1)  # type: ignore[union-attr]
    assert html.unescape(heading).endswith(name)
    study = [row for row in rows if "学习「企业文化」" in row]
    cells = re.findall(r"<td>(.*?)</td>", study[0]) if study else []
    assert cells and html.unescape(cells[0]) == f"新员工 {name}"
