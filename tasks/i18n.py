"""Translations (Babel catalogs zh_CN and en) and the Jinja2 environment that uses them.

The .po files are read directly and compiled in memory, so no generated .mo file is needed.
"""

from __future__ import annotations

from functools import lru_cache, partial
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

LOCALES_DIR = Path(__file__).parent / "locales"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


def normalize_locale(locale: str | None) -> str:
    """One of LOCALES: 'en-US' and 'en' give 'en'; 'zh', 'zh-CN' and unknowns give zh_CN.

    An Accept-Language header works too: its first language decides.
    """
    first = (locale or "").split(",")[0].split(";")[0].strip()
    if first.replace("-", "_").split("_")[0].lower() == "en":
        return "en"
    return DEFAULT_LOCALE


def html_lang(locale: str | None) -> str:
    """The locale as HTML's `lang` attribute names it: 'zh-CN', 'en'."""
    return normalize_locale(locale).replace("_", "-")


def other_locale(locale: str | None) -> str:
    """The installation's other language: the one a page's language switch offers."""
    return "zh_CN" if normalize_locale(locale) == "en" else "en"


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> Translations:
    locale = normalize_locale(locale)
    po = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def N_(message: str) -> str:
    """Mark a string for the catalogs; it is translated where it is shown."""
    return message


def gettext(locale: str, message: str) -> str:
    return translations(locale).gettext(message)


def with_colon(label: str, locale: str) -> Markup:
    """`label` and a colon as the language writes them: 部门负责人： / Department owners: ."""
    return Markup(gettext(locale, "%(label)s: ")) % {"label": label}


@lru_cache(maxsize=4 * len(LOCALES))
def jinja_env(locale: str, package: str = "tasks") -> Environment:
    """Templates of <package>/templates with gettext bound to `locale`."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change with a new release (a restart), not while a process runs: no stat of
        # each template and its parents at every page.
        auto_reload=False,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    # Here, not at the top: tasks.dates and tasks.labels import this module.
    from tasks.dates import first_day, spoken_day, spoken_time
    from tasks.labels import names

    # Days, times and codes as the reader reads them: {{ due|day }}, {{ code|department }}.
    n = names(locale)
    env.filters.update({
        "day": partial(spoken_day, locale=locale), "time": partial(spoken_time, locale=locale),
        "first_day": partial(first_day, locale=locale),
        "department": n.department, "module": n.module, "modules": n.modules,
        "position": n.position, "party": n.party, "role": n.role, "run_state": n.run_state,
        "study_state": n.study_state, "cause": n.cause, "criterion": n.criterion,
        "session_answer": n.session_answer,
        "colon": partial(with_colon, locale=locale),
    })
    return env
