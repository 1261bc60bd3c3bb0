"""The reader's choice of language: a link on every page to the same page in the other one.

The link goes to `/language/<locale>?next=<this page>`, which keeps the choice in a cookie
and sends the reader back: no script (the CSP forbids it), and the page's own URL, link token
included, comes back unchanged. The choice wins over the person's stored language and the
browser's (`forms.links.request_locale`, `reader_locale`).
"""

from __future__ import annotations

from contextvars import ContextVar
from urllib.parse import quote

from babel import Locale
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from tasks.i18n import LOCALES, html_lang, other_locale

COOKIE = "jieli_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
MAX_NEXT_CHARS = 1500  # a page's path and query: a link token is about 150 characters

# The path and query of the page being answered, for its language link.
_current_page: ContextVar[str] = ContextVar("current_page", default="/")

router = APIRouter()


def chosen_locale(request: Request) -> str | None:
    """The language the reader chose with the link, if they did."""
    value = request.cookies.get(COOKIE)
    return value if value in LOCALES else None


def chosen_in(cookie_header: str | None) -> str | None:
    """The same, from a raw Cookie header (for answers given before any route runs)."""
    value = cookie_parser(cookie_header or "").get(COOKIE)
    return value if value in LOCALES else None


class CurrentPage:
    """ASGI middleware remembering the path and query of the request being answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            _current_page.set(scope.get("path", "/") + (f"?{query}" if query else ""))
        await self.app(scope, receive, send)


def language_switch(locale: str, here: str | None = None) -> dict[str, str]:
    """The link to this page (or to `here`) in the other language, named in that language."""
    other = other_locale(locale)
    target = here or _current_page.get()
    name = Locale.parse(other).get_language_name(other) or other
    return {"href": f"/language/{other}?next={quote(target, safe='')}", "label": name,
            "lang": html_lang(other)}


def _local(path: str) -> str:
    """`path` when it is a path of this site; `/` for anything else (no open redirect)."""
    if (not path.startswith("/") or path.startswith("//") or "\\" in path
            or len(path) > MAX_NEXT_CHARS or any(ord(c) < 32 for c in path)):
        return "/"
    return path


@router.get("/language/{locale}")
def choose_language(locale: str, next: str = Query("/")) -> RedirectResponse:
    """Keep the reader's choice of language and go back to the page they were on."""
    from forms.sessions import cookie_is_secure  # here: forms.sessions imports forms.links

    response = RedirectResponse(_local(next), status_code=303)
    if locale in LOCALES:
        response.set_cookie(COOKIE, locale, max_age=COOKIE_MAX_AGE, path="/",
                            secure=cookie_is_secure(), httponly=True, samesite="lax")
    return response
