"""Rendering a page of the forms app, shared by its routers."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse

from forms.language import language_switch
from forms.links import Visit
from tasks.i18n import html_lang, jinja_env
from tasks.links import Spent


def page(name: str, locale: str, status: int = 200, here: str | None = None,
         **context: Any) -> HTMLResponse:
    """A page in `locale`, with a link to it (or to `here`) in the other language."""
    env = jinja_env(locale, "forms")
    html = env.get_template(name).render(lang=html_lang(locale),
                                         locale=locale, switch=language_switch(locale, here),
                                         **context)
    return HTMLResponse(html, status_code=status)


def spent_page(v: Visit, spent: Spent, next_url: str = "") -> HTMLResponse:
    """A form whose link acted already: when and by whom, instead of a form to fill in again."""
    return page("error.html", v.locale, 410, kind="used", spent=spent, next_url=next_url)
