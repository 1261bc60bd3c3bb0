"""Every page, as people see it: in Debian's chromium on a phone (390 px) and a desktop
(1280 px), in Chinese and in English, against the forms app served by uvicorn on one relay
played on real storage.

Each page is kept as a screenshot (test-artifacts/screenshots/pages/<page>-<locale>-<width>.png)
and fails when its visible text shows a catalog code or an ISO date, when a phone has to
scroll sideways (the page or a box in it), when it has no link to itself in the other language
or its `<html lang>` is not the reader's, when a Chinese page's heading has no Chinese or its
text has English left in it or Latin punctuation after Chinese, or when an English page shows
Chinese other than people's names. HR's session comes from the emailed sign-in link, opened
outside the browser (tests/security/test_browser_sessions.py signs in inside it).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import clock
from tasks.dates import local_date
from tasks.env import get_catalog
from tests.forms.conftest import Forms, module_forms  # noqa: F401  (the fixture)
from tests.forms.relay import APPRAISER, HIRE, HR, MARKETING_OWNER, play_relay
from tests.security.conftest import serving, sign_in, sign_in_link
from tests.visible_text import Reading

pytestmark = pytest.mark.slow

SHOTS = Path("test-artifacts/screenshots/pages")
# Han characters and CJK punctuation (，。：「」（）…), which an English page has no use for.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
# In Chinese text: Latin punctuation after a Chinese character (部门负责人: rather than ：), and
# English left untranslated (three words in a row; abbreviations such as PDF are no English).
HALF_WIDTH = re.compile(r"[\u4e00-\u9fff》」）][:;,?!]")
WORD = r"[A-Za-z]*[a-z][A-Za-z]*"
ENGLISH = re.compile(rf"\b{WORD}(?:[ '-]{WORD}){{2,}}\b")
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
OTHER = {"zh_CN": ("en", "English"), "en": ("zh-CN", "中文")}
# Each quiz allows 3 attempts: each language fails its own module's quiz once per width.
QUIZ_MODULE = {"zh_CN": "customer-communication", "en": "culture"}
HANDOFF_FORM, HANDOFF_REFUSED, HANDOFF_DONE = "etiquette", "rules", "product-knowledge"
# What a phone makes the reader swipe sideways to see: the page itself, or a box of it (a
# table in a scrolling box hides its last columns just as well). The page is measured against
# the screen (clientWidth): a phone widens window.innerWidth to whatever the page overflows to.
SIDEWAYS = """() => {
  const wide = [], page = document.documentElement;
  if (page.scrollWidth > page.clientWidth)
    wide.push(`page: ${page.scrollWidth} > ${page.clientWidth}`);
  for (const e of document.body.querySelectorAll("*"))
    if (e.scrollWidth > e.clientWidth + 1 && /auto|scroll/.test(getComputedStyle(e).overflowX))
      wide.push(`${e.tagName.toLowerCase()}: ${e.scrollWidth} > ${e.clientWidth}`);
  return wide;
}"""


@dataclass
class Site:
    """The forms app behind uvicorn, one relay on its storage, what each page needs."""

    forms: Forms
    base: str
    run_id: int
    hr_session: str
    sign_in_link: str  # asked for, opened by nobody yet
    spent_link: str  # a hand-off link that has submitted
    people: set[str]  # names of people (Chinese in any language)

    def assignment(self, module: str) -> int:
        return self.forms.sql("select id from assignments where run_id = :r and "
                              "module_code = :m", r=self.run_id, m=module)[0][0]

    def handoff_link(self, module: str) -> str:
        catalog = get_catalog()
        owner = catalog.departments[catalog.modules[module].owner].owner.email
        return f"/handoff/{module}?t={self.forms.token('handoff', owner, module)}"

    def hire_link(self, action: str, module: str) -> str:
        assignment = str(self.assignment(module))
        return f"/{action}/{assignment}?t={self.forms.token(action, HIRE, assignment)}"


@pytest.fixture(scope="module")
def site(module_forms: Forms) -> Iterator[Site]:  # noqa: F811
    """A marketing specialist who joined 40 days ago: materials partly handed off, modules
    assigned, one quiz passed, the appraisal due; HR signed in."""
    with serving() as base:
        forms = module_forms
        run_id = play_relay(forms, local_date(clock.now()) - timedelta(days=40))
        spent = "/handoff/customer-communication?t=" + forms.token(
            "handoff", MARKETING_OWNER, "customer-communication")
        materials = get_catalog().modules["customer-communication"].materials
        answer = forms.client.post(spent, data={
            f"link-{m.code}": f"pan.example.com/s/{m.code}" for m in materials})
        assert answer.status_code == 200, answer.text
        yield Site(forms=forms, base=base, run_id=run_id,
                   hr_session=sign_in(forms, HR), sign_in_link=sign_in_link(forms, HR),
                   spent_link=spent,
                   people={name for (name,) in forms.sql("select name from people")})


@dataclass
class View:
    """One browser context: a screen size and a language chosen with the pages' own link."""

    context: Any
    locale: str
    width: int


