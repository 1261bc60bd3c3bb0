"""The department pages: a department's owner keeps the modules it owns (HR: the general ones).

- `/dept/sign-in`: an owner asks for a sign-in link, emailed like HR's (tasks/sign_in.py, area
  `dept`) and bound to the department they own (`/dept/sign-in/<department>/confirm`); its
  button opens a server-side session behind the cookie `jieli_dept` (limited to /dept,
  HttpOnly, SameSite=Lax, Secure as HR's is), and every POST carries the session's CSRF token
  (forms/sessions.py).
- `/dept`: the modules the signed-in person owns, each with its current materials and quiz
  versions, the hires waiting on its hand-off and those studying it.
- `/dept/modules/<code>`: the module's materials (the current version and every earlier one,
  with their files), a form to add a material, the quiz's versions.
- `/dept/modules/<code>/materials/<material>`: one material through the versions, a form to
  replace it (or put it back once archived) and a button to archive it.
- `/dept/modules/<code>/quiz`: the quiz form, checked before anything is saved.

The session only says who is there. Each page and action of a module asks the permission
matrix through the domain functions (tasks/module_versions.py, tasks/quizzes.py): `edit-module`
for the materials, `edit-quiz` for the quiz, on the module's department; a refusal is a 403
page and one audit row, and it comes before the form's input is looked at.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import FormData, UploadFile

from forms.language import chosen_locale
from forms.limits import repeated_fields
from forms.links import LinkProblem, Visit, Visitor, request_locale, visit
from forms.pages import page
from forms.security import Refused
from forms.sessions import cookie_is_secure, csrf_token
from storage import clock, repo
from storage.models import Person
from tasks.env import get_catalog, reading, transaction
from tasks.i18n import normalize_locale
from tasks.materials import (
    ACCEPTED_SUFFIXES,
    MAX_FILE_BYTES,
    FileRefused,
    NotAWebAddress,
    Upload,
    check_upload,
    safe_file_name,
    web_address,
)
from tasks.module_versions import (
    MAX_TITLE_CHARS,
    LastMaterial,
    NewVersion,
    NoVersionYet,
    UnknownMaterial,
    add_material,
    archive_material,
    check_owner,
    open_material,
    open_module,
    owned_modules,
    replace_material,
    version_file,
)
from tasks.permissions import NotPermitted
from tasks.quizzes import (
    CHOICES,
    LANGUAGES,
    MAX_QUESTIONS,
    QuestionDraft,
    QuizDraft,
    QuizInvalid,
    current_quiz,
    edit_quiz,
)
from tasks.sign_in import (
    SESSION_VALID_FOR,
    RateLimited,
    end_session,
    live_session,
    open_session,
    request_sign_in,
    send_sign_in,
)

router = APIRouter()

COOKIE = "jieli_dept"
COOKIE_PATH = "/dept"
MAX_TEXT_CHARS = 2000  # a note to the hires
MAX_LINK_CHARS = 1800  # the stored link's column holds 2000, after normalisation
MAX_FIELD_CHARS = 2000  # any quiz field as sent (the quiz's own bound is checked after)


# --- the session ------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """The signed-in person on a department page."""

    person: Visitor
    locale: str
    session_id: str
    csrf: str


def _admit(session_id: str, locale: str, path: str, chosen: str | None) -> Owner:
    found = live_session(session_id)
    if found is None:
        with transaction() as session:
            repo.audit(session=session, actor="unknown", action="refused-session:ended",
                       object_type="area", object_id="dept", via="session", now=clock.now(),
                       detail={"path": path[:200]})
        raise Refused(401, "dept-signed-out", locale)
    with reading() as session:
        person = session.get_one(Person, found.person_id)
        visitor = Visitor(person.id, person.name, person.email, person.locale)
    locale = chosen or (normalize_locale(visitor.locale) if visitor.locale else locale)
    return Owner(visitor, locale, session_id, csrf_token(session_id))


async def signed_in(request: Request) -> Owner:
    """A dependency admitting a live session (a POST with its CSRF token); an ended, revoked,
    expired or unknown one is refused (401) and audited."""
    locale = request_locale(request)
    session_id = request.cookies.get(COOKIE, "")
    if not session_id:
        raise Refused(401, "dept-signed-out", locale)
    if request.method == "POST":
        form = await request.form(max_files=2)
        if not hmac.compare_digest(str(form.get("csrf") or ""), csrf_token(session_id)):
            raise Refused(403, "csrf", locale)
    return await run_in_threadpool(_admit, session_id, locale, request.url.path,
                                   chosen_locale(request))


SignedIn = Annotated[Owner, Depends(signed_in)]


def not_yours(owner: Owner) -> LinkProblem:
    """The 403 page of a module its visitor does not own (the refusal was audited)."""
    return LinkProblem(403, "not-your-module", owner.locale)


# --- sign-in ----------------------------------------------------------------------------


@router.get("/dept/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> HTMLResponse:
    return page("dept_sign_in.html", request_locale(request), sent=False)


class SignIn(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)


@router.post("/dept/sign-in", response_class=HTMLResponse)
async def ask_sign_in(request: Request, background: BackgroundTasks) -> HTMLResponse:
    locale = request_locale(request)
    form = await request.form()
    try:
        data = SignIn(email=str(form.get("email") or ""))
    except ValidationError:
        return page("dept_sign_in.html", locale, 422, sent=False, invalid=True)
    client = request.client.host if request.client else "unknown"
    try:
        key = await run_in_threadpool(request_sign_in, data.email, client=client, area="dept")
    except RateLimited as exc:
        raise Refused(429, "too-many", locale, exc.retry_after) from None
    # Sent after the answer: the same answer, as fast, whether or not the address owns a module.
    background.add_task(send_sign_in, key)
    return page("dept_sign_in.html", locale, sent=True)


_sign_in_visit = visit("dept-sign-in", "edit-module")


async def sign_in_link(request: Request, t: str = Query("")) -> Visit:
    """The emailed sign-in link (15 minutes, once), bound to the department its person owns."""
    try:
        return await _sign_in_visit(request, t)
    except LinkProblem as exc:
        raise Refused(exc.status, "dept-sign-in-link", exc.locale) from None


@router.get("/dept/sign-in/{department}/confirm", response_class=HTMLResponse)
def sign_in_confirm(department: str, request: Request,
                    v: Annotated[Visit, Depends(sign_in_link)]) -> HTMLResponse:
    # A GET changes nothing (mail scanners open links): the button's POST signs in.
    if v.spent:
        v.refuse(410, "used")
        raise Refused(410, "dept-sign-in-link", v.locale)
    return page("dept_sign_in_confirm.html", v.locale, person=v.person, department=department,
                t=request.query_params.get("t", ""))


@router.post("/dept/sign-in/{department}/confirm")
def sign_in_open(department: str, v: Annotated[Visit, Depends(sign_in_link)]) -> RedirectResponse:
    try:
        session_id = open_session(link=v.link_use())
    except repo.LinkAlreadyUsed:
        v.refuse(410, "used")
        raise Refused(410, "dept-sign-in-link", v.locale) from None
    # 303 to a URL without the token: nothing that opens these pages stays in the address bar.
    response = RedirectResponse("/dept", status_code=303)
    response.set_cookie(COOKIE, session_id, max_age=int(SESSION_VALID_FOR.total_seconds()),
                        path=COOKIE_PATH, secure=cookie_is_secure(), httponly=True,
                        samesite="lax")
    return response


@router.post("/dept/sign-out", response_class=HTMLResponse)
def sign_out(owner: SignedIn) -> HTMLResponse:
    end_session(owner.session_id)
    response = page("dept_sign_in.html", owner.locale, sent=False, signed_out=True,
                    here="/dept/sign-in")
    response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=cookie_is_secure(), httponly=True,
                           samesite="lax")
    return response


# --- the modules ------------------------------------------------------------------------


@router.get("/dept", response_class=HTMLResponse)
def modules(owner: SignedIn) -> HTMLResponse:
    found = owned_modules(owner.person.email, owner.locale)
    return page("dept_modules.html", owner.locale, person=owner.person, modules=found,
                csrf=owner.csrf)


def _known_module(code: str, owner: Owner) -> None:
    if code not in get_catalog().modules:
        raise LinkProblem(404, "not-found", owner.locale)


DONE = ("replaced", "added", "archived", "quiz", "unchanged")


def module_page(code: str, owner: Owner, status: int = 200, *,
                problems: list[dict[str, str]] | None = None,
                values: dict[str, str] | None = None, done: dict[str, Any] | None = None,
                here: str | None = None) -> HTMLResponse:
    """The module's page for its owner (NotPermitted for anyone else, audited)."""
    view = open_module(code, by_email=owner.person.email, via="session", locale=owner.locale)
    return page("dept_module.html", owner.locale, status, here=here, view=view,
                csrf=owner.csrf, problems=problems or [],
                values=values or {"title": "", "link": "", "note": ""}, done=done or {},
                **_file_rules())


