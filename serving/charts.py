"""Small server-rendered SVG charts for the dashboard: no chart library, no script, nothing from a CDN."""

from __future__ import annotations

from markupsafe import Markup, escape

ROW = 22
LABEL_WIDTH = 170


def hbar(rows: list[tuple[str, float]], *, width: int = 520, percent: bool = False, title: str = "") -> Markup:
    """Horizontal bars, one per (label, value), labelled with the value."""
    if not rows:
        return Markup('<p class="muted">Belum ada data.</p>')
    top = max(v for _, v in rows) or 1
    span = width - LABEL_WIDTH - 60
    height = ROW * len(rows) + 4
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(rows):
        y = i * ROW + 2
        length = max(1.0, span * value / top)
        shown = f"{value:.0%}" if percent else f"{value:,.0f}".replace(",", ".")
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" class="label">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{ROW - 6}" class="bar"/>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 15}" class="value">{shown}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(rows: list[tuple[str, int]], *, width: int = 640, height: int = 180, title: str = "") -> Markup:
    """Vertical columns over time (e.g. complaints per day), first and last date labelled."""
    if not rows:
        return Markup('<p class="muted">Belum ada data.</p>')
    top = max(v for _, v in rows) or 1
    plot = height - 30
    step = width / len(rows)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(rows):
        h = max(1.0, plot * value / top)
        x = i * step
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{plot - h + 12:.1f}" width="{max(1.0, step - 2):.1f}" height="{h:.1f}" '
            f'class="bar"><title>{escape(label)}: {value}</title></rect>'
        )
    parts.append(f'<text x="0" y="{height - 4}" class="label">{escape(rows[0][0])}</text>')
    parts.append(f'<text x="{width}" y="{height - 4}" text-anchor="end" class="label">{escape(rows[-1][0])}</text>')
    parts.append(f'<text x="0" y="10" class="value">maks. {top}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
