"""What a person reads, checked for what they should never read: catalog codes and ISO dates.

Pages are read as their visible text (not attributes, URLs, styles or scripts); emails,
artifacts and CLI tables as their text. In Chinese any Latin code is a fault; in English only
the codes no English sentence has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from tasks.env import get_catalog

ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# Jieli's own codes of states, roles, causes and criteria: never shown inside Chinese text.
OWN_CODES = {"active", "completed", "cancelled", "assigned", "passed", "failed", "pending",
             "hire", "boss", "owner", "appraiser", "handoff", "study", "appraisal",
             "practice", "content", "delivery", "unattributed"}


class VisibleText(HTMLParser):
    """The text a reader sees: text content, not attributes, URLs, styles or scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._hidden += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def catalog_codes() -> set[str]:
    """Every code the catalog names something with: departments, modules, materials,
    positions, appraisal items, causes."""
    catalog = get_catalog()
    codes = set(catalog.departments) | set(catalog.modules) | set(catalog.positions)
    codes |= {m.code for module in catalog.modules.values() for m in module.materials}
    codes |= {i.code for p in catalog.positions.values() for i in p.appraisal.items}
    return codes | {r.cause for r in catalog.rules.attribution}


def codes_in(text: str, locale: str) -> list[str]:
    """The codes that appear as words in `text`. In Chinese any Latin code is one; in
    English only the codes no English sentence has (hyphenated ones, department codes)."""
    catalog = get_catalog()
    if locale == "en":
        codes = {c for c in catalog_codes() if "-" in c} | set(catalog.departments)
    else:
        codes = catalog_codes() | OWN_CODES
    return sorted(c for c in codes
                  if re.search(rf"(?<![A-Za-z0-9_-]){re.escape(c)}(?![A-Za-z0-9_-])", text))


@dataclass
class Reading:
    """Everything a person reads about the relay, by where it was read."""

    texts: dict[str, str] = field(default_factory=dict)

    def add(self, where: str, text: str) -> None:
        assert text.strip(), where
        self.texts[where] = text

    def problems(self, locale: str) -> dict[str, list[str]]:
        found = {}
        for where, text in self.texts.items():
            codes = codes_in(text, locale)
            days = ISO_DAY.findall(text)
            if codes or days:
                found[where] = codes + days
        return found