def _file_rules() -> dict[str, Any]:
    return {"accept": ",".join(ACCEPTED_SUFFIXES),
            "types": " ".join(s.lstrip(".").upper() for s in ACCEPTED_SUFFIXES),
            "max_mb": MAX_FILE_BYTES // (1024 * 1024), "max_chars": MAX_TEXT_CHARS,
            "max_title": MAX_TITLE_CHARS}


@router.get("/dept/modules/{code}", response_class=HTMLResponse)
def module(code: str, owner: SignedIn, done: str = "", n: int = 0,
           emailed: int = 0) -> HTMLResponse:
    _known_module(code, owner)
    said = {"kind": done, "n": n, "emailed": emailed} if done in DONE else None
    try:
        return module_page(code, owner, done=said)
    except NotPermitted:
        raise not_yours(owner) from None


def _ask(code: str, owner: Owner, action: str) -> None:
    """The permission, before the form's input is read: a refusal comes first, audited."""
    try:
        check_owner(code, by_email=owner.person.email, via="session", action=action)
    except NotPermitted:
        raise not_yours(owner) from None


async def _material_input(form: FormData, material_code: str) -> tuple[
        Upload | None, str | None, dict[str, str], list[dict[str, str]]]:
    """The file or link given for a material, what was typed, and what is wrong with it."""
    problems: list[dict[str, str]] = []
    upload, typed = form.get("file"), str(form.get("link") or "").strip()
    note = str(form.get("note") or "")
    values = {"link": typed[:MAX_LINK_CHARS + 200], "note": note[:MAX_TEXT_CHARS * 2],
              "title": str(form.get("title") or "")[:MAX_TITLE_CHARS * 2]}
    checked: Upload | None = None
    link: str | None = None
    if repeated_fields(form, ("file", "link", "note", "title")):
        problems.append({"kind": "repeated", "detail": ""})
    if isinstance(upload, UploadFile) and upload.filename:
        try:
            checked = await run_in_threadpool(check_upload, material_code=material_code,
                                              name=upload.filename, file=upload.file,
                                              size=upload.size or 0)
        except FileRefused as exc:
            problems.append({"kind": exc.kind, "detail": exc.detail})
    elif typed:
        try:
            link = web_address(typed)
        except NotAWebAddress:
            problems.append({"kind": "link", "detail": typed[:60]})
        else:
            if len(link) > MAX_LINK_CHARS:
                problems.append({"kind": "long-link", "detail": str(len(link))})
    else:
        problems.append({"kind": "missing", "detail": ""})
    if len(note) > MAX_TEXT_CHARS:
        problems.append({"kind": "long", "detail": str(len(note))})
    return checked, link, values, problems


