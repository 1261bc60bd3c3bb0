"""What a person's name and email address may be, checked where they enter Jieli.

A name is data, shown in emails, pages, the CLI and Prefect artifacts; each of those escapes
it with its own tool (email address objects, Jinja autoescape, `rich.markup.escape`,
`tasks.markdown`). So only what no output can carry safely is refused here:

- control characters (CR/LF split email headers and log lines, and break table rows),
  Unicode line/paragraph separators, and bidi overrides (they reorder what a reader sees);
- more than NAME_MAX characters (the column holds 200; nobody's name needs 100).

Quotes (`Robert "Bob" Smith`), brackets and markdown characters do occur in real names and
imported data, so they are accepted and escaped per output. An email address must be a plain
ASCII `local@domain` (dot-atom, no display name, no quoted local part): SMTP without
SMTPUTF8 carries nothing else, and anything more is a way to smuggle a second recipient.
"""

from __future__ import annotations

import re
import unicodedata

NAME_MAX = 100
EMAIL_MAX = 254  # RFC 5321's limit on a forward path
# Embeddings, overrides and isolates: they make text display in another order than stored.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
REFUSED_CATEGORIES = {"Cc", "Zl", "Zp", "Cs", "Co", "Cn"}
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_RE = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*$")


class InvalidPerson(ValueError):
    """A name or email address that Jieli refuses, with what to fix."""


def check_name(name: str) -> str:
    """The name without surrounding spaces; InvalidPerson when it cannot be a name."""
    name = name.strip()
    if not name:
        raise InvalidPerson("the name is empty: give the person's name")
    if len(name) > NAME_MAX:
        raise InvalidPerson(f"the name has {len(name)} characters: shorten it to at most "
                            f"{NAME_MAX}")
    for position, char in enumerate(name, start=1):
        if char in BIDI_CONTROLS or unicodedata.category(char) in REFUSED_CATEGORIES:
            what = "a line break" if char in "\r\n\u2028\u2029" else "a control character"
            raise InvalidPerson(
                f"the name contains {what} ({unicodedata.name(char, f'U+{ord(char):04X}')}) "
                f"at character {position}: remove it and type the name on one line")
    return name


def check_email(email: str) -> str:
    """The address trimmed and lower-cased; InvalidPerson unless it is a plain address."""
    address = email.strip().lower()
    if not address:
        raise InvalidPerson("the email address is empty: give an address like "
                            "zhang.wei@example.com")
    if len(address) > EMAIL_MAX:
        raise InvalidPerson(f"the email address has {len(address)} characters: at most "
                            f"{EMAIL_MAX} are possible")
    if not EMAIL_RE.match(address) or len(address.split("@")[0]) > 64:
        raise InvalidPerson(f"{address!r} is not an email address: give only the address, "
                            "like zhang.wei@example.com (ASCII, no name, spaces or <>)")
    return address
