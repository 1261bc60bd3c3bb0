"""The forms app: what owners, hires and appraisers open from their email links.

Server-rendered (Jinja2), usable on a phone. A GET only shows a form (mail scanners open
links); a POST checks the link, the permission and the input, then calls the domain action in
`tasks`, which writes storage and the audit log in one transaction and resumes the run.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from forms.dashboard import router as dashboard_router
from forms.department import router as department_router
from forms.effectiveness import router as effectiveness_router
from forms.employee_report import router as employee_report_router
from forms.language import CurrentPage
from forms.language import router as language_router
from forms.limits import RequestLimits, repeated_fields
from forms.links import LinkProblem, Visit, request_locale, visit
from forms.pages import page, spent_page
from forms.practice import router as practice_router
from forms.security import Refused, SecurityHeaders, same_origin
from forms.sessions import (
    Staff,
    clear_session_cookie,
    set_session_cookie,
    sign_in_link,
    staff,
)
from storage import clock, repo
from storage.models import AssignmentStatus
from storage.names import NAME_MAX, InvalidPerson, check_email, check_name
from tasks.appraisal import AlreadyAppraised, appraisal_form, appraisal_submitted, submit_appraisal
from tasks.dates import spoken_day
from tasks.env import get_catalog, reading
from tasks.handoff import last_handoff, waiting_hires
from tasks.i18n import LOCALES, normalize_locale
from tasks.labels import names
from tasks.learning import STUDY_LINK_VALID_FOR, QuizClosed, study_page, studying, take_quiz
from tasks.links import make_token
from tasks.materials import (
    ACCEPTED_SUFFIXES,
    MAX_FILE_BYTES,
    FileRefused,
    HeldFile,
    NotAWebAddress,
    Upload,
    check_upload,
    held_files,
    hold_uploads,
    safe_file_name,
    store_handoff,
    web_address,
)
from tasks.permissions import NotPermitted
from tasks.quizzes import QuizChanged, hire_quiz, quiz_version
from tasks.reports.record import run_timeline, runs_overview
from tasks.runs import AlreadyOnboarding, run_ui_url, start_onboarding
from tasks.sign_in import RateLimited, end_session, open_session, request_sign_in, send_sign_in


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # What the process imported lives as long as it does: frozen, it is left out of the
    # collector's full passes, which scanned its ~200,000 objects in ~250 ms under load while
    # every request waited (about 10 ms since). Garbage is collected first, not frozen.
    get_catalog()  # read before the first request, which would otherwise wait for it
    gc.collect()
    gc.freeze()
    yield


app = FastAPI(title="Jieli forms", dependencies=[Depends(same_origin)], lifespan=lifespan)
app.add_middleware(RequestLimits)  # body and URL bounds, before any route reads a byte
app.add_middleware(SecurityHeaders)  # outermost: refusals of RequestLimits get headers too
app.add_middleware(CurrentPage)  # the page being answered, for its language link
app.include_router(language_router)
app.include_router(practice_router)  # coaching, hand-ins and grading (tasks/practice.py)
app.include_router(employee_report_router)  # employees and their reports
app.include_router(effectiveness_router)  # /hr/effectiveness
app.include_router(dashboard_router)  # /hr/dashboard
app.include_router(department_router)  # /dept: owners keep their modules' materials and quizzes

MAX_TEXT_CHARS = 2000  # a hand-off note, an appraisal comment
MAX_LINK_CHARS = 1800  # the stored link's column holds 2000, after normalisation
QUIZ_LINK_VALID_FOR = timedelta(days=14)


@app.exception_handler(LinkProblem)
def link_problem(request: Request, exc: LinkProblem) -> HTMLResponse:
    return page("error.html", exc.locale, exc.status, kind=exc.kind, spent=exc.spent)


@app.exception_handler(HTTPException)
def http_problem(request: Request, exc: HTTPException) -> HTMLResponse:
    """Unknown addresses (404), methods (405) and unreadable requests (a malformed form, too
    many files: 400) get a page in the reader's language."""
    kind = {404: "not-found", 405: "method"}.get(exc.status_code, "unreadable")
    response = page("error.html", request_locale(request), exc.status_code, kind=kind)
    for name, value in (exc.headers or {}).items():  # a 405's Allow
        response.headers[name] = value
    return response


