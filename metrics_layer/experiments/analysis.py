"""Reading a finished test: the metric per variant, lift, interval, p-value, and a
sample-ratio-mismatch check, from an assignment of units to variants."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metrics_layer.errors import QueryError
from metrics_layer.experiments.sizing import _count, _date, _fraction
from metrics_layer.experiments.stats import Comparison, Moments, compare, moments, srm_p_value
from metrics_layer.experiments.units import MAX_UNITS, Window, per_unit, unit_of

if TYPE_CHECKING:
    from metrics_layer.api import SemanticLayer

__all__ = ["Arm", "ExperimentResult", "analyze", "assignment_pairs"]

# A sample ratio mismatch is flagged below this p-value (the usual threshold for SRM checks).
SRM_THRESHOLD = 0.001
ANALYZE_OPTIONS = ("alpha", "control", "allocation", "unit")


@dataclass(frozen=True)
class Arm:
    """One variant: its ``units``, the metric's ``total`` over them (its numerator for a ratio,
    what ``layer.query`` gives restricted to them for a simple metric), its ``value`` (the
    metric for a ratio, conversion or retention metric, the mean per unit for a simple one)
    and the per-unit moments the tests use."""

    variant: str
    units: int
    total: float
    value: float
    moments: Moments


@dataclass(frozen=True)
class ExperimentResult:
    """A finished test of ``metric`` over ``window``: the arms (control first), each treatment
    compared with control, and the sample-ratio-mismatch p-value against ``allocation``.
    ``without_data``: assigned units left out because the metric is not defined for them
    (no denominator, no base event in the window)."""

    metric: str
    label: str
    version: int
    fingerprint: str
    unit: str
    window: Window
    arms: tuple[Arm, ...]
    comparisons: tuple[tuple[str, Comparison], ...]
    alpha: float
    comparison_alpha: float
    allocation: tuple[float, ...]
    srm_p_value: float
    without_data: int

    @property
    def srm(self) -> bool:
        """True when the units per arm are unlikely under the allocation (p < 0.001)."""
        return self.srm_p_value < SRM_THRESHOLD

    def to_markdown(self) -> str:
        from metrics_layer.experiments.render import result_markdown

        return result_markdown(self)

    def to_html(self) -> str:
        from metrics_layer.experiments.render import result_html

        return result_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_markdown()


def assignment_pairs(assignment: object, unit: str) -> list[tuple[Any, str]]:
    """``(unit key, variant)`` pairs from a mapping, an iterable of pairs, or a DataFrame
    (its ``unit`` column, else its first, and its ``variant`` column, else its second). A
    string is refused here: ``analyze`` reads it as a dimension name first."""
    pairs: Iterable[Any]
    if hasattr(assignment, "columns") and hasattr(assignment, "itertuples"):
        frame: Any = assignment
        columns = list(frame.columns)
        if len(columns) < 2:
            raise QueryError("the DataFrame needs a unit and a variant column", field="assignment")
        key = unit if unit in columns else columns[0]
        variant = "variant" if "variant" in columns else columns[1]
        pairs = frame[[key, variant]].itertuples(index=False, name=None)
    elif isinstance(assignment, Mapping):
        pairs = assignment.items()
    elif isinstance(assignment, Iterable) and not isinstance(assignment, str | bytes):
        pairs = assignment
    else:
        raise QueryError(
            f"expected a mapping of {unit} to variant, (key, variant) pairs or a DataFrame, "
            f"not {type(assignment).__name__}",
            field="assignment",
        )
    out: list[tuple[Any, str]] = []
    seen: dict[Any, str] = {}
    for item in pairs:
        if len(out) >= MAX_UNITS:
            raise QueryError(f"more than {MAX_UNITS:,} units", field="assignment")
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise QueryError(f"expected (key, variant) pairs, not {item!r:.60}", field="assignment")
        key, variant = item
        if key is None or (isinstance(key, float) and math.isnan(key)):
            raise QueryError("a unit key is empty", field="assignment")
        if not isinstance(variant, str) or not variant.strip() or len(variant) > 100:
            raise QueryError(
                f"variants are names of at most 100 characters, not {variant!r:.60}",
                field="assignment",
            )
        if seen.setdefault(key, variant) != variant:
            raise QueryError(
                f"{unit} {key!r:.40} is in two variants ({seen[key]!r}, {variant!r})",
                field="assignment",
            )
        out.append((key, variant))
    return out


def _from_dimension(layer: SemanticLayer, name: str, unit: str) -> list[tuple[Any, str]]:
    """Each unit's variant from a dimension of the project (``assignments.variant``: a source
    the project defines over the assignment table), by ``layer.query`` of the distinct pairs;
    units without a variant are left out."""
    from metrics_layer.errors import did_you_mean

    if name not in layer.dimensions:
        raise QueryError(
            f"{name!r:.80} is not a dimension of the project; give a dimension holding each "
            f"{unit}'s variant (such as assignments.variant), a mapping of {unit} to variant, "
            f"(key, variant) pairs or a DataFrame.{did_you_mean(name, layer.dimensions)}",
            field="assignment",
        )
    try:
        rows = layer.query([], by=[unit, name]).run(max_rows=MAX_UNITS).rows
    except QueryError as exc:
        raise QueryError(str(exc).split(": ", 1)[-1], field="assignment") from exc
    return [(key, str(variant)) for key, variant in rows if variant is not None]


def analyze(
    layer: SemanticLayer,
    metric: str,
    assignment: object,
    *,
    start: str | dt.date,
    end: str | dt.date,
    alpha: float = 0.05,
    control: str | None = None,
    allocation: Sequence[float] | None = None,
    unit: str | None = None,
) -> ExperimentResult:
    """The metric per variant over ``start``..``end`` for the units of ``assignment``
    (docs/experiments.md#analysing-a-finished-test)."""
    from metrics_layer.experiments.sizing import _allocation

    alpha = _fraction(alpha, "alpha", 0, 0.5)
    first, last = _date(start, "start"), _date(end, "end")
    if first is None or last is None or last < first:
        raise QueryError("give start and end (YYYY-MM-DD), start first", field="end")
    chosen = layer.metric(metric)
    entity = unit or unit_of(layer, chosen)
    if isinstance(assignment, str):
        assignment = _from_dimension(layer, assignment, entity)
    pairs = assignment_pairs(assignment, entity)
    variants = sorted({v for _, v in pairs})
    _count(len(variants), "assignment (variants)", 2, 20)
    if control is None:
        control = "control" if "control" in variants else variants[0]
    if control not in variants:
        raise QueryError(
            f"no unit is assigned to {control!r}; variants: {variants}", field="control"
        )
    order = [control, *(v for v in variants if v != control)]
    weights = _allocation(allocation, len(order))
    values = per_unit(layer, chosen, Window(first, last), unit=unit)
    # A simple metric is 0 for a unit without rows; a ratio, conversion or retention metric
    # is not defined for a unit without a denominator (a base event), which is left out.
    simple = chosen.kind.value == "simple"
    lookup: Mapping[Any, tuple[float, float]] = values.values
    if pairs and all(isinstance(k, str) for k, _ in pairs):
        # Keys read from text (a CSV file) match the database's keys by their text.
        lookup = {str(k): v for k, v in values.values.items()}
    grouped: dict[str, list[tuple[float, float]]] = {v: [] for v in order}
    without_data = 0
    for key, variant in pairs:
        pair = lookup.get(key)
        if pair is None:
            if not simple:
                without_data += 1
                continue
            pair = (0.0, 1.0)
        grouped[variant].append(pair)
    arms = []
    for variant in order:
        rows = grouped[variant]
        if len(rows) < 2:
            raise QueryError(
                f"variant {variant!r} has {len(rows)} units with data in the window",
                field="assignment",
            )
        m = moments(rows, binary=values.binary, ratio=values.ratio)
        arms.append(Arm(variant, len(rows), sum(x for x, _ in rows), m.value, m))
    comparison_alpha = alpha / (len(order) - 1)
    comparisons = tuple(
        (arm.variant, compare(arms[0].moments, arm.moments, alpha=comparison_alpha))
        for arm in arms[1:]
    )
    srm = srm_p_value([sum(1 for _, v in pairs if v == variant) for variant in order], weights)
    described = layer.describe(chosen.name)
    return ExperimentResult(
        metric=chosen.name,
        label=chosen.label,
        version=chosen.version,
        fingerprint=str(described["fingerprint"]),
        unit=values.unit,
        window=Window(first, last),
        arms=tuple(arms),
        comparisons=comparisons,
        alpha=alpha,
        comparison_alpha=comparison_alpha,
        allocation=weights,
        srm_p_value=srm,
        without_data=without_data,
    )
