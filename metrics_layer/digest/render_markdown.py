"""The digest as Markdown for chat: one table of the KPIs, then anomalies, movers and the KPIs
that could not be computed. Labels and dimension values come from definitions and data, so
each is escaped for a table cell."""

from __future__ import annotations

from typing import TYPE_CHECKING

from metrics_layer.digest import sparkline

if TYPE_CHECKING:
    from metrics_layer.digest.compute import Digest, KpiDigest

__all__ = ["NO_MOVERS", "cell", "markdown"]

NO_MOVERS = {
    True: "No change.",
    False: "No segment with a value in both weeks changed.",
}

ANOMALY_RULE = (
    "last week more than 3 robust standard deviations (1.4826 times the MAD) from the "
    "median of the 12 weeks before it"
)


def cell(text: str) -> str:
    """Text for one Markdown table cell or list item, on one line: HTML as entities (no
    renderer reads a tag from it), Markdown punctuation and pipes behind backslashes.

    >>> print(cell("<b>a|b</b> *x*"))
    &lt;b&gt;a\\|b&lt;/b&gt; \\*x\\*
    """
    out = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\`*_[]|#~":
        out = out.replace(char, "\\" + char)
    return out


def _title(digest: Digest) -> list[str]:
    lines = [
        f"# Weekly KPI digest: {cell(digest.project)}",
        "",
        f"Week {digest.week} to {digest.week_end} (the last complete week before {digest.today}).",
        "",
    ]
    return lines


def _row(kpi: KpiDigest) -> str:
    flag = "⚠ anomaly" if kpi.anomaly else ""
    cells = [
        cell(kpi.label),
        kpi.last_text(),
        kpi.change_text(kpi.previous),
        kpi.change_text(kpi.average),
        f"`{sparkline.text(kpi.values)}`",
        flag,
    ]
    return "| " + " | ".join(cells) + " |"


def markdown(digest: Digest) -> str:
    lines = _title(digest)
    shown = [k for k in digest.kpis if k.error is None]
    failed = [k for k in digest.kpis if k.error is not None]
    if shown:
        lines += [
            "| KPI | Last week | vs week before | vs 4-week average | 13 weeks | |",
            "|---|---:|---:|---:|---|---|",
        ]
        lines += [_row(k) for k in shown]
        lines.append("")
    anomalies = [k for k in shown if k.anomaly]
    lines += ["## Anomalies", ""]
    if anomalies:
        lines += [f"- **{cell(k.label)}**: {k.value_text(k.last)}" for k in anomalies]
    else:
        lines.append("None.")
    lines += ["", f"Rule: {ANOMALY_RULE}.", ""]
    if digest.by is not None:
        lines += [f"## Movers by {cell(digest.by)}", ""]
        for kpi in shown:
            lines += _movers(kpi, digest.by)
    if failed:
        lines += ["## Not in this digest", ""]
        lines += [f"- {cell(k.label)}: {cell(k.error or '')}" for k in failed]
        lines.append("")
    return "\n".join(lines)


def _movers(kpi: KpiDigest, by: str) -> list[str]:
    lines = [f"### {cell(kpi.label)}", ""]
    if kpi.movers_error is not None:
        return [*lines, f"Not split by {cell(by)}: {cell(kpi.movers_error)}", ""]
    if not kpi.movers:
        return [*lines, NO_MOVERS[kpi.additive], ""]
    share = kpi.additive
    head = f"| {cell(by)} | Last week | Week before | Change |" + (
        " Share of change |" if share else ""
    )
    lines += [head, "|---|---:|---:|---:|" + ("---:|" if share else "")]
    for m in kpi.movers:
        cells = [cell(m.value), kpi.value_text(m.last), kpi.value_text(m.previous)]
        cells.append(kpi.delta_text(m.change))
        if share:
            cells.append("n/a" if m.share is None else f"{m.share * 100:,.0f}%")
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]