VIEWS = [("zh_CN", 390), ("en", 390), ("zh_CN", 1280), ("en", 1280)]


@pytest.fixture(scope="module", params=VIEWS, ids=[f"{lo}-{w}" for lo, w in VIEWS])
def view(request: pytest.FixtureRequest, site: Site, browser) -> Iterator[View]:
    locale, width = request.param
    phone = width == 390
    context = browser.new_context(
        viewport={"width": width, "height": 844 if phone else 800}, is_mobile=phone,
        has_touch=phone, locale="zh-CN")  # a Chinese office's browser; English is chosen
    context.add_cookies([{"name": "jieli_hr", "value": site.hr_session, "domain": "127.0.0.1",
                          "path": "/hr", "httpOnly": True, "sameSite": "Lax"}])
    page = context.new_page()
    page.goto(f"{site.base}/")
    if locale == "en":
        page.get_by_role("link", name="English").click()
        page.wait_for_url(f"{site.base}/")
    assert page.get_attribute("html", "lang") == HTML_LANG[locale]
    page.close()
    yield View(context, locale, width)
    context.close()


# --- how each page is reached: navigate (and act), return the HTTP status of the page -----


def submitted(page: Any) -> int:
    """Press the page's form's button; the status of the page it leads to."""
    with page.expect_navigation() as navigation:
        page.locator("form:not([action='/hr/sign-out']) button[type=submit]").click()
    return navigation.value.status


def fill_quiz(page: Any, module: str) -> None:
    """Seven answers right, three wrong: a result with a review and a retest."""
    for i, q in enumerate(get_catalog().modules[module].quiz.questions):
        choice = q.answer if i < 7 else (q.answer + 1) % len(q.choices)
        page.check(f'input[name="q{i}"][value="{choice}"]')


def go(path: Callable[[Site, View], str]) -> Callable[[Any, Site, View], int]:
    return lambda page, site, view: page.goto(site.base + path(site, view)).status


def handoff_refused(page: Any, site: Site, view: View) -> int:
    page.goto(site.base + site.handoff_link(HANDOFF_REFUSED))
    page.locator("input[name^='link-']").first.fill("pan")  # a word, no address
    return submitted(page)


def handoff_done(page: Any, site: Site, view: View) -> int:
    page.goto(site.base + site.handoff_link(HANDOFF_DONE))
    for field in page.locator("input[name^='link-']").all():
        field.fill(f"pan.example.com/s/{field.get_attribute('name')}")
    return submitted(page)


def quiz_result(page: Any, site: Site, view: View) -> int:
    module = QUIZ_MODULE[view.locale]
    page.goto(site.base + site.hire_link("quiz", module))
    fill_quiz(page, module)
    return submitted(page)


def too_large(page: Any, site: Site, view: View) -> int:
    """The sign-in form takes 4 KB: an address of 5 000 characters is refused unread."""
    page.goto(f"{site.base}/hr/sign-in")
    page.fill("#email", "x" * 5000 + "@example.com")
    return submitted(page)


def effectiveness(page: Any, site: Site, view: View) -> int:
    """Training effectiveness, on figures imported once (a metric named in English: a name an
    English page may show)."""
    from tests.tasks.planted import plant

    if not site.forms.sql("select count(*) from imported_metrics")[0][0]:
        plant(Path(tempfile.mkdtemp()), completers=40, others=3, effect=1.3, metric="Sales")
    return go(lambda s, v: "/hr/effectiveness")(page, site, view)


