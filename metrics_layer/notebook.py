"""Queries and results in a notebook: HTML for ``Query`` and ``Result``, and a default chart.

Every label, description, name and value is HTML-escaped: definitions come from pull
requests and values from the database, so neither may inject markup into a notebook.
The SQL is highlighted with pygments when it is installed, else shown as escaped text.
Charts use matplotlib (the ``plot`` extra), imported only when a chart is drawn.
"""

from __future__ import annotations

import html
import importlib.util
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from metrics_layer.engine.result import ColumnInfo, Result, _need
from metrics_layer.formats import FormatType, ValueFormat, render

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from metrics_layer.api import Query

__all__ = ["plot_result", "query_html", "result_html"]

# Rows shown in a result's HTML table; the rest are counted under it.
HTML_ROWS = 200
_NUMERIC = ("integer", "float", "decimal")


def query_html(query: Query) -> str:
    """The query's columns, each metric with its label and description (as a tooltip), and
    the SQL for the layer's engine."""
    versions = query.metrics
    items = "".join(
        f'<li><code>{_e(column)}</code>: <span title="{_e(i.description or "")}">'
        f"{_e(i.label)}</span> v{versions[column].version}</li>"
        for column, i in query.info.items()
    )
    columns = ", ".join(f"<code>{_e(c)}</code>" for c in query.columns)
    return f"<div><p>Query: {columns}</p><ul>{items}</ul>{sql_html(query.sql())}</div>"


def sql_html(sql: str) -> str:
    """``sql`` highlighted by pygments (inline styles, no stylesheet needed) when installed,
    else as escaped preformatted text."""
    if importlib.util.find_spec("pygments") is None:
        return f"<pre>{_e(sql)}</pre>"
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import SqlLexer

    return str(highlight(sql, SqlLexer(), HtmlFormatter(noclasses=True, nowrap=False)))


def result_html(result: Result) -> str:
    """The first rows as a table of formatted values (numbers right-aligned); a metric
    column's header has its label and description as a tooltip; partial rows greyed,
    incomplete rows in italics, each with a tooltip saying why."""
    kinds = result.kinds()
    formats = [_format_of(result.info.get(c)) for c in result.columns]
    head = "".join(f"<th{_title(result.info.get(c))}>{_e(c)}</th>" for c in result.columns)
    body = "".join(
        _row_tag(cut, open_)
        + "".join(
            _cell(render(v, f), k in _NUMERIC) for v, f, k in zip(row, formats, kinds, strict=True)
        )
        + "</tr>"
        for row, cut, open_ in zip(
            result.rows[:HTML_ROWS], result.partial, result.incomplete, strict=False
        )
    )
    produced = "; ".join(
        f"{_e(column)}: {_e(m.name)} v{m.version}, fingerprint <code>{_e(m.fingerprint)}</code>"
        for column, m in result.metrics.items()
    )
    more = len(result.rows) - HTML_ROWS
    note = f"<p>{len(result.rows)} rows"
    note += f" ({more} not shown)" if more > 0 else ""
    note += f"; metric versions {_e(str(result.versions))}</p>"
    if produced:
        note += f"<p><small>{produced}</small></p>"
    if any(result.partial[:HTML_ROWS]):
        note += (
            "<p><small>Greyed rows: partial periods (the date range holds only part "
            "of them).</small></p>"
        )
    if any(result.incomplete[:HTML_ROWS]):
        note += (
            "<p><small>Italic rows: incomplete periods (a conversion window is still "
            "open).</small></p>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _format_of(info: ColumnInfo | None) -> ValueFormat | None:
    return None if info is None else info.format


def _title(info: ColumnInfo | None) -> str:
    if info is None:
        return ""
    text = info.label if not info.description else f"{info.label}: {info.description}"
    return f' title="{_e(text)}"'


def _cell(text: str, numeric: bool) -> str:
    align = ' style="text-align: right"' if numeric else ""
    return f"<td{align}>{_e(text)}</td>"


def _row_tag(partial: bool, incomplete: bool) -> str:
    """A row's ``<tr>``: greyed when partial, italic when incomplete, with a title saying why."""
    if not partial and not incomplete:
        return "<tr>"
    classes = [name for name, on in (("partial", partial), ("incomplete", incomplete)) if on]
    titles = {"partial": "partial period", "incomplete": "conversion window still open"}
    styles = {"partial": "opacity: 0.5", "incomplete": "font-style: italic"}
    return (
        f'<tr class="{" ".join(classes)}" title="{"; ".join(titles[c] for c in classes)}" '
        f'style="{"; ".join(styles[c] for c in classes)}">'
    )


def plot_result(result: Result, *, top: int = 5, ax: Axes | None = None) -> Axes:
    """The default chart of ``result`` (docs/notebooks.md#charts): with a date or timestamp
    column, one line per metric and value of the other dimensions, the ``top`` values by
    total of the first metric drawn and the rest summed as one "other" line (left out for
    percent metrics, which do not add up); without one, grouped bars, one per row and
    metric. Title, axis labels and tick labels come from the metrics' labels and formats."""
    from metrics_layer.errors import QueryError

    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise QueryError(f"expected a whole number of at least 1, not {top!r}", field="top")
    kinds = result.kinds()
    time = next((i for i, k in enumerate(kinds) if k in ("date", "timestamp")), None)
    metrics = [i for i, c in enumerate(result.columns) if c in result.info]
    if not metrics:
        metrics = [i for i, k in enumerate(kinds) if k in _NUMERIC and i != time]
    if not metrics:
        raise QueryError("the result has no metric or numeric column to plot", field="plot")
    dims = [i for i in range(len(result.columns)) if i != time and i not in metrics]
    figure = None
    if ax is None:
        plt = _need("matplotlib.pyplot", "plot")
        figure, ax = plt.subplots(figsize=(8, 4))
    assert ax is not None
    labels = [_label(result, i) for i in metrics]
    if time is not None:
        _lines(ax, result, time, metrics, dims, top)
        ax.set_xlabel(result.columns[time])
    else:
        _bars(ax, result, metrics, dims)
        ax.set_xlabel(", ".join(result.columns[i] for i in dims))
    ax.set_title(", ".join(labels))
    ax.set_ylabel(labels[0] if len(labels) == 1 else "value")
    shared = {_format_of(result.info.get(result.columns[i])) for i in metrics}
    if len(shared) == 1 and (fmt := shared.pop()) is not None:
        from matplotlib.ticker import FuncFormatter

        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _tick(v, fmt)))
    if len(ax.get_legend_handles_labels()[0]) > 1:
        ax.legend()
    if figure is not None:  # a figure of our own: fit the labels in it
        figure.tight_layout()
    return ax


