"""Charts drawn on the server as SVG (pygal), put inline in a page: no script, no CDN.

pygal writes a `<script>` holding its configuration into every chart (for its optional
tooltips, whose script would come from a CDN): the pages' CSP forbids scripts, so it is
taken out, with pygal's comments; `js=[]` keeps the CDN's script out in the first place.
The charts are drawn narrow (a phone's width) with large type and scale with their
container through the viewBox, so their labels stay readable on a 390 px screen.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from xml.etree import ElementTree

import pygal
from markupsafe import Markup
from pygal.style import Style

from tasks.i18n import gettext, normalize_locale

WIDTH = 420  # user units of the viewBox: about a phone's width, so type is not scaled down
ROW = 44  # height per bar
CHROME = 96  # margins, axis and legend
CJK_FONTS = '"WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC"'
# English in Latin fonts first (a Chinese font draws Latin text wide), Chinese names after.
FONTS = {"zh_CN": f"{CJK_FONTS}, sans-serif",
         "en": f'"Liberation Sans", Arial, "Helvetica Neue", {CJK_FONTS}, sans-serif'}
GREEN, AMBER, RED, BLUE = "#2e7d32", "#f29900", "#c62828", "#1a73e8"
FONT_SIZE = 15


def _ems(text: str) -> float:
    """About how wide `text` is, in ems: a Chinese character is one, a Latin one 0.6."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)


def _room_for(labels: Sequence[str]) -> int:
    """The extra left margin labels need beyond pygal's guess, which takes every character
    for 0.6 em."""
    guessed = 0.6 * max((len(t) for t in labels), default=0)
    return round(max(0.0, max((_ems(t) for t in labels), default=0) - guessed) * FONT_SIZE)


def _legend_columns(names: Sequence[str]) -> int:
    """As many legend columns as fit side by side (a box and a gap take about 2 ems)."""
    widest = (max((_ems(t) for t in names), default=0) + 2) * FONT_SIZE
    return max(1, min(len(names), int(WIDTH // widest)))


def _style(locale: str, colors: Sequence[str]) -> Style:
    return Style(font_family=FONTS[normalize_locale(locale)], background="transparent",
                 plot_background="#ffffff", foreground="#222222", foreground_strong="#222222",
                 foreground_subtle="#dddddd", colors=tuple(colors),
                 label_font_size=FONT_SIZE, major_label_font_size=FONT_SIZE,
                 legend_font_size=FONT_SIZE, value_font_size=14, tooltip_font_size=14,
                 no_data_font_size=18, guide_stroke_color="#cccccc",
                 major_guide_stroke_color="#cccccc", guide_stroke_dasharray="2,3")


def _without_script(label: str) -> Callable[[ElementTree.Element], ElementTree.Element]:
    """An XML filter: no script, no comments, and a name for screen readers."""

    def clean(root: ElementTree.Element) -> ElementTree.Element:
        for parent in root.iter():
            for child in list(parent):
                if child.tag == ElementTree.Comment or str(child.tag).endswith("script"):
                    parent.remove(child)
        root.set("role", "img")
        root.set("aria-label", label)
        return root

    return clean


def _render(chart: pygal.graph.graph.Graph, label: str) -> Markup:
    chart.add_xml_filter(_without_script(label))
    # pygal escapes every text it writes into the SVG: safe to put inline as it is.
    return Markup(chart.render(is_unicode=True))


def _chart(kind: type[pygal.graph.graph.Graph], locale: str, labels: Sequence[str],
           series: Sequence[str], colors: Sequence[str],
           **config: object) -> pygal.graph.graph.Graph:
    columns = _legend_columns(series)
    legend_rows = -(-len(series) // columns) if config.get("show_legend", True) else 0
    # pygal makes room for len // columns legend rows: a last row not full needs its own.
    unseen = legend_rows - len(series) // columns if legend_rows else 0
    chart = kind(js=[], disable_xml_declaration=True, width=WIDTH,
                height=CHROME + ROW * max(len(labels), 1) + 24 * max(legend_rows - 1, 0),
                style=_style(locale, colors),
                margin_left=8 + _room_for(labels), margin_right=24,
                legend_at_bottom=True, legend_at_bottom_columns=columns, truncate_legend=-1,
                truncate_label=-1, print_values=True, print_zeroes=False, margin_top=8,
                margin_bottom=8 + round(unseen * 1.5 * FONT_SIZE),
                no_data_text=gettext(locale, "No data"), **config)
    chart.x_labels = list(reversed(labels))  # pygal draws the first at the bottom
    return chart


def stacked_bars(locale: str, label: str, categories: Sequence[str],
                 series: Sequence[tuple[str, str, Sequence[int]]]) -> Markup:
    """Horizontal bars, one per category, stacked from `series` (name, colour, values)."""
    chart = _chart(pygal.HorizontalStackedBar, locale, categories,
                   [name for name, _, _ in series], [colour for _, colour, _ in series])
    for name, _, numbers in series:
        chart.add(name, list(reversed(numbers)))
    return _render(chart, label)


def bars(locale: str, label: str, categories: Sequence[str], numbers: Sequence[float | None],
         colour: str = BLUE, percent: bool = False) -> Markup:
    """Horizontal bars, one per category; None draws no bar. `percent`: 0-100, with %."""
    config: dict[str, object] = {"show_legend": False}
    if percent:
        config.update(range=(0, 100), y_labels=[0, 25, 50, 75, 100],
                      value_formatter=lambda v: f"{v:.0f}%")
    chart = _chart(pygal.HorizontalBar, locale, categories, [label], [colour], **config)
    chart.add(label, list(reversed(numbers)))
    return _render(chart, label)