def _done(code: str, made: NewVersion) -> RedirectResponse:
    return RedirectResponse(f"/dept/modules/{code}?done={made.change}&n={made.number}"
                            f"&emailed={len(made.emailed)}", status_code=303)


@router.post("/dept/modules/{code}/materials", response_class=HTMLResponse)
async def add(code: str, request: Request, owner: SignedIn,
              background: BackgroundTasks) -> Any:
    """Add a material beyond the catalog's list: a new version."""
    _known_module(code, owner)
    await run_in_threadpool(_ask, code, owner, "edit-module")
    form = await request.form(max_files=2)
    upload, link, values, problems = await _material_input(form, "added")
    title = values["title"].strip()
    if not title:
        problems.insert(0, {"kind": "title", "detail": ""})
    elif len(title) > MAX_TITLE_CHARS:
        problems.insert(0, {"kind": "title-long", "detail": str(len(title))})
    if problems:
        return await run_in_threadpool(lambda: module_page(
            code, owner, 422, problems=problems, values=values, here=f"/dept/modules/{code}"))
    try:
        made = await run_in_threadpool(lambda: add_material(
            module_code=code, title=title, by_email=owner.person.email, via="session",
            upload=upload, link=link, note=values["note"]))
    except NotPermitted:
        raise not_yours(owner) from None
    except NoVersionYet:
        return await run_in_threadpool(lambda: module_page(
            code, owner, 409, problems=[{"kind": "no-version", "detail": ""}], values=values,
            here=f"/dept/modules/{code}"))
    background.add_task(made.send_mail)
    return _done(code, made)