def _tick(value: float, fmt: ValueFormat) -> str:
    """An axis tick in the metric's format; whole amounts and numbers without decimals
    (``€70,000``, not ``€70,000.00``)."""
    whole = fmt.type in (FormatType.CURRENCY, FormatType.NUMBER) and float(value).is_integer()
    return ValueFormat(fmt.type, 0, fmt.currency).render(value) if whole else fmt.render(value)


def _label(result: Result, index: int) -> str:
    info = result.info.get(result.columns[index])
    return result.columns[index] if info is None else info.label


def _series_name(row: Sequence[Any], dims: Sequence[int]) -> str:
    return ", ".join("NULL" if row[i] is None else str(row[i]) for i in dims)


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _lines(
    ax: Axes, result: Result, time: int, metrics: list[int], dims: list[int], top: int
) -> None:
    """One line per metric and dimension value; beyond ``top`` values, one "other" line."""
    totals: dict[str, float] = defaultdict(float)
    for row in result.rows:
        value = row[metrics[0]]
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            totals[_series_name(row, dims)] += abs(float(value))
    names = sorted(totals, key=lambda n: (-totals[n], n))
    every = sorted({_series_name(row, dims) for row in result.rows})
    kept = set(names[:top]) if dims else set(every)
    for metric in metrics:
        fmt = _format_of(result.info.get(result.columns[metric]))
        prefix = f"{_label(result, metric)}: " if len(metrics) > 1 else ""
        points: dict[str, dict[Any, float]] = defaultdict(dict)
        rest: dict[Any, float] = defaultdict(float)
        for row in result.rows:
            name = _series_name(row, dims)
            if name in kept:
                points[name][row[time]] = _number(row[metric])
            elif row[metric] is not None:
                rest[row[time]] += float(row[metric])
        for name in sorted(kept, key=lambda n: (-totals.get(n, 0.0), n)):
            xs = sorted(points[name])
            ax.plot(
                xs, [points[name][x] for x in xs], label=prefix + (name or result.columns[metric])
            )
        others = len(set(every) - kept)
        if others and rest and (fmt is None or fmt.type is not FormatType.PERCENT):
            xs = sorted(rest)
            ax.plot(xs, [rest[x] for x in xs], label=f"{prefix}other ({others})", linestyle="--")


def _bars(ax: Axes, result: Result, metrics: list[int], dims: list[int]) -> None:
    """Grouped bars: one group per row, one bar per metric."""
    names = [_series_name(row, dims) or "all" for row in result.rows]
    width = 0.8 / len(metrics)
    for offset, metric in enumerate(metrics):
        xs = [i + offset * width for i in range(len(names))]
        ys = [_number(row[metric]) for row in result.rows]
        ax.bar(xs, ys, width=width, label=_label(result, metric))
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))], names)
