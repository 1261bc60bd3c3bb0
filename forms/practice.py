"""The practice legs' pages (tasks/practice.py): what an owner, a hire and a reviewer open from
their email links.

- `/coaching/<run>.<module>`: the owner department records a coaching session it gave (the
  link serves every session of that hire's module, so it is not spent by a submit).
- `/coaching/sessions/<id>`: the hire confirms the session took place, or disputes it (once).
- `/submit/<run>.<module>`: the hire hands in the assignment, a file or a link (again after a
  grade below the pass mark, until the appraisal).
- `/grade/<submission>`: a reviewer of the department grades one hand-in (once), and
  downloads its file at `/grade/<submission>/file`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse
from starlette.datastructures import UploadFile

from forms.limits import repeated_fields
from forms.links import LinkProblem, Visit, visit
from forms.pages import page, spent_page
from storage import clock, repo
from storage.models import SessionAnswer
from tasks.dates import local_date
from tasks.i18n import normalize_locale
from tasks.links import Spent, make_token
from tasks.materials import (
    ACCEPTED_SUFFIXES,
    MAX_FILE_BYTES,
    FileRefused,
    NotAWebAddress,
    check_upload,
    safe_file_name,
    web_address,
)
from tasks.practice import (
    MAX_NOTE_CHARS,
    MAX_SESSION_MINUTES,
    MAX_TOPIC_CHARS,
    AlreadyAnswered,
    AlreadyGraded,
    AlreadyPassed,
    HandIn,
    PracticeClosed,
    PracticeInvalid,
    PracticeView,
    SessionView,
    Superseded,
    answer_session,
    grade_submission,
    parse_practice_key,
    practice_view,
    record_session,
    session_of,
    submission_of,
    submit_work,
)

router = APIRouter()
MAX_LINK_CHARS = 1800


def _practice(key: str, v: Visit) -> tuple[int, str]:
    parsed = parse_practice_key(key)
    if parsed is None:
        raise LinkProblem(404, "missing", v.locale)
    return parsed


def _whole(raw: str) -> int | None:
    """A whole number as typed (full-width digits too), else None. `int` takes decimal digits
    (`isdecimal`), not every `isdigit` character (², ①), nor a second minus (`--1`)."""
    raw = raw.strip()
    digits = raw.removeprefix("-")
    return int(raw) if digits.isdecimal() and len(digits) < 6 else None


def _view_context(view: PracticeView, locale: str) -> dict[str, Any]:
    lang = normalize_locale(locale)
    practice = view.module.practice
    assert practice is not None
    brief = practice.assignment
    return {"view": view, "module": view.module.title.get(lang), "coaching": practice.coaching,
            "brief": brief, "brief_title": brief.title.get(lang) if brief else "",
            "brief_text": brief.brief.get(lang) if brief else "",
            "rubric": [{"code": c.code, "title": c.title.get(lang)} for c in brief.rubric]
            if brief else []}


def _closed_page(v: Visit, exc: PracticeClosed) -> HTMLResponse:
    return page("practice_closed.html", v.locale, 409, at=exc.at)


# --- coaching ----------------------------------------------------------------------------


def coaching_page(key: str, v: Visit, status: int = 200, *, problems: dict[str, str] | None = None,
                  values: dict[str, str] | None = None, recorded: bool = False) -> HTMLResponse:
    run_id, module = _practice(key, v)
    view = practice_view(run_id, module)
    if view.module.practice is None or view.module.practice.coaching is None:
        raise LinkProblem(404, "missing", v.locale)
    return page("coaching.html", v.locale, status, person=v.person, problems=problems or {},
                values=values or {"held_on": local_date(clock.now()).isoformat()},
                recorded=recorded, today=local_date(clock.now()).isoformat(),
                max_minutes=MAX_SESSION_MINUTES, max_topic=MAX_TOPIC_CHARS,
                max_notes=MAX_NOTE_CHARS, **_view_context(view, v.locale))


@router.get("/coaching/{key}", response_class=HTMLResponse)
def coaching_form(key: str, v: Annotated[Visit, Depends(visit("coach"))]) -> HTMLResponse:
    return coaching_page(key, v)


@router.post("/coaching/{key}", response_class=HTMLResponse)
async def coaching_submit(key: str, request: Request,
                          v: Annotated[Visit, Depends(visit("coach"))]) -> HTMLResponse:
    run_id, module = _practice(key, v)
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("held_on", "minutes", "topic", "notes")}
    problems: dict[str, str] = {}
    if repeated_fields(form, ("held_on", "minutes", "topic", "notes")):
        problems["form"] = "repeated"
    held_on: date | None = None
    try:
        held_on = date.fromisoformat(values["held_on"]) if values["held_on"] else None
    except ValueError:
        problems["held_on"] = "date"
    minutes = _whole(values["minutes"])
    if not problems:
        try:
            await run_in_threadpool(
                record_session, run_id=run_id, module_code=module, held_on=held_on,
                minutes=minutes, topic=values["topic"], notes=values["notes"], via="link",
                person_id=v.person.id)
        except PracticeInvalid as exc:
            problems = exc.problems
        except PracticeClosed as exc:
            return _closed_page(v, exc)
    if problems:
        return await run_in_threadpool(coaching_page, key, v, 422, problems=problems,
                                       values=values)
    return await run_in_threadpool(coaching_page, key, v, recorded=True)


@router.get("/coaching/sessions/{session_id}", response_class=HTMLResponse)
def answer_form(session_id: int,
                v: Annotated[Visit, Depends(visit("confirm"))]) -> HTMLResponse:
    coached, view = session_of(session_id)
    if v.spent or coached.answer != SessionAnswer.PENDING:
        return spent_page(v, v.spent or _answered(coached, view))
    if view.closed_at is not None:  # the appraisal is in: an answer would change nothing
        return _closed_page(v, PracticeClosed(view.closed_at))
    return page("coaching_answer.html", v.locale, person=v.person, session=coached,
                problems={}, comment="", **_view_context(view, v.locale))


def _answered(coached: SessionView, view: PracticeView) -> Spent:
    return Spent(coached.answered_at or clock.now(), view.hire)


@router.post("/coaching/sessions/{session_id}", response_class=HTMLResponse)
async def answer_submit(session_id: int, request: Request,
                        v: Annotated[Visit, Depends(visit("confirm"))]) -> HTMLResponse:
    form = await request.form()
    answer, comment = str(form.get("answer") or ""), str(form.get("comment") or "")
    problems: dict[str, str] = {}
    if repeated_fields(form, ("answer", "comment")) or answer not in ("confirmed", "disputed"):
        problems["answer"] = "choose"
    if not problems:
        try:
            await run_in_threadpool(answer_session, session_id=session_id,
                                    confirmed=answer == "confirmed", comment=comment,
                                    via="link", link=v.link_use(), person_id=v.person.id)
        except PracticeInvalid as exc:
            problems = exc.problems
        except (AlreadyAnswered, repo.LinkAlreadyUsed):
            raise v.refuse(410, "used") from None
        except PracticeClosed as exc:
            return _closed_page(v, exc)
    coached, view = await run_in_threadpool(session_of, session_id)
    if problems:
        return page("coaching_answer.html", v.locale, 422, person=v.person, session=coached,
                    problems=problems, comment=comment, **_view_context(view, v.locale))
    return page("practice_done.html", v.locale, kind=coached.answer, session=coached,
                **_view_context(view, v.locale))


# --- the assignment ----------------------------------------------------------------------


def submit_page(key: str, v: Visit, status: int = 200, *, problems: dict[str, str] | None = None,
                values: dict[str, str] | None = None, handed_in: int | None = None
                ) -> HTMLResponse:
    run_id, module = _practice(key, v)
    view = practice_view(run_id, module)
    if view.module.practice is None or view.module.practice.assignment is None:
        raise LinkProblem(404, "missing", v.locale)
    return page("submit.html", v.locale, status, person=v.person, problems=problems or {},
                values=values or {}, handed_in=handed_in, accept=",".join(ACCEPTED_SUFFIXES),
                types=" ".join(s.lstrip(".").upper() for s in ACCEPTED_SUFFIXES),
                max_mb=MAX_FILE_BYTES // (1024 * 1024), max_notes=MAX_NOTE_CHARS,
                **_view_context(view, v.locale))


@router.get("/submit/{key}", response_class=HTMLResponse)
def submit_form(key: str, v: Annotated[Visit, Depends(visit("submit"))]) -> HTMLResponse:
    return submit_page(key, v)


@router.post("/submit/{key}", response_class=HTMLResponse)
async def submit_post(key: str, request: Request,
                      v: Annotated[Visit, Depends(visit("submit"))]) -> HTMLResponse:
    run_id, module = _practice(key, v)
    form = await request.form(max_files=2)
    values = {"link": str(form.get("link") or "").strip(), "note": str(form.get("note") or "")}
    problems: dict[str, str] = {}
    if repeated_fields(form, ("file", "link", "note")):
        problems["form"] = "repeated"
    upload, link = form.get("file"), None
    checked = None
    if isinstance(upload, UploadFile) and upload.filename:
        try:
            checked = await run_in_threadpool(check_upload, material_code="work",
                                              name=upload.filename, file=upload.file,
                                              size=upload.size or 0)
        except FileRefused as exc:
            problems["file"] = exc.kind
    elif values["link"]:
        try:
            link = web_address(values["link"])
            if len(link) > MAX_LINK_CHARS:
                problems["link"] = "long"
        except NotAWebAddress:
            problems["link"] = "link"
    number = None
    if not problems:
        try:
            number = await run_in_threadpool(
                submit_work, run_id=run_id, module_code=module,
                hand_in=HandIn(upload=checked, link=link, note=values["note"]), via="link",
                person_id=v.person.id)
        except PracticeInvalid as exc:
            problems = exc.problems
        except PracticeClosed as exc:
            return _closed_page(v, exc)
        except AlreadyPassed:  # the page says it passed, and offers no form
            return await run_in_threadpool(submit_page, key, v, 409)
    if problems:
        return await run_in_threadpool(submit_page, key, v, 422, problems=problems,
                                       values=values)
    return await run_in_threadpool(submit_page, key, v, handed_in=number)


# --- grading -----------------------------------------------------------------------------


def grade_page(submission_id: int, v: Visit, status: int = 200, *,
               problems: dict[str, str] | None = None,
               values: dict[str, str] | None = None) -> HTMLResponse:
    handed, view, _ = submission_of(submission_id)
    newer = view.latest is not None and view.latest.id != handed.id
    return page("grade.html", v.locale, status, person=v.person, handed=handed, newer=newer,
                problems=problems or {}, values=values or {}, max_notes=MAX_NOTE_CHARS,
                file_url=f"/grade/{submission_id}/file?t={_token(v)}",
                **_view_context(view, v.locale))


def _token(v: Visit) -> str:
    # The page's own token is in its address; a download link of its own, for the same
    # person and hand-in, and no longer valid than it.
    return make_token(action="grade", person_id=v.person.id, object_id=v.claims.object_id,
                      valid_for=v.claims.expires_at - clock.now())


@router.get("/grade/{submission_id}", response_class=HTMLResponse)
def grade_form(submission_id: int, v: Annotated[Visit, Depends(visit("grade"))]) -> HTMLResponse:
    handed, _, _ = submission_of(submission_id)
    if v.spent or handed.graded_at is not None:
        return spent_page(v, v.spent or Spent(handed.graded_at or clock.now(), handed.graded_by))
    return grade_page(submission_id, v)


@router.get("/grade/{submission_id}/file")
def grade_download(submission_id: int, v: Annotated[Visit, Depends(visit("grade"))]) -> Any:
    handed, _, path = submission_of(submission_id)
    if not path or not Path(path).is_file():
        raise LinkProblem(404, "missing", v.locale)
    return FileResponse(path, filename=safe_file_name(handed.file_name or "", Path(path).name))


@router.post("/grade/{submission_id}", response_class=HTMLResponse)
async def grade_post(submission_id: int, request: Request,
                     v: Annotated[Visit, Depends(visit("grade"))]) -> HTMLResponse:
    form = await request.form()
    values = {k: str(val) for k, val in form.items() if k.startswith(("score-", "comment-"))}
    problems: dict[str, str] = {}
    if repeated_fields(form, ("score-", "comment-")):
        problems["form"] = "repeated"
    scores: dict[str, int | None] = {}
    for name, raw in values.items():
        if name.startswith("score-"):
            raw = raw.strip()
            scores[name[6:]] = _whole(raw)
            if raw and scores[name[6:]] is None:
                problems[name[6:]] = "range"
    comments = {k[8:]: val for k, val in values.items() if k.startswith("comment-")}
    if not problems:
        try:
            passed = await run_in_threadpool(
                grade_submission, submission_id=submission_id, scores=scores,
                comments=comments, via="link", link=v.link_use(), person_id=v.person.id)
        except PracticeInvalid as exc:
            problems = exc.problems
        except (AlreadyGraded, repo.LinkAlreadyUsed):
            raise v.refuse(410, "used") from None
        except Superseded:
            return await run_in_threadpool(grade_page, submission_id, v, 409)
        else:
            handed, view, _ = await run_in_threadpool(submission_of, submission_id)
            return page("practice_done.html", v.locale, kind="graded", handed=handed,
                        passed=passed, **_view_context(view, v.locale))
    return await run_in_threadpool(grade_page, submission_id, v, 422, problems=problems,
                                   values=values)