def material_page(code: str, material: str, owner: Owner, status: int = 200, *,
                  problems: list[dict[str, str]] | None = None,
                  values: dict[str, str] | None = None, here: str | None = None) -> HTMLResponse:
    """One material's page for its module's owner (NotPermitted for anyone else, audited)."""
    try:
        history = open_material(code, material, by_email=owner.person.email, via="session",
                                locale=owner.locale)
    except UnknownMaterial:
        raise LinkProblem(404, "not-found", owner.locale) from None
    return page("dept_material.html", owner.locale, status, here=here, h=history,
                csrf=owner.csrf, problems=problems or [],
                values=values or {"link": "", "note": ""}, **_file_rules())


@router.get("/dept/modules/{code}/materials/{material}", response_class=HTMLResponse)
def material(code: str, material: str, owner: SignedIn) -> HTMLResponse:
    _known_module(code, owner)
    try:
        return material_page(code, material, owner)
    except NotPermitted:
        raise not_yours(owner) from None


@router.post("/dept/modules/{code}/materials/{material}", response_class=HTMLResponse)
async def replace(code: str, material: str, request: Request, owner: SignedIn,
                  background: BackgroundTasks) -> Any:
    """Replace a material (or put an archived one back): a new version."""
    _known_module(code, owner)
    await run_in_threadpool(_ask, code, owner, "edit-module")
    form = await request.form(max_files=2)
    upload, link, values, problems = await _material_input(form, material)
    if problems:
        return await run_in_threadpool(lambda: material_page(
            code, material, owner, 422, problems=problems, values=values))
    try:
        made = await run_in_threadpool(lambda: replace_material(
            module_code=code, material_code=material, by_email=owner.person.email,
            via="session", upload=upload, link=link, note=values["note"]))
    except NotPermitted:
        raise not_yours(owner) from None
    except UnknownMaterial:
        raise LinkProblem(404, "not-found", owner.locale) from None
    except NoVersionYet:
        return await run_in_threadpool(lambda: material_page(
            code, material, owner, 409, problems=[{"kind": "no-version", "detail": ""}],
            values=values))
    background.add_task(made.send_mail)
    return _done(code, made)


@router.post("/dept/modules/{code}/materials/{material}/archive", response_class=HTMLResponse)
async def archive(code: str, material: str, owner: SignedIn,
                  background: BackgroundTasks) -> Any:
    """Archive a material: a new version without it (nothing is deleted)."""
    _known_module(code, owner)
    try:
        made = await run_in_threadpool(lambda: archive_material(
            module_code=code, material_code=material, by_email=owner.person.email,
            via="session"))
    except NotPermitted:
        raise not_yours(owner) from None
    except UnknownMaterial:
        raise LinkProblem(404, "not-found", owner.locale) from None
    except (LastMaterial, NoVersionYet) as exc:
        kind = "last" if isinstance(exc, LastMaterial) else "no-version"
        return await run_in_threadpool(lambda: material_page(
            code, material, owner, 409, problems=[{"kind": kind, "detail": ""}],
            here=f"/dept/modules/{code}/materials/{material}"))
    background.add_task(made.send_mail)
    return _done(code, made)