PAGES: dict[str, tuple[Callable[[Any, Site, View], int], int]] = {
    "home": (go(lambda s, v: "/"), 200),
    "hr-sign-in": (go(lambda s, v: "/hr/sign-in"), 200),
    "hr-sign-in-confirm": (go(lambda s, v: s.sign_in_link), 200),
    "hr-overview": (go(lambda s, v: "/hr"), 200),
    "hr-run": (go(lambda s, v: f"/hr/runs/{s.run_id}"), 200),
    "hr-raci": (go(lambda s, v: "/hr/positions/marketing-specialist"), 200),
    "hr-dashboard": (go(lambda s, v: "/hr/dashboard"), 200),
    "hr-start": (go(lambda s, v: "/hr/hires/new"), 200),
    "hr-employees": (go(lambda s, v: "/hr/employees"), 200),
    "hr-employee": (go(lambda s, v: f"/hr/runs/{s.run_id}/employee"), 200),  # its report
    "hr-effectiveness": (effectiveness, 200),
    "handoff": (go(lambda s, v: s.handoff_link(HANDOFF_FORM)), 200),
    "handoff-refused": (handoff_refused, 422),
    "handoff-done": (handoff_done, 200),
    "study": (go(lambda s, v: s.hire_link("study", "culture")), 200),
    "quiz": (go(lambda s, v: s.hire_link("quiz", "customer-communication")), 200),
    "quiz-result": (quiz_result, 200),
    "spent-link": (go(lambda s, v: s.spent_link), 410),
    "appraisal": (go(lambda s, v: f"/appraise/{s.run_id}?t="
                     f"{s.forms.token('appraise', APPRAISER, str(s.run_id))}"), 200),
    "record": (go(lambda s, v: f"/record/{s.run_id}?t="
                  f"{s.forms.token('record', HR, str(s.run_id))}"), 200),
    "not-found": (go(lambda s, v: "/no-such-page"), 404),
    "method": (go(lambda s, v: "/hr/hires"), 405),  # the start form's POST, opened as a GET
    "too-large": (too_large, 413),
}


def chinese_left(text: str, people: set[str]) -> list[str]:
    """The Chinese in an English page once people's names and the language link's 中文 go."""
    for name in sorted(people | {"中文"}, key=len, reverse=True):
        text = text.replace(name, " ")
    return CJK.findall(text)


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_reads_right_on_a_phone_and_a_desktop_in_both_languages(
        name: str, view: View, site: Site):
    open_page, status = PAGES[name]
    page = view.context.new_page()
    try:
        assert open_page(page, site, view) == status
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{view.locale}-{view.width}.png"),
                        full_page=True)
        text = page.inner_text("body")
        heading = page.locator("h1").inner_text()
        switch = page.locator("nav.language a")
        problems: dict[str, Any] = Reading({name: text}).problems(view.locale)
        if page.get_attribute("html", "lang") != HTML_LANG[view.locale]:
            problems["html lang"] = page.get_attribute("html", "lang")
        if switch.count() != 1 or (switch.get_attribute("hreflang"),
                                   switch.inner_text()) != OTHER[view.locale]:
            problems["language link"] = switch.all_inner_texts()
        if view.width == 390 and page.evaluate(SIDEWAYS):
            problems["scrolls sideways"] = page.evaluate(SIDEWAYS)
        if view.locale == "zh_CN" and not CJK.search(heading):
            problems["heading without Chinese"] = heading
        if view.locale == "zh_CN" and HALF_WIDTH.findall(text):
            problems["Latin punctuation in Chinese"] = HALF_WIDTH.findall(text)
        if view.locale == "zh_CN" and ENGLISH.findall(text):
            problems["English in Chinese"] = ENGLISH.findall(text)
        # People's names include those of employees imported meanwhile (the employee list).
        people = site.people | {n for (n,) in site.forms.sql("select name from imported_employees")}
        if view.locale == "en" and chinese_left(text, people):
            problems["Chinese in English"] = chinese_left(text, people)
        assert problems == {}, text
    finally:
        page.close()
