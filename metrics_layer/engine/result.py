"""A query's result: rows and columns, plus the SQL that made them, metric versions and timing."""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas

__all__ = ["MetricVersion", "Result"]


PARTIAL_NOTE = "* partial period: the date range holds only part of it"
INCOMPLETE_NOTE = "~ incomplete: a conversion window of the period is still open"


@dataclass(frozen=True)
class MetricVersion:
    """What produced a metric column: the metric, the version of it computed, and that
    version's fingerprint (docs/python.md: pinned versions)."""

    name: str
    version: int
    fingerprint: str


@dataclass(frozen=True)
class Result:
    """Rows as tuples, in ``columns`` order; column names are the names the query asked for.

    ``partial`` holds one boolean per row: True when the row's ``metric_time`` period is only
    partly inside ``start``/``end`` (a week cut by a Wednesday start), so a chart can grey it.
    ``incomplete``: True when a conversion metric's window is still open for a day of the row's
    base period, so conversions may still come in. ``metrics``: for each metric column, the
    metric, version and fingerprint that produced it (``versions`` also lists the versions of
    the metrics they are built on).
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    sql: str
    dialect: str
    versions: dict[str, int]
    compile_ms: float
    execute_ms: float
    partial: tuple[bool, ...] = ()
    # Conversion metrics: the row's base period has a conversion window still open today.
    incomplete: tuple[bool, ...] = ()
    metrics: Mapping[str, MetricVersion] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("partial", "incomplete"):
            flags = getattr(self, name)
            if not flags:
                object.__setattr__(self, name, (False,) * len(self.rows))
            elif len(flags) != len(self.rows):
                raise ValueError(f"{len(flags)} {name} flags for {len(self.rows)} rows")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def to_dicts(self, *, partial: bool = False) -> list[dict[str, Any]]:
        """One dict per row, keyed by column name; with ``partial``, also ``"partial"``: whether
        the row's period is only partly inside the date range."""
        from metrics_layer.errors import QueryError

        if not isinstance(partial, bool):
            raise QueryError(
                f"expected True or False, not {type(partial).__name__}", field="partial"
            )
        if not partial:
            return [dict(zip(self.columns, row, strict=True)) for row in self.rows]
        if "partial" in self.columns:
            raise QueryError(
                "a column is already named 'partial'; read result.partial instead",
                field="partial",
            )
        return [
            {**dict(zip(self.columns, row, strict=True)), "partial": cut}
            for row, cut in zip(self.rows, self.partial, strict=True)
        ]

    def metadata(self) -> dict[str, Any]:
        """What a dashboard stores beside ``to_dicts()``, as JSON-safe data: the columns, the
        SQL and its dialect, and for each metric column the metric, version and fingerprint
        that produced it."""
        return {
            "columns": list(self.columns),
            "metrics": {
                column: {"metric": m.name, "version": m.version, "fingerprint": m.fingerprint}
                for column, m in self.metrics.items()
            },
            "dialect": self.dialect,
            "sql": self.sql,
        }

    def column(self, name: str) -> list[Any]:
        """The values of one column, in row order."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def to_pandas(self) -> pandas.DataFrame:
        """A pandas DataFrame (needs the ``pandas`` extra)."""
        try:
            import pandas
        except ImportError as exc:
            from metrics_layer.errors import UserError

            raise UserError("to_pandas() needs pandas: pip install 'kpi-layer[pandas]'") from exc
        return pandas.DataFrame.from_records(list(self.rows), columns=list(self.columns))

    def __repr__(self) -> str:
        shown = format_table(self.columns, self.rows[:20], self.partial[:20], self.incomplete[:20])
        more = f"\n... {len(self.rows) - 20} more rows" if len(self.rows) > 20 else ""
        return f"{shown}{more}\n({len(self.rows)} rows, {self.execute_ms:.1f} ms)"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            _row_tag(cut, open_)
            + "".join(f"<td>{html.escape(_text(v))}</td>" for v in row)
            + "</tr>"
            for row, cut, open_ in zip(self.rows[:200], self.partial, self.incomplete, strict=False)
        )
        produced = "; ".join(
            f"{html.escape(column)}: {html.escape(m.name)} v{m.version}, fingerprint "
            f"<code>{html.escape(m.fingerprint)}</code>"
            for column, m in self.metrics.items()
        )
        note = f"<p>{len(self.rows)} rows; metric versions {html.escape(str(self.versions))}</p>"
        if produced:
            note += f"<p><small>{produced}</small></p>"
        if any(self.partial[:200]):
            note += "<p><small>Greyed rows: partial periods (the date range holds only part "
            "of them).</small></p>"
        if any(self.incomplete[:200]):
            note += "<p><small>Italic rows: incomplete periods (a conversion window is still "
            "open).</small></p>"
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


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


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Six significant digits, but never fewer than the digits before the point.
        whole = len(str(int(abs(value)))) if abs(value) < 1e15 else 6
        return f"{value:.{max(6, whole)}g}"
    return str(value)


def format_table(
    columns: tuple[str, ...],
    rows: tuple[tuple[Any, ...], ...],
    partial: Sequence[bool] = (),
    incomplete: Sequence[bool] = (),
) -> str:
    """A plain-text table, numbers right-aligned; the ``metric_time`` values of rows marked
    ``partial`` end in ``*``, of rows marked ``incomplete`` in ``~``, explained under the
    table.

    >>> print(format_table(("plan", "users", "mrr"), (("pro", 3, 1234567.25), ("free", 12, 0.5))))
    plan  users  mrr
    ----  -----  -------
    pro       3  1234567
    free     12      0.5
    """
    marked = [i for i, c in enumerate(columns) if c.split(".")[0] == "metric_time"]
    cells = [[_text(v) for v in row] for row in rows]
    for row_cells, cut in zip(cells, partial, strict=False):
        for index in marked if cut else ():
            row_cells[index] += "*"
    for row_cells, open_ in zip(cells, incomplete, strict=False):
        for index in marked if open_ else ():
            row_cells[index] += "~"
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [
        bool(rows)
        and all(isinstance(r[i], (int, float)) or r[i] is None for r in rows)
        and any(r[i] is not None for r in rows)
        for i in range(len(columns))
    ]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    for row in cells:
        lines.append(
            "  ".join(
                (v.rjust(w) if n else v.ljust(w))
                for v, w, n in zip(row, widths, numeric, strict=True)
            ).rstrip()
        )
    if marked and any(partial):
        lines.append(PARTIAL_NOTE)
    if marked and any(incomplete):
        lines.append(INCOMPLETE_NOTE)
    return "\n".join(lines)
