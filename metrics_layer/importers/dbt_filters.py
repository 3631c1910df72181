"""dbt (MetricFlow) filters to this library's filters: the Jinja calls become dotted names.

MetricFlow writes a filter as SQL with Jinja calls for the names it resolves:
``{{ Dimension('customer__country') }} = 'DE'``. The calls are replaced here by the names this
library resolves the same way (``customer.country``); the SQL around them is kept as written, and
the library's own filter check later refuses what is not a safe boolean.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["NotConvertible", "translate_filter"]

GRAINS = frozenset(
    {"second", "minute", "hour", "day", "week", "month", "quarter", "year"},
)
# One Jinja expression: {{ ... }}; anything else Jinja ({% ... %}, {# ... #}) is refused.
_CALL = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_ARG = r"""\s*['"]([A-Za-z0-9_]+)['"]\s*"""
_DIMENSION = re.compile(
    rf"^(Dimension|TimeDimension)\({_ARG}(?:,{_ARG})?\)(?:\.grain\({_ARG}\))?$", re.IGNORECASE
)
_ENTITY = re.compile(rf"^Entity\({_ARG}\)$")
_METRIC = re.compile(rf"^Metric\({_ARG},\s*group_by\s*=\s*\[{_ARG}\]\s*\)$")


class NotConvertible(Exception):
    """A dbt construct with no equivalent here; the message is the reason shown to the user."""


@dataclass(frozen=True)
class DimensionNames:
    """Where each MetricFlow dimension lives: ``(entity, dimension)`` to this library's dotted
    name (``customer.country`` or ``customers.country``) and to the source that holds it."""

    dotted: Mapping[tuple[str, str], str]
    source: Mapping[tuple[str, str], str]


def translate_filter(
    text: str,
    names: DimensionNames,
    *,
    own_source: str | None = None,
) -> str:
    """The filter with every Jinja call replaced by a dotted name; raises NotConvertible.

    With ``own_source`` (the event filters of conversion metrics), a dimension must belong to
    that source and is written bare, as such filters require.

    >>> names = DimensionNames({("customer", "country"): "customer.country"},
    ...                        {("customer", "country"): "customers"})
    >>> translate_filter("{{ Dimension('customer__country') }} = 'DE'", names)
    "customer.country = 'DE'"
    >>> translate_filter("{{ TimeDimension('metric_time', 'day') }} >= '2026-01-01'", names)
    "metric_time >= '2026-01-01'"
    """
    if "{%" in text or "{#" in text:
        raise NotConvertible("the filter uses Jinja statements or comments ({% %}, {# #})")

    def replace(match: re.Match[str]) -> str:
        return _name(match.group(1), names, own_source)

    out = _CALL.sub(replace, text)
    if "{{" in out or "}}" in out:
        raise NotConvertible("the filter has an unclosed Jinja expression")
    return out.strip()


def _name(call: str, names: DimensionNames, own_source: str | None) -> str:
    """The dotted name for one Jinja call."""
    if match := _ENTITY.match(call):
        entity = match.group(1)
        if "__" in entity:
            raise NotConvertible(f"Entity('{entity}'): entity paths are not converted")
        return entity
    if match := _METRIC.match(call):
        metric, entity = match.groups()
        return f"{entity}.{metric}"
    match = _DIMENSION.match(call)
    if match is None:
        raise NotConvertible(
            f"'{{{{ {call} }}}}' is not one of Dimension('entity__name'), "
            "TimeDimension('entity__name', 'grain'), Entity('name'), "
            "Metric('name', group_by=['entity'])"
        )
    _kind, path, grain, method_grain = match.groups()
    parts = path.split("__")
    if parts[-1] in GRAINS and len(parts) > 1:
        grain, parts = grain or parts[-1], parts[:-1]
    grain = method_grain or grain
    if grain is not None and grain.lower() not in GRAINS:
        raise NotConvertible(f"'{path}': the grain '{grain}' is not converted")
    if parts == ["metric_time"]:
        # A filter on metric_time compares dates; the grain is the day either way.
        if grain not in (None, "day"):
            raise NotConvertible(
                f"metric_time at grain '{grain}' in a filter is not converted; "
                "compare metric_time (a date) instead"
            )
        return "metric_time"
    if len(parts) != 2:
        raise NotConvertible(
            f"'{path}': a dimension is converted as 'entity__dimension'; "
            "multi-hop paths and names without an entity are not"
        )
    key = (parts[0], parts[1])
    if key not in names.dotted:
        raise NotConvertible(
            f"'{path}': no semantic model has entity '{key[0]}' with dimension '{key[1]}'"
        )
    if own_source is not None:
        if names.source[key] != own_source:
            raise NotConvertible(
                f"'{path}' is not a dimension of '{own_source}'; a conversion event's filter "
                "names dimensions of its own source only"
            )
        dotted = key[1]
    else:
        dotted = names.dotted[key]
    if grain is not None and grain != "day":
        return f"{dotted}.{grain}"
    return dotted
