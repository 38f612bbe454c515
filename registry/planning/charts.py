"""Server-side SVG charts: cumulative planned / notified / done per year against the target.

Only SVG presentation attributes (fill=, x=, ...) are used: the CSP forbids inline style
attributes. Colours differ in lightness too, so the chart still reads when printed in grey.
"""
from __future__ import annotations

from markupsafe import Markup, escape

SERIES = (("planned", "已列入计划", "#b8cde6", "#1f5fa8"),
          ("notified", "已下达通知", "#f0b429", "#8d6708"),
          ("done", "已完成", "#243b53", "#102a43"))
W, H = 520, 250
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 34, 30


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    for power in range(0, 12):
        for step in (1, 2, 2.5, 5):
            top = step * 10 ** power
            if top >= value:
                return int(top)
    return value


def progress_chart(title: str, years: list[int], series: dict[str, list[int]], target: int | None,
                   target_label: str = "目标") -> Markup:
    """Return an SVG of cumulative figures per year as grouped bars, with the target as a dashed line."""
    top = _nice_max(max([target or 0] + [v for values in series.values() for v in values] + [1]))
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    y_of = lambda v: TOP + plot_h - plot_h * v / top  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
             f'role="img" aria-label="{escape(title)}" class="chart" font-family="sans-serif" font-size="11">',
             f'<title>{escape(title)}</title>']
    for i in range(5):
        v = top * i / 4
        y = y_of(v)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dee4"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#52606d">{v:g}</text>')
    group = plot_w / max(len(years), 1)
    bar = group * 0.8 / len(SERIES)
    for gi, year in enumerate(years):
        x0 = LEFT + gi * group + group * 0.1
        for si, (key, _label, fill, stroke) in enumerate(SERIES):
            value = series.get(key, [0] * len(years))[gi]
            y = y_of(value)
            x = x0 + si * bar
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{TOP + plot_h - y:.1f}" '
                         f'fill="{fill}" stroke="{stroke}" stroke-width="1"/>')
            parts.append(f'<text x="{x + (bar - 2) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                         f'fill="#1f2933">{value}</text>')
        parts.append(f'<text x="{LEFT + gi * group + group / 2:.1f}" y="{H - 10}" text-anchor="middle" '
                     f'fill="#1f2933">{year}年</text>')
    if target:
        y = y_of(target)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c00000" '
                     f'stroke-width="2" stroke-dasharray="6 4"/>')
        text = f"{escape(target_label)} {target}"
        width = 12 * len(text) * 0.75 + 8
        parts.append(f'<rect x="{W - RIGHT - width:.1f}" y="{y - 17:.1f}" width="{width:.1f}" height="14" '
                     f'fill="#ffffff" fill-opacity="0.85"/>')
        parts.append(f'<text x="{W - RIGHT - 2}" y="{y - 6:.1f}" text-anchor="end" fill="#c00000" '
                     f'font-weight="bold">{text}</text>')
    lx = LEFT
    for _key, label, fill, stroke in SERIES:
        parts.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{fill}" stroke="{stroke}"/>')
        parts.append(f'<text x="{lx + 16}" y="18" fill="#1f2933">{label}（累计）</text>')
        lx += 135
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#52606d"/>')
    parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#52606d"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
