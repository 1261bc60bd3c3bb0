"""The forms app. Until the forms land, it answers each email link with a page saying so."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse

app = FastAPI(title="Jieli forms")

STUB = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Jieli 接力</title>
</head><body><h1>Jieli 接力</h1><p>表单即将上线；目前请使用命令行 <code>jieli deliver</code>。</p>
<p>Forms are coming; until then use <code>jieli deliver</code> on the command line.</p>
</body></html>"""


@app.get("/healthz", response_class=PlainTextResponse)
def healthz() -> str:
    return "ok"


@app.get("/{path:path}", response_class=HTMLResponse)
def stub(path: str) -> str:
    return STUB
