"""Server-side SVG charts: progress toward the clause targets, the headline figures against 2023, new-energy shares.

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


def _open(title: str, top: float, fmt=lambda v: f"{v:g}") -> list[str]:
    """Start an SVG with its title and the horizontal grid, labelled by `fmt`, for values 0..top."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
             f'role="img" aria-label="{escape(title)}" class="chart" font-family="sans-serif" font-size="11">',
             f'<title>{escape(title)}</title>']
    for i in range(5):
        v = top * i / 4
        y = _y(v, top)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dee4"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#52606d">{escape(fmt(v))}</text>')
    return parts


def _y(value: float, top: float) -> float:
    plot_h = H - TOP - BOTTOM
    return TOP + plot_h - plot_h * value / top


def _target_line(parts: list[str], value: float, top: float, text: str) -> None:
    y = _y(value, top)
    parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c00000" '
                 f'stroke-width="2" stroke-dasharray="6 4"/>')
    width = 12 * len(text) * 0.75 + 8
    parts.append(f'<rect x="{W - RIGHT - width:.1f}" y="{y - 17:.1f}" width="{width:.1f}" height="14" '
                 f'fill="#ffffff" fill-opacity="0.85"/>')
    parts.append(f'<text x="{W - RIGHT - 2}" y="{y - 6:.1f}" text-anchor="end" fill="#c00000" '
                 f'font-weight="bold">{escape(text)}</text>')


def _legend(parts: list[str], items, step: int = 135) -> None:
    lx = LEFT
    for label, fill, stroke in items:
        parts.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{fill}" stroke="{stroke}"/>')
        parts.append(f'<text x="{lx + 16}" y="18" fill="#1f2933">{escape(label)}</text>')
        lx += step


def _close(parts: list[str]) -> Markup:
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#52606d"/>')
    parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}" stroke="#52606d"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _bar(parts: list[str], x: float, width: float, low: float, high: float, top: float, fill: str, stroke: str):
    y0, y1 = _y(high, top), _y(low, top)
    parts.append(f'<rect x="{x:.1f}" y="{y0:.1f}" width="{width:.1f}" height="{y1 - y0:.1f}" '
                 f'fill="{fill}" stroke="{stroke}" stroke-width="1"/>')


def _label(parts: list[str], x: float, y: float, text: str, anchor: str = "middle", fill: str = "#1f2933") -> None:
    parts.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>')


def progress_chart(title: str, years: list[int], series: dict[str, list[int]], target: int | None,
                   target_label: str = "目标") -> Markup:
    """Return an SVG of cumulative figures per year as grouped bars, with the target as a dashed line."""
    top = _nice_max(max([target or 0] + [v for values in series.values() for v in values] + [1]))
    parts = _open(title, top)
    group = (W - LEFT - RIGHT) / max(len(years), 1)
    bar = group * 0.8 / len(SERIES)
    for gi, year in enumerate(years):
        x0 = LEFT + gi * group + group * 0.1
        for si, (key, _label_text, fill, stroke) in enumerate(SERIES):
            value = series.get(key, [0] * len(years))[gi]
            x = x0 + si * bar
            _bar(parts, x, bar - 2, 0, value, top, fill, stroke)
            _label(parts, x + (bar - 2) / 2, _y(value, top) - 3, str(value))
        _label(parts, LEFT + gi * group + group / 2, H - 10, f"{year}年")
    if target:
        _target_line(parts, target, top, f"{target_label} {target}")
    _legend(parts, [(f"{label}（累计）", fill, stroke) for _key, label, fill, stroke in SERIES])
    return _close(parts)