@app.exception_handler(RequestValidationError)
def unreadable_address(request: Request, exc: RequestValidationError) -> HTMLResponse:
    # The only inputs FastAPI validates itself are path ids (/quiz/abc): no such page.
    return page("error.html", request_locale(request), 404, kind="not-found")


@app.exception_handler(Refused)
def refused(request: Request, exc: Refused) -> HTMLResponse:
    response = page("refused.html", exc.locale, exc.status, kind=exc.kind)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@app.get("/healthz", response_class=PlainTextResponse)
def healthz() -> str:
    return "ok"


@app.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return page("home.html", request_locale(request))


# --- hand-off --------------------------------------------------------------------------


def _module_view(code: str, locale: str) -> dict[str, Any]:
    module = get_catalog().modules[code]
    lang = normalize_locale(locale)
    return {"code": code, "title": module.title.get(lang),
            "materials": [{"code": m.code, "title": m.title.get(lang)} for m in module.materials]}


def handoff_page(module_code: str, v: Visit, status: int = 200, *,
                 problems: list[dict[str, str]] | None = None,
                 fields: dict[str, dict[str, str]] | None = None,
                 note: str = "", links: dict[str, str] | None = None) -> HTMLResponse:
    """The hand-off form: who waits and by when, what files are accepted, what was typed."""
    return page("handoff.html", v.locale, status, person=v.person,
                module=_module_view(module_code, v.locale), problems=problems or [],
                fields=fields or {}, values={"note": note, "links": links or {}},
                held=held_files(link_nonce=v.claims.nonce), max_chars=MAX_TEXT_CHARS,
                waiting=waiting_hires(module_code, v.locale), last=last_handoff(module_code),
                accept=",".join(ACCEPTED_SUFFIXES),
                types=" ".join(s.lstrip(".").upper() for s in ACCEPTED_SUFFIXES),
                max_mb=MAX_FILE_BYTES // (1024 * 1024))


@app.get("/handoff/{module_code}", response_class=HTMLResponse)
def handoff_form(module_code: str, v: Annotated[Visit, Depends(visit("handoff"))]) -> HTMLResponse:
    if v.spent:
        return spent_page(v, v.spent)
    return handoff_page(module_code, v)


@app.post("/handoff/{module_code}", response_class=HTMLResponse)
async def handoff_submit(module_code: str, request: Request,
                         v: Annotated[Visit, Depends(visit("handoff"))]) -> HTMLResponse:
    module = _module_view(module_code, v.locale)
    form = await request.form(max_files=len(module["materials"]) + 1)
    problems: list[dict[str, str]] = []  # about the form as a whole
    fields: dict[str, dict[str, str]] = {}  # material code -> what is wrong with its field
    if repeated_fields(form, ("file-", "link-", "keep-", "note")):
        problems.append({"kind": "repeated", "detail": ""})
    held = await run_in_threadpool(held_files, link_nonce=v.claims.nonce)
    links: dict[str, str] = {}  # as typed, or as stored once accepted
    uploads: list[Upload | HeldFile] = []
    accepted: list[Upload] = []  # new files of this submit that passed their checks
    for material in module["materials"]:
        code = material["code"]
        upload, typed = form.get(f"file-{code}"), str(form.get(f"link-{code}") or "").strip()
        links[code] = typed
        if isinstance(upload, UploadFile) and upload.filename:
            try:
                checked = await run_in_threadpool(
                    check_upload, material_code=code, name=upload.filename, file=upload.file,
                    size=upload.size or 0)
            except FileRefused as exc:
                fields[code] = {"kind": exc.kind, "detail": exc.detail}
                continue
            uploads.append(checked)
            accepted.append(checked)
        elif typed:
            try:
                links[code] = web_address(typed)
            except NotAWebAddress:
                fields[code] = {"kind": "link", "detail": typed[:60]}
                continue
            if len(links[code]) > MAX_LINK_CHARS:
                fields[code] = {"kind": "long-link", "detail": str(len(links[code]))}
        elif form.get(f"keep-{code}") and code in held:
            uploads.append(held[code])
        else:
            fields[code] = {"kind": "missing", "detail": ""}
    note = str(form.get("note") or "")
    if len(note) > MAX_TEXT_CHARS:
        problems.append({"kind": "long", "detail": str(len(note))})
    if problems or fields:
        # A browser cannot be told to choose a file again: the accepted ones are held instead.
        await run_in_threadpool(hold_uploads, link_nonce=v.claims.nonce, uploads=accepted)
        return await run_in_threadpool(handoff_page, module_code, v, 422, problems=problems,
                                       fields=fields, note=note, links=links)
    # Checked everything first; the task writes the files, and keeps none if the hand-off fails.
    try:
        outcome = await run_in_threadpool(
            store_handoff, module_code=module_code, by_email=v.person.email, via="link",
            uploads=uploads, links={c: links[c] for c in links if links[c] and not any(
                u.material_code == c for u in uploads)},
            note=note, link=v.link_use())
    except repo.LinkAlreadyUsed:
        raise v.refuse(410, "used") from None
    return page("done.html", v.locale, kind="handoff", module=module, note=note.strip(),
                runs=len(outcome.resumed) + len(outcome.deferred))


# --- study and quiz ------------------------------------------------------------------


def study_url(v: Visit, assignment_id: int) -> str:
    """A study page link for the visiting hire, valid no longer than the link they came by
    (a quiz link must not renew itself through the study page it leads to)."""
    valid_for = min(STUDY_LINK_VALID_FOR, v.claims.expires_at - clock.now())
    token = make_token(action="study", person_id=v.person.id, object_id=str(assignment_id),
                       valid_for=valid_for)
    return f"/study/{assignment_id}?t={token}"


@app.get("/study/{assignment_id}", response_class=HTMLResponse)
async def study(assignment_id: int, request: Request,
                v: Annotated[Visit, Depends(visit("study"))]) -> HTMLResponse:
    # Reads only, on the event loop like the link check before it: the page hires open most
    # often is served without a hop into the thread pool (benchmarks/study_page.py).
    s, quiz = study_page(assignment_id)
    module = _module_view(s.module, v.locale)
    titles = {m["code"]: m["title"] for m in module["materials"]}
    # The study link is the hire's own; each visit mints a single-use link to one attempt.
    quiz_token = make_token(action="quiz", person_id=v.person.id, object_id=str(assignment_id),
                            valid_for=QUIZ_LINK_VALID_FOR)
    study_token = request.query_params.get("t", "")
    return page("study.html", v.locale, person=v.person, module=module, assignment=s,
                materials=[{"id": m.id,
                            "title": titles.get(m.material_code) or m.title or m.material_code,
                            "file": m.file_name, "link": m.link,
                            "url": f"/study/{assignment_id}/materials/{m.id}?t={study_token}"}
                           for m in s.materials],
                scores=s.scores, quiz=quiz, quiz_url=f"/quiz/{assignment_id}?t={quiz_token}",
                due=spoken_day(s.due_at, v.locale))


@app.get("/study/{assignment_id}/materials/{material_id}")
def download(assignment_id: int, material_id: int,
             v: Annotated[Visit, Depends(visit("study"))]) -> Any:
    item = next((m for m in studying(assignment_id).materials if m.id == material_id), None)
    if item is None or not item.file_path:
        raise LinkProblem(404, "missing", v.locale)
    # Names stored before they were sanitised are sanitised here: the header is built from it.
    return FileResponse(item.file_path, filename=safe_file_name(item.file_name or "",
                                                                Path(item.file_path).name))


def quiz_page(assignment_id: int, v: Visit, status: int = 200,
              changed: bool = False) -> HTMLResponse:
    """The quiz as the hire takes it now: the module's newest questions (tasks/quizzes.py)."""
    s = studying(assignment_id)
    quiz = hire_quiz(assignment_id)
    lang = normalize_locale(v.locale)
    questions = [{"text": q.text.get(lang), "choices": [c.get(lang) for c in q.choices]}
                 for q in quiz.questions]
    return page("quiz.html", v.locale, status, person=v.person,
                title=get_catalog().modules[s.module].title.get(lang), questions=questions,
                attempt=len(s.scores) + 1, attempts=quiz.attempts, pass_mark=quiz.pass_mark,
                closed=s.status != AssignmentStatus.ASSIGNED, study_url=study_url(v, assignment_id),
                version=quiz.version, changed=changed)


@app.get("/quiz/{assignment_id}", response_class=HTMLResponse)
def quiz_form(assignment_id: int, v: Annotated[Visit, Depends(visit("quiz"))]) -> HTMLResponse:
    if v.spent:  # e.g. Back from the result: this attempt was submitted
        return spent_page(v, v.spent, study_url(v, assignment_id))
    return quiz_page(assignment_id, v)


class QuizAnswers(BaseModel):
    """Question index -> chosen choice index; an unanswered question counts as wrong."""

    answers: dict[Annotated[int, Field(ge=0, le=200)], Annotated[int, Field(ge=0, le=20)]]


@app.post("/quiz/{assignment_id}", response_class=HTMLResponse)
async def quiz_submit(assignment_id: int, request: Request,
                      v: Annotated[Visit, Depends(visit("quiz"))]) -> HTMLResponse:
    form = await request.form()
    if repeated_fields(form, ("q",)):  # two answers to one question: which one counts?
        raise LinkProblem(422, "invalid-answers", v.locale)
    try:
        data = QuizAnswers(answers={k[1:]: v for k, v in form.items()  # type: ignore[misc]
                                    if k.startswith("q")})
    except ValidationError:
        raise LinkProblem(422, "invalid-answers", v.locale) from None
    shown = str(form.get("version") or "")  # the quiz version the page showed
    version = int(shown) if shown.isdecimal() and len(shown) < 10 else None
    try:
        result = await run_in_threadpool(
            take_quiz, assignment_id=assignment_id, answers=data.answers, via="link",
            link=v.link_use(), quiz_version=version)
    except repo.LinkAlreadyUsed:
        raise v.refuse(410, "used") from None
    except QuizClosed:
        raise v.refuse(410, "closed") from None
    except QuizChanged:  # its owner saved a new version meanwhile; no attempt was used
        return await run_in_threadpool(quiz_page, assignment_id, v, 409, True)
    catalog = get_catalog()
    module = catalog.modules[result.module]
    lang = normalize_locale(v.locale)
    answered = (await run_in_threadpool(quiz_version, result.module, result.quiz_version)).quiz
    questions = answered.questions
    review = [{"n": i + 1, "text": questions[i].text.get(lang),
               "given": questions[i].choices[given].get(lang)
               if given is not None and given < len(questions[i].choices) else "",
               "right": questions[i].choices[questions[i].answer].get(lang)
               if answered.reveal_answers else ""}
              for i, given in sorted(result.wrong.items())]
    following = await run_in_threadpool(studying, result.next_assignment) \
        if result.next_assignment else None
    return page("quiz_result.html", v.locale, result=result, title=module.title.get(lang),
                review=review, total=len(questions),
                study_url=study_url(v, assignment_id),
                next_title=catalog.modules[following.module].title.get(lang)
                if following else "",
                next_url=study_url(v, following.assignment_id) if following else "")


# --- appraisal -----------------------------------------------------------------------


def appraise_page(run_id: int, v: Visit, status: int = 200, *,
                  errors: list[dict[str, str]] | None = None,
                  values: dict[str, str] | None = None) -> HTMLResponse:
    form = appraisal_form(run_id, v.locale)
    return page("appraise.html", v.locale, status, person=v.person, form=form,
                items=form.items, hire=form.hire, errors=errors or [], values=values or {},
                max_chars=MAX_TEXT_CHARS)


@app.get("/appraise/{run_id}", response_class=HTMLResponse)
def appraise_form(run_id: int, v: Annotated[Visit, Depends(visit("appraise"))]) -> HTMLResponse:
    spent = v.spent or appraisal_submitted(run_id)  # through this link, or another one
    if spent:
        return spent_page(v, spent)
    return appraise_page(run_id, v)


class Score(BaseModel):
    score: int = Field(ge=0, le=100)


@app.post("/appraise/{run_id}", response_class=HTMLResponse)
async def appraise_submit(run_id: int, request: Request,
                          v: Annotated[Visit, Depends(visit("appraise"))]) -> HTMLResponse:
    form = await request.form()
    items = (await run_in_threadpool(appraisal_form, run_id, v.locale)).items
    scores: dict[str, dict[str, int]] = {}
    comments: dict[str, str] = {}
    errors = []
    if repeated_fields(form, ("score-", "comment-")):
        errors.append({"kind": "repeated", "item": "", "criterion": "", "value": ""})
    for item in items:
        comment = str(form.get(f"comment-{item['code']}") or "")
        if len(comment) > MAX_TEXT_CHARS:
            errors.append({"kind": "long", "item": item["title"], "criterion": "",
                           "value": str(len(comment))})
        comments[item["code"]] = comment
        for criterion in item["criteria"]:
            raw = str(form.get(f"score-{item['code']}-{criterion}") or "")
            try:
                scores.setdefault(item["code"], {})[criterion] = Score(
                    score=raw).score  # type: ignore[arg-type]
            except ValidationError:
                errors.append({"kind": "score", "item": item["title"], "criterion": criterion,
                               "value": raw})
    if errors:
        values = {k: str(val) for k, val in form.items() if k.startswith(("score-", "comment-"))}
        return await run_in_threadpool(appraise_page, run_id, v, 422, errors=errors,
                                       values=values)
    try:
        await run_in_threadpool(submit_appraisal, run_id=run_id, appraiser_id=v.person.id,
                                scores=scores, comments=comments, via="link", link=v.link_use())
    except (repo.LinkAlreadyUsed, AlreadyAppraised):
        raise v.refuse(410, "used") from None
    return page("done.html", v.locale, kind="appraisal", module=None, runs=1, note="")


# --- HR pages --------------------------------------------------------------------------


@app.get("/hr/sign-in", response_class=HTMLResponse)
def hr_sign_in_form(request: Request) -> HTMLResponse:
    return page("hr_sign_in.html", request_locale(request), sent=False)


class SignIn(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)


@app.post("/hr/sign-in", response_class=HTMLResponse)
async def hr_sign_in(request: Request, background: BackgroundTasks) -> HTMLResponse:
    form = await request.form()
    try:
        data = SignIn(email=str(form.get("email") or ""))
    except ValidationError:
        return page("hr_sign_in.html", request_locale(request), 422, sent=False, invalid=True)
    client = request.client.host if request.client else "unknown"
    try:
        key = await run_in_threadpool(request_sign_in, data.email, client=client)
    except RateLimited as exc:
        raise Refused(429, "too-many", request_locale(request), exc.retry_after) from None
    # Sent after the answer: the same answer, as fast, whether or not the address is HR's.
    background.add_task(send_sign_in, key)
    return page("hr_sign_in.html", request_locale(request), sent=True)


@app.get("/hr/sign-in/confirm", response_class=HTMLResponse)
def hr_sign_in_confirm(request: Request,
                       v: Annotated[Visit, Depends(sign_in_link)]) -> HTMLResponse:
    # A GET changes nothing (mail scanners open links): the button's POST signs in.
    with reading() as session:
        spent = repo.link_used(session=session, nonce=v.claims.nonce)
    if spent:
        v.refuse(410, "used")
        raise Refused(410, "sign-in-link", v.locale)
    return page("hr_sign_in_confirm.html", v.locale, person=v.person,
                t=request.query_params.get("t", ""))


@app.post("/hr/sign-in/confirm")
def hr_sign_in_open(v: Annotated[Visit, Depends(sign_in_link)]) -> RedirectResponse:
    try:
        session_id = open_session(link=v.link_use())
    except repo.LinkAlreadyUsed:
        v.refuse(410, "used")
        raise Refused(410, "sign-in-link", v.locale) from None
    # 303 to a URL without the token: nothing that opens HR's pages stays in the address bar.
    response = RedirectResponse("/hr", status_code=303)
    set_session_cookie(response, session_id)
    return response


@app.post("/hr/sign-out", response_class=HTMLResponse)
def hr_sign_out(s: Annotated[Staff, Depends(staff(None))]) -> HTMLResponse:
    end_session(s.session_id)
    response = page("hr_sign_in.html", s.locale, sent=False, signed_out=True,
                    here="/hr/sign-in")
    clear_session_cookie(response)
    return response


@app.get("/hr", response_class=HTMLResponse)
def hr_runs(s: Annotated[Staff, Depends(staff("track"))]) -> HTMLResponse:
    return page("hr_runs.html", s.locale, person=s.person, runs=runs_overview(s.locale),
                csrf=s.csrf)


@app.get("/hr/runs/{run_id}", response_class=HTMLResponse)
def hr_run(run_id: int, s: Annotated[Staff, Depends(staff("track"))],
           started: bool = False) -> HTMLResponse:
    try:
        timeline = run_timeline(run_id, s.locale)
    except LookupError:
        raise LinkProblem(404, "missing", s.locale) from None
    return page("hr_run.html", s.locale, timeline=timeline, csrf=s.csrf,
                prefect_url=run_ui_url(run_id), started=started)


# --- HR starts a hire ----------------------------------------------------------------


def _positions(locale: str) -> list[dict[str, str]]:
    lang = normalize_locale(locale)
    return [{"code": code, "title": position.title.get(lang)}
            for code, position in get_catalog().positions.items()]


def _start_page(s: Staff, status: int = 200, errors: list[dict[str, Any]] | None = None,
                values: dict[str, str] | None = None) -> HTMLResponse:
    return page("hr_start.html", s.locale, status, person=s.person, csrf=s.csrf,
                positions=_positions(s.locale), errors=errors or [],
                values=values or {"name": "", "email": "", "position": "", "start": "",
                                  "language": "zh_CN"})


@app.get("/hr/hires/new", response_class=HTMLResponse)
def hr_start_form(s: Annotated[Staff, Depends(staff("start"))]) -> HTMLResponse:
    return _start_page(s)


def _new_hire_errors(values: dict[str, str]) -> list[dict[str, Any]]:
    """What is wrong with the typed values, field by field, before anything is stored."""
    errors: list[dict[str, Any]] = []
    name = values["name"].strip()
    try:
        check_name(name)
    except InvalidPerson:
        kind = "name-empty" if not name else "name-long" if len(name) > NAME_MAX else "name"
        errors.append({"kind": kind, "detail": NAME_MAX})
    try:
        check_email(values["email"])
    except InvalidPerson:
        errors.append({"kind": "email"})
    if values["position"] not in get_catalog().positions:
        errors.append({"kind": "position"})
    try:
        date.fromisoformat(values["start"])
    except ValueError:
        errors.append({"kind": "start"})
    if values["language"] not in LOCALES:
        errors.append({"kind": "language"})
    return errors


@app.post("/hr/hires", response_class=HTMLResponse)
async def hr_start(request: Request,
                   s: Annotated[Staff, Depends(staff("start"))]) -> Response:
    """Start a hire's run as the signed-in person; the new run's page opens."""
    form = await request.form()
    fields = ("name", "email", "position", "start", "language")
    values = {f: str(form.get(f) or "")[:400] for f in fields}
    errors = _new_hire_errors(values)
    if repeated_fields(form, fields):
        errors.append({"kind": "repeated"})
    if errors:
        return _start_page(s, 422, errors, values)
    try:
        started = await run_in_threadpool(
            start_onboarding, name=values["name"], email=values["email"],
            position=values["position"], start=date.fromisoformat(values["start"]),
            locale=values["language"], by_email=s.person.email, via="session")
    except AlreadyOnboarding as exc:
        return _start_page(s, 409, [{"kind": "already", "run": exc.run_id}], values)
    except NotPermitted:
        raise LinkProblem(403, "forbidden", s.locale) from None
    return RedirectResponse(f"/hr/runs/{started.run_id}?started=1", status_code=303)


@app.get("/record/{run_id}", response_class=HTMLResponse)
def training_record(run_id: int,
                    v: Annotated[Visit, Depends(visit("record", "read"))]) -> HTMLResponse:
    """The verdict email's link: this one run's training record, read-only, nothing else."""
    return page("record.html", v.locale, timeline=run_timeline(run_id, v.locale))


@app.get("/hr/positions/{code}", response_class=HTMLResponse)
def hr_raci(code: str, v: Annotated[Staff, Depends(staff("read"))]) -> HTMLResponse:
    catalog = get_catalog()
    position = catalog.positions.get(code)
    if position is None:
        raise LinkProblem(404, "missing", v.locale)
    n = names(v.locale, catalog)

    def parties(codes: list[str]) -> str:
        return n.join(map(n.party, codes))

    rows = [{"module": n.module(m),
             "owner": n.member(catalog.modules[m].owner,
                               catalog.departments[catalog.modules[m].owner].owner.name),
             "r": parties(catalog.modules[m].raci.responsible),
             "a": parties([catalog.modules[m].raci.accountable]),
             "c": parties(catalog.modules[m].raci.consulted),
             "i": parties(catalog.modules[m].raci.informed)} for m in position.modules]
    return page("hr_raci.html", v.locale, position=n.position(code), rows=rows, csrf=v.csrf)
