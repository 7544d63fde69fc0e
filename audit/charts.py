"""Charts as inline SVG: no JavaScript, no external assets, readable when printed.

Every label is escaped here, so a template may mark the result safe.
"""

from collections.abc import Mapping, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe palette (Okabe-Ito), one colour per series name.
COLOURS = {
    "granted": "#0072B2",
    "revoked": "#D55E00",
    "expired": "#E69F00",
    "allowed": "#009E73",
    "denied": "#CC79A7",
    "count": "#56B4E9",
}
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _nice_max(value: int) -> int:
    """A round axis maximum at or above `value`."""
    if value <= 5:
        return 5
    step = 10 ** (len(str(value)) - 1)
    return ((value + step - 1) // step) * step


def _text_width(text: str) -> int:
    """Rough width in pixels at 11px: Hangul and other wide glyphs count double."""
    return sum(12 if ord(char) >= 0x1100 else 7 for char in text)


def _legend(names: dict[str, str], y: int) -> str:
    items, x = [], 0
    for name, label in names.items():
        items.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" '
            f'fill="{COLOURS[name]}"/><text x="{x + 14}" y="{y}" {_FONT}>'
            f"{escape(label)}</text>"
        )
        x += 24 + _text_width(label)
    return "".join(items)


def _svg(width: int, height: int, title: str, body: str) -> SafeString:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[int]],
    names: dict[str, str],
) -> SafeString:
    """One line per series over the labels (days), with a y axis and a legend."""
    width, height, left, top, bottom, right = 720, 260, 44, 24, 40, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((max(v, default=0) for v in series.values()), default=0))
    step = plot_w / max(len(labels) - 1, 1)
    parts = []
    for tick in range(5):
        value = top_value * tick // 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#ddd"/><text x="{left - 4}" y="{y + 4:.1f}" '
            f'text-anchor="end" {_FONT}>{value}</text>'
        )
    every = max(len(labels) // 8, 1)
    for index, label in enumerate(labels):
        if index % every == 0:
            x = left + index * step
            parts.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                f"{_FONT}>{escape(label)}</text>"
            )
    for name, values in series.items():
        points = " ".join(
            f"{left + i * step:.1f},{top + plot_h - plot_h * v / top_value:.1f}"
            for i, v in enumerate(values)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{COLOURS[name]}" '
            f'stroke-width="2"/>'
        )
    parts.append(f'<g transform="translate({left},{height - 6})">')
    parts.append(_legend(names, 0) + "</g>")
    return _svg(width, height, title, "".join(parts))


def bar_chart(
    *,
    title: str,
    rows: Sequence[tuple[str, dict[str, int]]],
    names: dict[str, str],
) -> SafeString:
    """Horizontal stacked bars, one per row label, each segment a series."""
    label_w, bar_h, gap, width = 190, 16, 8, 720
    height = 30 + len(rows) * (bar_h + gap) + 20
    top_value = _nice_max(max((sum(c.values()) for _, c in rows), default=0))
    plot_w = width - label_w - 60
    parts = []
    for index, (label, counts) in enumerate(rows):
        y = 10 + index * (bar_h + gap)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" {_FONT}>'
            f"{escape(label[:32])}</text>"
        )
        x = float(label_w)
        for name in names:
            size = plot_w * counts.get(name, 0) / top_value
            if size:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{size:.1f}" height="{bar_h}" '
                    f'fill="{COLOURS[name]}"><title>{escape(names[name])}: '
                    f"{counts.get(name, 0)}</title></rect>"
                )
            x += size
        parts.append(
            f'<text x="{x + 4:.1f}" y="{y + 12}" {_FONT}>{sum(counts.values())}</text>'
        )
    legend_y = 10 + len(rows) * (bar_h + gap) + 14
    parts.append(f'<g transform="translate({label_w},{legend_y})">')
    parts.append(_legend(names, 0) + "</g>")
    return _svg(width, height, title, "".join(parts))