def _amount(value: float, unit: str) -> str:
    """Return a bar label: 元 in 万元 with one decimal, counts whole (a target such as 1.9 keeps its decimal)."""
    if unit == "元":
        return f"{value / 10000:,.1f}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def measure_chart(title: str, base_year: int, baseline: float | None, years: list[int], values: list[float | None],
                  target: float | None, unit: str, target_text: str) -> Markup:
    """Return an SVG of the base-year figure and each year's figure (None: not begun) as bars, the target dashed."""
    top = _nice_max(max([baseline or 0, target or 0] + [v or 0 for v in values] + [1]))
    scale = "万元" if unit == "元" else unit
    parts = _open(title, top, lambda v: f"{v / 10000:,.0f}" if unit == "元" else f"{v:g}")
    labels = [f"{base_year}年（基数）"] + [f"{y}年" for y in years]
    figures = [baseline] + list(values)
    group = (W - LEFT - RIGHT) / len(labels)
    for i, (label, value) in enumerate(zip(labels, figures)):
        x = LEFT + i * group + group * 0.2
        fill, stroke = ("#cbd2d9", "#52606d") if i == 0 else ("#1f5fa8", "#102a43")
        if value is not None:
            _bar(parts, x, group * 0.6, 0, value, top, fill, stroke)
            _label(parts, x + group * 0.3, _y(value, top) - 3, _amount(value, unit))
        else:
            _label(parts, x + group * 0.3, _y(0, top) - 3, "未录入" if i == 0 else "未到",
                   fill="#c00000" if i == 0 else "#52606d")
        _label(parts, LEFT + i * group + group / 2, H - 10, label)
    _legend(parts, [(f"{base_year} 年基数", "#cbd2d9", "#52606d"), (f"当年实际（{scale}）", "#1f5fa8", "#102a43")],
            step=110)
    if target:
        # The target's words sit in the legend row, where no bar label can collide with them.
        y = _y(target, top)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c00000" '
                     f'stroke-width="2" stroke-dasharray="6 4"/>')
        parts.append(f'<line x1="{LEFT + 250}" x2="{LEFT + 272}" y1="14" y2="14" stroke="#c00000" stroke-width="2" '
                     f'stroke-dasharray="6 4"/>')
        _label(parts, LEFT + 278, 18, f"{target_text} {_amount(target, unit)}", anchor="start", fill="#c00000")
    return _close(parts)


def share_chart(title: str, years: list[int], vehicles: list[int], new_energy: list[int]) -> Markup:
    """Return an SVG of replacement vehicles per year, new-energy stacked below the others, with the share."""
    top = _nice_max(max(list(vehicles) + [1]))
    parts = _open(title, top)
    group = (W - LEFT - RIGHT) / max(len(years), 1)
    for i, (year, n, ne) in enumerate(zip(years, vehicles, new_energy)):
        x = LEFT + i * group + group * 0.25
        _bar(parts, x, group * 0.5, 0, ne, top, "#2f8132", "#1b4d1d")
        _bar(parts, x, group * 0.5, ne, n, top, "#e4e7eb", "#7b8794")
        share = f"{ne / n:.0%}" if n else "—"
        _label(parts, x + group * 0.25, _y(n, top) - 3, f"{ne}/{n}（{share}）")
        _label(parts, LEFT + i * group + group / 2, H - 10, f"{year}年")
    _legend(parts, [("新能源", "#2f8132", "#1b4d1d"), ("非新能源", "#e4e7eb", "#7b8794")], step=90)
    return _close(parts)


def clause_chart(row) -> Markup:
    """Return the chart of one clause-target row of the dashboard (progress.ProgressRow)."""
    return progress_chart(f"{row.department.name} · {row.category.label}", row.years,
                          {k: row.cumulative(k) for k in ("planned", "notified", "done")}, row.target,
                          "目标" if all(t.fed_by_findings for t in row.targets) else "加装目标（不计更新）")


def outcome_charts(o) -> dict:
    """Return the SVGs of a dashboard (outcomes.Outcomes): each headline's total, the new-energy share, each clause."""
    heads = {}
    for headline, rows in o.headlines:
        total = rows[-1]
        heads[headline.measure.value] = measure_chart(
            f"{headline.title} · {total.label}", 2023, float(total.baseline) if total.baseline is not None else None,
            o.years, [None if o.future(y) else float(total.value(y)) for y in o.years],
            float(total.target) if total.target is not None else None, headline.unit,
            f"{headline.deadline_year} 年目标 ≥")
    share = o.new_energy[-1]
    return {"headlines": heads,
            "new_energy": share_chart(f"更新车辆新能源占比 · {share.label}", o.years,
                                      [share.vehicles(y) for y in o.years], [share.new_energy(y) for y in o.years]),
            "clauses": [clause_chart(r) for r in o.clauses]}
