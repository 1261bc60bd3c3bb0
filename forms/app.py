"""The forms app. Until the forms land, it answers each email link with a page saying so."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from tasks.i18n import jinja_env, normalize_locale

app = FastAPI(title="Jieli forms")


@app.get("/healthz", response_class=PlainTextResponse)
def healthz() -> str:
    return "ok"


@app.get("/{path:path}", response_class=HTMLResponse)
def stub(path: str, request: Request) -> str:
    locale = normalize_locale(request.headers.get("accept-language"))
    page = jinja_env(locale, "forms").get_template("stub.html")
    return page.render(lang="en" if locale == "en" else "zh-CN")
