"""The forms app: what owners, hires and appraisers open from their email links.

Server-rendered (Jinja2), usable on a phone. A GET only shows a form (mail scanners open
links); a POST checks the link, the permission and the input, then calls the domain action in
`tasks`, which writes storage and the audit log in one transaction and resumes the run.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field, HttpUrl, ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile

from forms.links import LinkProblem, Visit, request_locale, visit
from storage import repo
from storage.models import Assignment, DeliveredMaterial, QuizAttempt
from storage.settings import get_settings
from tasks.appraisal import AlreadyAppraised, submit_appraisal
from tasks.dates import local_day
from tasks.env import get_catalog, transaction
from tasks.handoff import deliver_materials, waiting_hires
from tasks.i18n import N_, jinja_env
from tasks.learning import QuizClosed, take_quiz
from tasks.links import make_token
from tasks.tracking import request_sign_in, run_timeline, runs_overview

app = FastAPI(title="Jieli forms")

ALLOWED_SUFFIXES = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".txt", ".md",
                    ".csv", ".png", ".jpg", ".jpeg", ".zip", ".py", ".ipynb"}
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
QUIZ_LINK_VALID_FOR = timedelta(days=14)
CRITERIA = (N_("practice"), N_("content"), N_("delivery"))  # appraisal criteria, as shown
STATUSES = (N_("assigned"), N_("passed"), N_("failed"))  # assignment statuses, as shown


def page(name: str, locale: str, status: int = 200, **context: Any) -> HTMLResponse:
    env = jinja_env(locale, "forms")
    html = env.get_template(name).render(lang="en" if locale == "en" else "zh-CN",
                                         locale=locale, **context)
    return HTMLResponse(html, status_code=status)


@app.exception_handler(LinkProblem)
def link_problem(request: Request, exc: LinkProblem) -> HTMLResponse:
    return page("error.html", exc.locale, exc.status, kind=exc.kind)


@app.get("/healthz", response_class=PlainTextResponse)
def healthz() -> str:
    return "ok"


@app.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return page("home.html", request_locale(request))


# --- hand-off --------------------------------------------------------------------------


def _module_view(code: str, locale: str) -> dict[str, Any]:
    module = get_catalog().modules[code]
    lang = "en" if locale == "en" else "zh_CN"
    return {"code": code, "title": module.title.get(lang),
            "materials": [{"code": m.code, "title": m.title.get(lang)} for m in module.materials]}


@app.get("/handoff/{module_code}", response_class=HTMLResponse)
def handoff_form(module_code: str, v: Annotated[Visit, Depends(visit("handoff"))]) -> HTMLResponse:
    return page("handoff.html", v.locale, person=v.person,
                module=_module_view(module_code, v.locale), errors=[],
                waiting=waiting_hires(module_code, v.locale))


class HandoffInput(BaseModel):
    note: str = Field("", max_length=2000)
    links: dict[str, HttpUrl] = {}


@app.post("/handoff/{module_code}", response_class=HTMLResponse)
async def handoff_submit(module_code: str, request: Request,
                         v: Annotated[Visit, Depends(visit("handoff"))]) -> HTMLResponse:
    module = _module_view(module_code, v.locale)
    form = await request.form(max_files=len(module["materials"]) + 1)
    errors: list[dict[str, str]] = []
    links: dict[str, str] = {}
    files: dict[str, UploadFile] = {}
    for material in module["materials"]:
        code = material["code"]
        upload, link = form.get(f"file-{code}"), str(form.get(f"link-{code}") or "").strip()
        if isinstance(upload, UploadFile) and upload.filename:
            suffix = Path(upload.filename).suffix.lower()
            if suffix not in ALLOWED_SUFFIXES:
                errors.append({"material": material["title"], "kind": "type",
                               "detail": suffix or upload.filename})
            elif (upload.size or 0) > MAX_UPLOAD_BYTES:
                errors.append({"material": material["title"], "kind": "size",
                               "detail": f"{(upload.size or 0) / 1048576:.1f} MB"})
            else:
                files[code] = upload
        elif link:
            links[code] = link
        else:
            errors.append({"material": material["title"], "kind": "missing", "detail": ""})
    try:
        data = HandoffInput(note=str(form.get("note") or ""), links=links)  # type: ignore[arg-type]
    except ValidationError as exc:
        for err in exc.errors():
            code = str(err["loc"][-1])
            title = next((m["title"] for m in module["materials"] if m["code"] == code), code)
            errors.append({"material": title, "kind": "link", "detail": str(err["input"])})
        data = None
    if errors or data is None:
        return page("handoff.html", v.locale, 422, person=v.person, module=module,
                    errors=errors)
    # Checked everything first: a refused upload stores nothing.
    folder = get_settings().data_dir.resolve() / "materials" / module_code / uuid.uuid4().hex
    items = []
    for material in module["materials"]:
        code = material["code"]
        if code in files:
            upload = files[code]
            folder.mkdir(parents=True, exist_ok=True)
            name = Path(upload.filename or code).name
            target = folder / f"{code}{Path(name).suffix.lower()}"
            target.write_bytes(await upload.read())
            items.append(repo.MaterialItem(material_code=code, file_name=name,
                                           file_path=str(target), size_bytes=target.stat().st_size,
                                           content_type=upload.content_type))
        else:
            items.append(repo.MaterialItem(material_code=code, link=str(data.links[code])))
    try:
        outcome = await run_in_threadpool(
            deliver_materials, module_code=module_code, by_email=v.person.email, via="link",
            items=items, note=data.note, link=v.link_use())
    except repo.LinkAlreadyUsed:
        raise v.refuse(410, "used") from None
    return page("done.html", v.locale, kind="handoff", module=module,
                runs=len(outcome.resumed) + len(outcome.deferred))


# --- study and quiz ------------------------------------------------------------------


def _assignment(assignment_id: int) -> tuple[Assignment, list[DeliveredMaterial], list[int]]:
    with transaction() as session:
        assignment = session.get_one(Assignment, assignment_id)
        delivery = repo.latest_delivery(session=session, module_code=assignment.module_code)
        materials = list(delivery.items) if delivery else []
        scores = [a.score for a in session.scalars(
            select(QuizAttempt).where(QuizAttempt.assignment_id == assignment_id)
            .order_by(QuizAttempt.attempt_no))]
        return assignment, materials, scores


@app.get("/study/{assignment_id}", response_class=HTMLResponse)
def study(assignment_id: int, request: Request,
          v: Annotated[Visit, Depends(visit("study"))]) -> HTMLResponse:
    assignment, materials, scores = _assignment(assignment_id)
    module = _module_view(assignment.module_code, v.locale)
    titles = {m["code"]: m["title"] for m in module["materials"]}
    quiz = get_catalog().modules[assignment.module_code].quiz
    # The study link is the hire's own; each visit mints a single-use link to one attempt.
    quiz_token = make_token(action="quiz", person_id=v.person.id, object_id=str(assignment_id),
                            valid_for=QUIZ_LINK_VALID_FOR)
    study_token = request.query_params.get("t", "")
    return page("study.html", v.locale, person=v.person, module=module, assignment=assignment,
                materials=[{"id": m.id, "title": titles.get(m.material_code, m.material_code),
                            "file": m.file_name, "link": m.link,
                            "url": f"/study/{assignment_id}/materials/{m.id}?t={study_token}"}
                           for m in materials],
                scores=scores, quiz=quiz, quiz_url=f"/quiz/{assignment_id}?t={quiz_token}",
                due=local_day(assignment.due_at))


@app.get("/study/{assignment_id}/materials/{material_id}")
def download(assignment_id: int, material_id: int,
             v: Annotated[Visit, Depends(visit("study"))]) -> Any:
    assignment, materials, _ = _assignment(assignment_id)
    item = next((m for m in materials if m.id == material_id), None)
    if item is None or not item.file_path:
        raise LinkProblem(404, "missing", v.locale)
    return FileResponse(item.file_path, filename=item.file_name or Path(item.file_path).name)


@app.get("/quiz/{assignment_id}", response_class=HTMLResponse)
def quiz_form(assignment_id: int, v: Annotated[Visit, Depends(visit("quiz"))]) -> HTMLResponse:
    assignment, _, scores = _assignment(assignment_id)
    module = get_catalog().modules[assignment.module_code]
    lang = "en" if v.locale == "en" else "zh_CN"
    questions = [{"text": q.text.get(lang), "choices": [c.get(lang) for c in q.choices]}
                 for q in module.quiz.questions]
    return page("quiz.html", v.locale, person=v.person, title=module.title.get(lang),
                questions=questions, attempt=len(scores) + 1, attempts=module.quiz.attempts,
                pass_mark=module.quiz.pass_mark, closed=assignment.status != "assigned")


class QuizAnswers(BaseModel):
    """Question index -> chosen choice index; an unanswered question counts as wrong."""

    answers: dict[Annotated[int, Field(ge=0, le=200)], Annotated[int, Field(ge=0, le=20)]]


@app.post("/quiz/{assignment_id}", response_class=HTMLResponse)
async def quiz_submit(assignment_id: int, request: Request,
                      v: Annotated[Visit, Depends(visit("quiz"))]) -> HTMLResponse:
    form = await request.form()
    try:
        data = QuizAnswers(answers={k[1:]: v for k, v in form.items()  # type: ignore[misc]
                                    if k.startswith("q")})
    except ValidationError:
        raise LinkProblem(422, "invalid-answers", v.locale) from None
    try:
        result = await run_in_threadpool(take_quiz, assignment_id=assignment_id,
                                         answers=data.answers, via="link", link=v.link_use())
    except repo.LinkAlreadyUsed:
        raise v.refuse(410, "used") from None
    except QuizClosed:
        raise v.refuse(410, "closed") from None
    module = get_catalog().modules[result.module]
    return page("quiz_result.html", v.locale, result=result,
                title=module.title.get("en" if v.locale == "en" else "zh_CN"))


# --- appraisal -----------------------------------------------------------------------


def _items(run_id: int, locale: str) -> list[dict[str, Any]]:
    with transaction() as session:
        run = repo.get_run(session=session, run_id=run_id)
        hire = run.hire.name
        items = run.plan["position"]["appraisal"]["items"]
    lang = "en" if locale == "en" else "zh_CN"
    return [{"code": i["code"], "title": i["title"][lang], "criteria": i["criteria"],
             "hire": hire} for i in items]


@app.get("/appraise/{run_id}", response_class=HTMLResponse)
def appraise_form(run_id: int, v: Annotated[Visit, Depends(visit("appraise"))]) -> HTMLResponse:
    items = _items(run_id, v.locale)
    return page("appraise.html", v.locale, person=v.person, items=items,
                hire=items[0]["hire"] if items else "", errors=[])


class Score(BaseModel):
    score: int = Field(ge=0, le=100)


@app.post("/appraise/{run_id}", response_class=HTMLResponse)
async def appraise_submit(run_id: int, request: Request,
                          v: Annotated[Visit, Depends(visit("appraise"))]) -> HTMLResponse:
    form = await request.form()
    items = _items(run_id, v.locale)
    scores: dict[str, dict[str, int]] = {}
    comments: dict[str, str] = {}
    errors = []
    for item in items:
        comments[item["code"]] = str(form.get(f"comment-{item['code']}") or "")[:2000]
        for criterion in item["criteria"]:
            raw = str(form.get(f"score-{item['code']}-{criterion}") or "")
            try:
                scores.setdefault(item["code"], {})[criterion] = Score(
                    score=raw).score  # type: ignore[arg-type]
            except ValidationError:
                errors.append({"item": item["title"], "criterion": criterion, "value": raw})
    if errors:
        return page("appraise.html", v.locale, 422, person=v.person, items=items,
                    hire=items[0]["hire"] if items else "", errors=errors)
    try:
        await run_in_threadpool(submit_appraisal, run_id=run_id, appraiser_id=v.person.id,
                                scores=scores, comments=comments, via="link", link=v.link_use())
    except (repo.LinkAlreadyUsed, AlreadyAppraised):
        raise v.refuse(410, "used") from None
    return page("done.html", v.locale, kind="appraisal", module=None, runs=1)


# --- HR pages --------------------------------------------------------------------------


@app.get("/hr/sign-in", response_class=HTMLResponse)
def hr_sign_in_form(request: Request) -> HTMLResponse:
    return page("hr_sign_in.html", request_locale(request), sent=False)


class SignIn(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)


@app.post("/hr/sign-in", response_class=HTMLResponse)
async def hr_sign_in(request: Request) -> HTMLResponse:
    form = await request.form()
    try:
        data = SignIn(email=str(form.get("email") or ""))
    except ValidationError:
        return page("hr_sign_in.html", request_locale(request), 422, sent=False, invalid=True)
    await run_in_threadpool(request_sign_in, data.email)
    # The same answer whether or not the address belongs to HR.
    return page("hr_sign_in.html", request_locale(request), sent=True)


def _hr_token(request: Request) -> str:
    return request.query_params.get("t", "")


@app.get("/hr", response_class=HTMLResponse)
def hr_runs(request: Request,
            v: Annotated[Visit, Depends(visit("hr", "track", scope_object="hr"))]) -> HTMLResponse:
    return page("hr_runs.html", v.locale, person=v.person, runs=runs_overview(v.locale),
                t=_hr_token(request))


@app.get("/hr/runs/{run_id}", response_class=HTMLResponse)
def hr_run(run_id: int, request: Request,
           v: Annotated[Visit, Depends(visit("hr", "track", scope_object="hr"))]) -> HTMLResponse:
    try:
        timeline = run_timeline(run_id, v.locale)
    except LookupError:
        raise LinkProblem(404, "missing", v.locale) from None
    return page("hr_run.html", v.locale, timeline=timeline, t=_hr_token(request))


@app.get("/hr/positions/{code}", response_class=HTMLResponse)
def hr_raci(code: str, request: Request,
            v: Annotated[Visit, Depends(visit("hr", "read", scope_object="hr"))]) -> HTMLResponse:
    catalog = get_catalog()
    position = catalog.positions.get(code)
    if position is None:
        raise LinkProblem(404, "missing", v.locale)
    lang = "en" if v.locale == "en" else "zh_CN"

    def names(codes: list[str]) -> str:
        return "、".join(catalog.departments[c].name.get(lang) if c in catalog.departments
                        else c for c in codes)

    rows = [{"module": catalog.modules[m].title.get(lang),
             "owner": catalog.departments[catalog.modules[m].owner].owner.name,
             "r": names(catalog.modules[m].raci.responsible),
             "a": names([catalog.modules[m].raci.accountable]),
             "c": names(catalog.modules[m].raci.consulted),
             "i": names(catalog.modules[m].raci.informed)} for m in position.modules]
    return page("hr_raci.html", v.locale, position=position.title.get(lang), rows=rows,
                t=_hr_token(request))
