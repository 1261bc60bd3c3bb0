"""Data inside the markdown of Prefect artifacts: shown as typed, never as markup.

A name like `![x](http://evil/x.png) [y](javascript:alert(1)) | a |` must not become an
image, a link or a new table cell in the boss's view. CommonMark lets every ASCII punctuation
character be escaped with a backslash and shows it literally; escaping all of them (rather
than a chosen few) also stops autolinks (`http:`), HTML (`<`), emphasis and table pipes, in
every renderer that follows the spec. No maintained library does only this; markdown-it and
mistune parse, they do not escape.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_BREAKS = re.compile(r"[\r\n\u2028\u2029\t]+")


def md_text(value: object) -> str:
    """The value as literal markdown text, on one line, safe inside a table cell."""
    return _PUNCTUATION.sub(r"\\\1", _BREAKS.sub(" ", str(value)))