@router.get("/dept/modules/{code}/files/{item_id}")
def download(code: str, item_id: int, owner: SignedIn) -> Any:
    """A file of any version of the module, for its owner."""
    _known_module(code, owner)
    try:
        found = version_file(code, item_id, by_email=owner.person.email, via="session")
    except NotPermitted:
        raise not_yours(owner) from None
    if found is None:
        raise LinkProblem(404, "not-found", owner.locale)
    path, name = found
    return FileResponse(path, filename=safe_file_name(name, "material"))


# --- the quiz ---------------------------------------------------------------------------


def _blank_question() -> QuestionDraft:
    return QuestionDraft({lang: "" for lang in LANGUAGES},
                         [{lang: "" for lang in LANGUAGES} for _ in range(CHOICES)])


def quiz_page(code: str, owner: Owner, status: int = 200, *, draft: QuizDraft | None = None,
              problems: list[Any] | None = None) -> HTMLResponse:
    current = current_quiz(code)
    if draft is None:  # the newest version, and an empty question to add one
        shown = QuizDraft.of(current.quiz)
        draft = QuizDraft([*shown.questions, _blank_question()], shown.pass_mark,
                          shown.attempts, shown.reveal_answers)
    lang = normalize_locale(owner.locale)
    return page("dept_quiz.html", owner.locale, status, csrf=owner.csrf, code=code,
                title=get_catalog().modules[code].title.get(lang), current=current,
                draft=draft, problems=problems or [], choices=CHOICES,
                languages=LANGUAGES)


@router.get("/dept/modules/{code}/quiz", response_class=HTMLResponse)
def quiz_form(code: str, owner: SignedIn) -> HTMLResponse:
    _known_module(code, owner)
    _ask(code, owner, "edit-quiz")
    return quiz_page(code, owner)


def _draft(form: FormData) -> QuizDraft:
    """The quiz form as sent: questions by the numbers in their field names, every value kept
    as typed (cut to a bound)."""
    def text(name: str) -> str:
        return str(form.get(name) or "")[:MAX_FIELD_CHARS]

    numbers = sorted({int(key[1:].split("-", 1)[0]) for key in form
                      if key.startswith("q") and key[1:].split("-", 1)[0].isdecimal()
                      and len(key) < 40})[:MAX_QUESTIONS + 1]
    questions = [QuestionDraft(
        {lang: text(f"q{i}-text-{lang}") for lang in LANGUAGES},
        [{lang: text(f"q{i}-c{j}-{lang}") for lang in LANGUAGES} for j in range(CHOICES)
         if any(f"q{i}-c{j}-{lang}" in form for lang in LANGUAGES)],
        text(f"q{i}-answer").strip(), bool(form.get(f"q{i}-remove"))) for i in numbers]
    return QuizDraft(questions, text("pass_mark"), text("attempts"),
                     bool(form.get("reveal_answers")))


@router.post("/dept/modules/{code}/quiz", response_class=HTMLResponse)
async def quiz_save(code: str, request: Request, owner: SignedIn) -> Any:
    """Save the quiz as its next version, or show what to correct (nothing saved)."""
    _known_module(code, owner)
    form = await request.form()  # read by `signed_in` already (its CSRF token)
    draft = _draft(form)
    if repeated_fields(form, ("q", "pass_mark", "attempts", "reveal_answers")):
        await run_in_threadpool(_ask, code, owner, "edit-quiz")
        return await run_in_threadpool(lambda: quiz_page(
            code, owner, 422, draft=draft, problems=[{"kind": "repeated"}]))
    try:
        saved = await run_in_threadpool(lambda: edit_quiz(
            module_code=code, draft=draft, by_email=owner.person.email, via="session"))
    except NotPermitted:
        raise not_yours(owner) from None
    except QuizInvalid as exc:
        problems = list(exc.problems)
        return await run_in_threadpool(lambda: quiz_page(
            code, owner, 422, draft=draft, problems=problems))
    if saved is None:
        return RedirectResponse(f"/dept/modules/{code}?done=unchanged", status_code=303)
    return RedirectResponse(f"/dept/modules/{code}?done=quiz&n={saved.version}",
                            status_code=303)
