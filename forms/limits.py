"""Bounded requests: a body-size limit per route, enforced while the body streams in.

Starlette reads (and spools to disk) a whole multipart body before a handler can look at a
file's size, so a limit checked in the handler comes after the bytes were taken. This ASGI
middleware counts the bytes as the app receives them and stops at the route's limit: a
declared Content-Length over it is refused before anything is read, a chunked body as soon
as it passes it. It also refuses over-long URLs (path and query) before any route runs.

Our own code rather than Starlette's RequestBodyLimitMiddleware (1.x): that one takes one
limit per app or per Starlette `Route` (FastAPI's routes do not pass one on), and answers with
plain text, or, once a route reads the body, with an HTTPException that FastAPI renders as
JSON; people here need a page in their language. The counting is the same few lines.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from starlette.datastructures import FormData, Headers
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forms.language import chosen_in, language_switch
from tasks.i18n import html_lang, jinja_env, normalize_locale
from tasks.materials import MAX_FILE_BYTES

KB = 1024
MB = 1024 * KB
# A material file may be 20 MB; the whole hand-off a little more, for the other fields and
# the multipart framing.
HANDOFF_BODY_BYTES = MAX_FILE_BYTES + 512 * KB
SIGN_IN_BODY_BYTES = 4 * KB  # an email address and a few headers' worth of framing
DEFAULT_BODY_BYTES = 64 * KB  # quiz answers and the like
# Comments of every appraisal item, URL-encoded (a Chinese character takes 9 bytes): room for
# over-long ones to reach the form, which says how long they are and keeps them.
APPRAISAL_BODY_BYTES = 256 * KB
# Links carry a token of about 150 characters; paths are a word and an id.
MAX_URL_BYTES = 2 * KB

ROUTE_LIMITS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"^/handoff/[^/]+$"), HANDOFF_BODY_BYTES),
    (re.compile(r"^/submit/[^/]+$"), HANDOFF_BODY_BYTES),  # one file, the hand-off's rules
    (re.compile(r"^/hr/sign-in$"), SIGN_IN_BODY_BYTES),
    (re.compile(r"^/appraise/[^/]+$"), APPRAISAL_BODY_BYTES),
    (re.compile(r"^/grade/[^/]+$"), APPRAISAL_BODY_BYTES),  # a comment per rubric criterion
    # Department pages: one material's file, or a whole quiz in two languages.
    (re.compile(r"^/dept/modules/[^/]+/materials(/[^/]+)?$"), HANDOFF_BODY_BYTES),
    (re.compile(r"^/dept/modules/[^/]+/quiz$"), APPRAISAL_BODY_BYTES),
    (re.compile(r"^/dept/sign-in$"), SIGN_IN_BODY_BYTES),
]


def body_limit(path: str) -> int:
    """The most bytes of body a request to `path` may send."""
    return next((limit for pattern, limit in ROUTE_LIMITS if pattern.match(path)),
                DEFAULT_BODY_BYTES)


def repeated_fields(form: FormData, prefixes: tuple[str, ...]) -> list[str]:
    """Fields starting with one of `prefixes` sent more than once (a browser never does)."""
    counts = Counter(key for key, _ in form.multi_items() if key.startswith(prefixes))
    return sorted(key for key, n in counts.items() if n > 1)


class BodyTooLarge(Exception):
    pass


def refusal_page(status: int, kind: str, scope: Scope) -> HTMLResponse:
    """The 413/414 page, in the language the reader chose, else the browser's."""
    headers = Headers(scope=scope)
    locale = chosen_in(headers.get("cookie")) or normalize_locale(headers.get("accept-language"))
    # A body too large came from a form: its page (a GET) is there in the other language.
    switch = {"switch": language_switch(locale)} if kind == "body" else {}
    html = jinja_env(locale, "forms").get_template("too_large.html").render(
        lang=html_lang(locale), locale=locale, kind=kind, **switch,
        files=body_limit(scope["path"]) == HANDOFF_BODY_BYTES,
        limit=f"{MAX_FILE_BYTES // MB} MB")
    return HTMLResponse(html, status_code=status)


class RequestLimits:
    """ASGI middleware: refuse over-long URLs (414) and over-large bodies (413)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int] = body_limit) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        url_bytes = len(scope.get("raw_path") or scope["path"].encode()) \
            + len(scope.get("query_string", b""))
        if url_bytes > MAX_URL_BYTES:
            await refusal_page(414, "url", scope)(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await refusal_page(413, "body", scope)(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:  # a route that answered before reading its whole body
                raise
            await refusal_page(413, "body", scope)(scope, receive, send)
