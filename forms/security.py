"""What every response and every POST of the forms app goes through: security headers, and
the refusal of cross-site POSTs by their Origin (or Referer).

Pages carry tokens and personal data: no page may be framed, cached, or send a Referer to
the sites its links point to (the study page links to materials elsewhere).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forms.links import request_locale
from storage import clock, repo
from storage.settings import LOOPBACK, get_settings
from tasks.env import transaction

# No script at all (the pages have none); inline styles stay, the templates use them.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # Every page is someone's: a link's form, a hire's scores, HR's runs. Nothing is cached.
    "Cache-Control": "no-store",
}


class Refused(Exception):
    """Rendered as the refusal page: kind is signed-out | too-many | cross-site | csrf."""

    def __init__(self, status: int, kind: str, locale: str, retry_after: int | None = None):
        super().__init__(kind)
        self.status, self.kind, self.locale, self.retry_after = status, kind, locale, retry_after


class SecurityHeaders:
    """ASGI middleware adding the security headers to every response, and making every
    download an attachment (a material is never rendered by the browser as a page)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                disposition = headers.get("content-disposition")
                if disposition and not disposition.lower().startswith("attachment"):
                    headers["content-disposition"] = "attachment" + (
                        disposition[disposition.index(";"):] if ";" in disposition else "")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of a URL, lower case, without a default port; None if unreadable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def allowed_origins(request: Request) -> set[str]:
    """The origin of public_base_url, and, when reached on loopback, the request's own."""
    origins = {origin_of(get_settings().public_base_url)}
    own = origin_of(f"{request.url.scheme}://{request.headers.get('host', '')}")
    if own and urlsplit(own).hostname in LOOPBACK:
        origins.add(own)
    return {o for o in origins if o}


async def same_origin(request: Request) -> None:
    """A dependency of every route: a POST from another site's page is refused (403), audited,
    and changes nothing.

    Every signal the browser sent must agree: Origin (unless `null`), Referer, and
    Sec-Fetch-Site. Under our `no-referrer` policy a browser sends `Origin: null` and no
    Referer even for our own forms, so Sec-Fetch-Site is what tells a foreign page there; a
    client that sends none of them (a script) is left to the link or CSRF token.
    """
    # Async: every request passes here, and a GET needs no thread; only a refusal writes.
    if request.method != "POST":
        return
    origin = request.headers.get("origin")
    claimed = [c for c in (origin if origin != "null" else None,
                           request.headers.get("referer")) if c]
    allowed = allowed_origins(request)
    fetch_site = request.headers.get("sec-fetch-site")
    if all(origin_of(c) in allowed for c in claimed) and \
            fetch_site in (None, "same-origin", "none"):
        return
    await run_in_threadpool(_audit_cross_site, path=request.url.path, origin=origin,
                            referer=request.headers.get("referer"), fetch_site=fetch_site)
    raise Refused(403, "cross-site", request_locale(request))


def _audit_cross_site(*, path: str, origin: str | None, referer: str | None,
                      fetch_site: str | None) -> None:
    with transaction() as session:
        repo.audit(session=session, actor="unknown", action="refused-cross-site",
                   object_type="path", object_id=path[:64], via="link", now=clock.now(),
                   detail={"origin": (origin or "")[:200], "referer": (referer or "")[:200],
                           "sec-fetch-site": fetch_site})
