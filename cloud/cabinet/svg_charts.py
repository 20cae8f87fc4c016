"""Charts drawn on the server as inline SVG: no JavaScript, no library, no CDN, and
nothing the page's CSP (``default-src 'self'``) refuses — colours come from classes in
``cabinet.css``, never from ``style`` attributes. Each bar and point carries its value
(``data-value``) and a ``<title>`` the browser shows on hover; the table under the chart
has the same numbers for reading and for screen readers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 56
Value = int | Decimal | None


def _nice(top: float) -> tuple[float, float]:
    """An axis maximum at or above ``top`` and its step (1, 2 or 5 times a power of 10),
    for four or five gridlines."""
    if top <= 0:
        return 1.0, 0.25
    raw = top / 4
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = power * factor
        if step * 4 >= top:
            break
    steps = -(-top // step)
    return step * steps, step


def _number(value: float) -> str:
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text.replace(",", "\u00a0").replace(".", ",")


def chart(
    kind: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Value]]],
    title: str,
    unit: str = "",
) -> Markup:
    """A ``bar`` (grouped) or ``line`` chart of one or more series over ``labels``."""
    values = [float(v) for _, vs in series for v in vs if v is not None]
    top, step = _nice(max(values, default=0.0))
    # Below zero (a month whose returns exceed its sales) the axis goes down as far.
    low = -_nice(-min(values, default=0.0))[0] if min(values, default=0.0) < 0 else 0.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)

    def y(value: float) -> float:
        return TOP + plot_h * (top - value) / (top - low)

    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    tick = 0.0
    while tick <= top + step / 2:
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                   f'y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')  # fmt: skip
        out.append(f'<text class="axis" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" '
                   f'text-anchor="end">{_number(tick)}</text>')  # fmt: skip
        tick += step
    every = max(1, -(-len(labels) // 12))  # at most twelve labels under the axis
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + slot * (i + 0.5)
            out.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                       f'text-anchor="middle">{escape(_short(label))}</text>')  # fmt: skip
    if kind == "bar":
        width = slot * 0.8 / max(len(series), 1)
        for s, (name, vs) in enumerate(series):
            for i, value in enumerate(vs):
                bar = float(value or 0)
                x = LEFT + slot * (i + 0.1) + width * s
                out.append(
                    f'<rect class="s{s}" x="{x:.1f}" y="{min(y(bar), y(0)):.1f}" '
                    f'width="{width:.1f}" height="{abs(y(0) - y(bar)):.1f}" '
                    f'data-series="{escape(name)}" '
                    f'data-label="{escape(labels[i])}" data-value="{_raw(value)}">'
                    f"<title>{escape(labels[i])} · {escape(name)}: {_show(value, unit)}</title>"
                    "</rect>"
                )
    else:
        for s, (name, vs) in enumerate(series):
            points = [(LEFT + slot * (i + 0.5), v) for i, v in enumerate(vs)]
            path = " ".join(f"{x:.1f},{y(float(v)):.1f}" for x, v in points if v is not None)
            if path:
                out.append(f'<polyline class="line s{s}" points="{path}"/>')
            for i, (x, v) in enumerate(points):
                if v is None:
                    continue
                out.append(
                    f'<circle class="s{s}" cx="{x:.1f}" cy="{y(float(v)):.1f}" r="4" '
                    f'data-series="{escape(name)}" data-label="{escape(labels[i])}" '
                    f'data-value="{_raw(v)}"><title>{escape(labels[i])} · {escape(name)}: '
                    f"{_show(v, unit)}</title></circle>"
                )
    out.append(f'<line class="axis-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
               f'y1="{y(0):.1f}" y2="{y(0):.1f}"/>')  # fmt: skip
    out.append("</svg>")
    legend = "".join(
        f'<li><span class="swatch s{s}"></span>{escape(name)}</li>'
        for s, (name, _) in enumerate(series)
    )
    return Markup("".join(out) + f'<ul class="legend">{legend}</ul>')


def _short(label: str) -> str:
    """``2026-03`` reads ``03.26`` under the axis; other labels are cut to fit."""
    if len(label) == 7 and label[4] == "-":
        return f"{label[5:]}.{label[2:4]}"
    return label if len(label) <= 16 else label[:15] + "…"


def _raw(value: Value) -> str:
    return "" if value is None else str(value)


def _show(value: Value, unit: str) -> str:
    if value is None:
        return "—"
    return _number(float(value)) + (f" {unit}" if unit else "")
