"""Extract user-facing strings and merge them into the zh_CN and en catalogs.

    .venv/bin/python tools/update_translations.py

New strings get an empty zh_CN translation (fill them in; tests/tasks/test_i18n.py fails until
you do) and an identical en one; strings no longer used are dropped.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "tasks" / "locales"
KEYWORDS = {"_": None, "gettext": (2,), "N_": None}
METHODS = [("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2"),
           ("**.py", "python")]
PACKAGES = ("flows", "tasks", "forms", "deployments")


def extracted() -> list[str]:
    seen: dict[str, None] = {}
    for package in PACKAGES:
        for _f, _l, message, _c, _ctx in extract_from_dir(ROOT / package, METHODS,
                                                           keywords=KEYWORDS):
            seen[message if isinstance(message, str) else message[0]] = None
    return list(seen)


def main() -> None:
    messages = extracted()
    for locale in ("zh_CN", "en"):
        path = LOCALES / locale / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as f:
            old = {m.id: m.string for m in read_po(f, locale=locale) if m.id}
        catalog = Catalog(locale=locale, project="jieli", charset="utf-8")
        missing = []
        for message in messages:
            string = old.get(message) or (message if locale == "en" else "")
            if not string:
                missing.append(message)
            catalog.add(message, string)
        with path.open("wb") as f:
            write_po(f, catalog, width=100)
        print(f"{locale}: {len(messages)} strings, {len(missing)} untranslated")
        for message in missing:
            print(f"  {message!r}")


if __name__ == "__main__":
    main()
