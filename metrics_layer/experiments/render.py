"""One-page experiment plans and results, as Markdown and as self-contained HTML.

Both are built from the same list of sections (title, rows of label and value); every value
is escaped for its format (Markdown table cells, HTML text), since labels and descriptions come
from definitions.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metrics_layer.experiments.analysis import ExperimentResult
    from metrics_layer.experiments.sizing import ExperimentPlan

__all__ = ["plan_html", "plan_markdown", "result_html", "result_markdown"]

Section = tuple[str, list[tuple[str, str]]]


def _n(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.2f}%"


def _plan_sections(plan: ExperimentPlan) -> tuple[str, list[Section]]:
    base = plan.baseline
    arms = ", ".join(
        f"{'control' if i == 0 else f'treatment {i}'}: {_n(n)} ({w:.0%})"
        for i, (n, w) in enumerate(zip(plan.per_arm, plan.allocation, strict=True))
    )
    definition = plan.definition.get("definition")
    sections: list[Section] = [
        (
            "Result",
            [
                ("Units per arm", arms),
                ("Total units", _n(plan.total)),
                (
                    "Run time",
                    f"{plan.days} days at {_n(plan.daily_traffic * plan.traffic)} units a day",
                ),
            ],
        ),
        (
            "Inputs",
            [
                (
                    "Minimum detectable effect",
                    f"{plan.mde.text} ({plan.effect:+.4g} in the metric's units)",
                ),
                ("Significance level (alpha)", f"{plan.alpha:g}, two-sided"),
                ("Power", f"{plan.power:g}"),
                ("Arms", f"{plan.arms} (control first)"),
                ("Share of eligible units enrolled", f"{plan.traffic:.0%}"),
            ],
        ),
        (
            "Baseline",
            [
                (
                    "Lookback window",
                    f"{plan.window.start} to {plan.window.end} ({plan.window.days} days)",
                ),
                (
                    "Unit",
                    plan.unit
                    + (f" (eligible: {plan.population} above 0)" if plan.population else ""),
                ),
                ("Units in the window", _n(base.n)),
                ("Daily eligible traffic", f"{plan.daily_traffic:,.2f} units a day"),
                ("Baseline value", f"{base.value:.6g}"),
                ("Variance per unit", f"{base.variance:.6g} ({_variance_kind(plan.kind)})"),
            ],
        ),
        (
            "Assumptions",
            [
                ("Test", _test_kind(plan.kind)),
                (
                    "Multiple arms",
                    f"Bonferroni: each of {plan.arms - 1} comparison(s) with control at "
                    f"alpha {plan.comparison_alpha:.4g}",
                ),
                (
                    "Traffic",
                    "units a day = distinct units in the window / its days; a unit counts once",
                ),
            ],
        ),
        (
            "Metric definition",
            [
                ("Metric", f"{plan.metric} ({plan.label})"),
                ("Type", str(plan.definition.get("type"))),
                ("Version", str(plan.version)),
                ("Fingerprint", plan.fingerprint),
                ("Defined in", str(plan.definition.get("defined_in"))),
                ("Definition", json.dumps(definition, sort_keys=True)),
            ],
        ),
    ]
    return f"Experiment plan: {plan.label}", sections


def _variance_kind(kind: str) -> str:
    return {
        "proportion": "p(1 - p)",
        "ratio": "delta method",
        "mean": "sample variance",
    }[kind]


def _test_kind(kind: str) -> str:
    return {
        "proportion": "two-proportion z-test (null variance at the baseline)",
        "ratio": "z-test on a ratio of per-unit sums, variance by the delta method",
        "mean": "z-approximation of a two-sample t-test, equal variances",
    }[kind]


def _result_sections(result: ExperimentResult) -> tuple[str, list[Section]]:
    arms = [
        (
            arm.variant,
            f"{_n(arm.units)} units, value {arm.value:.6g}, total {_n(arm.total)}",
        )
        for arm in result.arms
    ]
    comparisons = []
    for variant, c in result.comparisons:
        low, high = c.interval
        lift_ci = (
            f"[{_pct(c.lift_interval[0])}, {_pct(c.lift_interval[1])}]"
            if c.lift_interval
            else "n/a"
        )
        comparisons.append(
            (
                f"{variant} vs {result.arms[0].variant}",
                f"difference {c.difference:+.6g} [{low:+.6g}, {high:+.6g}], lift {_pct(c.lift)} "
                f"{lift_ci}, p = {c.p_value:.4g} ({c.test})",
            )
        )
    checks = [
        (
            "Sample ratio mismatch",
            f"{'YES' if result.srm else 'no'} (chi-square p = {result.srm_p_value:.4g})",
        ),
        ("Confidence level", f"{1 - result.comparison_alpha:.4g} per comparison (Bonferroni)"),
        ("Units without data (left out)", _n(result.without_data)),
    ]
    about = [
        ("Metric", f"{result.metric} ({result.label})"),
        ("Version", str(result.version)),
        ("Fingerprint", result.fingerprint),
        ("Unit", result.unit),
        ("Window", f"{result.window.start} to {result.window.end}"),
    ]
    sections: list[Section] = [
        ("Arms", arms),
        ("Comparisons", comparisons),
        ("Checks", checks),
        ("Metric", about),
    ]
    return f"Experiment result: {result.label}", sections


def _cell(text: str) -> str:
    """A Markdown table cell, on one line: HTML as entities (no renderer reads a tag from
    it), Markdown punctuation and pipes behind backslashes.

    >>> print(_cell("<b>a|b</b> *x*"))
    &lt;b&gt;a\\|b&lt;/b&gt; \\*x\\*
    """
    out = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\`*_[]|#":
        out = out.replace(char, "\\" + char)
    return out


def _markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {_cell(title)}", ""]
    for name, rows in sections:
        lines += [f"## {name}", "", "| | |", "|---|---|"]
        lines += [f"| {_cell(label)} | {_cell(value)} |" for label, value in rows]
        lines.append("")
    return "\n".join(lines)


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:50em;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;width:100%;margin-bottom:1.5em}"
    "th,td{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}"
    "th{width:30%;font-weight:600}td{word-break:break-word}"
)


def _html(title: str, sections: list[Section]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    for name, rows in sections:
        parts.append(f"<h2>{e(name)}</h2><table>")
        parts += [f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in rows]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def plan_markdown(plan: ExperimentPlan) -> str:
    return _markdown(*_plan_sections(plan))


def plan_html(plan: ExperimentPlan) -> str:
    return _html(*_plan_sections(plan))


def result_markdown(result: ExperimentResult) -> str:
    return _markdown(*_result_sections(result))


def result_html(result: ExperimentResult) -> str:
    return _html(*_result_sections(result))
