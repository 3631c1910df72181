"""The digest as one self-contained HTML page for email: inline styles, inline SVG sparklines,
no scripts, no external resources. Every label and dimension value is escaped."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from metrics_layer.digest import sparkline
from metrics_layer.digest.render_markdown import ANOMALY_RULE, NO_MOVERS

if TYPE_CHECKING:
    from metrics_layer.digest.compute import Digest, KpiDigest

__all__ = ["page"]

_STYLE = (
    "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:60em;margin:2em auto;"
    "color:#222;padding:0 1em}"
    "table{border-collapse:collapse;width:100%;margin-bottom:1.5em}"
    "th,td{border-bottom:1px solid #ddd;padding:.35em .6em;text-align:left;vertical-align:middle}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "th{font-weight:600}.flag{color:#b42318;font-weight:600}.muted{color:#666}"
)

e = html.escape


def page(digest: Digest) -> str:
    title = f"Weekly KPI digest: {digest.project}"
    shown = [k for k in digest.kpis if k.error is None]
    failed = [k for k in digest.kpis if k.error is not None]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="muted">Week {digest.week} to {digest.week_end} (the last complete week '
        f"before {digest.today}).</p>",
    ]
    if shown:
        parts.append(
            '<table id="kpis"><thead><tr><th>KPI</th><th>Last week</th><th>vs week before</th>'
            "<th>vs 4-week average</th><th>13 weeks</th><th></th></tr></thead><tbody>"
        )
        parts += [_row(k) for k in shown]
        parts.append("</tbody></table>")
    anomalies = [k for k in shown if k.anomaly]
    parts.append("<h2>Anomalies</h2>")
    if anomalies:
        items = "".join(
            f"<li><strong>{e(k.label)}</strong>: {e(k.value_text(k.last))}</li>" for k in anomalies
        )
        parts.append(f'<ul id="anomalies">{items}</ul>')
    else:
        parts.append("<p>None.</p>")
    parts.append(f'<p class="muted">Rule: {e(ANOMALY_RULE)}.</p>')
    if digest.by is not None:
        parts.append(f"<h2>Movers by {e(digest.by)}</h2>")
        for kpi in shown:
            parts += _movers(kpi, digest.by)
    if failed:
        items = "".join(f"<li>{e(k.label)}: {e(k.error or '')}</li>" for k in failed)
        parts += ["<h2>Not in this digest</h2>", f'<ul id="failed">{items}</ul>']
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _row(kpi: KpiDigest) -> str:
    flag = '<span class="flag">anomaly</span>' if kpi.anomaly else ""
    label = e(kpi.label)
    title = e(kpi.name)
    return (
        f'<tr data-metric="{title}"><td title="{title}">{label}</td>'
        f'<td class="n">{e(kpi.last_text())}</td>'
        f'<td class="n">{e(kpi.change_text(kpi.previous))}</td>'
        f'<td class="n">{e(kpi.change_text(kpi.average))}</td>'
        f"<td>{sparkline.svg(kpi.values, label)}</td><td>{flag}</td></tr>"
    )


def _movers(kpi: KpiDigest, by: str) -> list[str]:
    parts = [f"<h3>{e(kpi.label)}</h3>"]
    if kpi.movers_error is not None:
        return [*parts, f'<p class="muted">Not split by {e(by)}: {e(kpi.movers_error)}</p>']
    if not kpi.movers:
        return [*parts, f'<p class="muted">{NO_MOVERS[kpi.additive]}</p>']
    share = kpi.additive
    head = "".join(
        f"<th>{e(h)}</th>"
        for h in [by, "Last week", "Week before", "Change"] + (["Share of change"] if share else [])
    )
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>")
    for m in kpi.movers:
        cells = [kpi.value_text(m.last), kpi.value_text(m.previous), kpi.delta_text(m.change)]
        if share:
            cells.append("n/a" if m.share is None else f"{m.share * 100:,.0f}%")
        numbers = "".join(f'<td class="n">{e(c)}</td>' for c in cells)
        parts.append(f"<tr><td>{e(m.value)}</td>{numbers}</tr>")
    parts.append("</tbody></table>")
    return parts
