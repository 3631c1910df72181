"""Value formats: edge values (negative, NULL, NaN, infinities, huge, tiny) and plain text."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from metrics_layer.formats import FormatType, ValueFormat, plain, render
from metrics_layer.spec.models import FormatSpec

EUR = ValueFormat(FormatType.CURRENCY, 2, "EUR")
PERCENT = ValueFormat(FormatType.PERCENT)
NUMBER = ValueFormat(FormatType.NUMBER)
INTEGER = ValueFormat(FormatType.INTEGER)
COMPACT = ValueFormat(FormatType.COMPACT)


@pytest.mark.parametrize(
    ("fmt", "value", "text"),
    [
        (EUR, 1234.5, "€1,234.50"),
        (EUR, -1234.5, "-€1,234.50"),
        (EUR, -0.001, "€0.00"),  # rounds to zero: no minus sign
        (EUR, Decimal("0.10"), "€0.10"),
        (ValueFormat(FormatType.CURRENCY, None, "CHF"), 5, "CHF 5.00"),
        (ValueFormat(FormatType.CURRENCY, None, "JPY"), 1234.6, "¥1,235"),
        (ValueFormat(FormatType.CURRENCY), 3, "$3.00"),
        (PERCENT, 0.123, "12.3%"),
        (PERCENT, -0.5, "-50.0%"),
        (PERCENT, 1, "100.0%"),
        (ValueFormat(FormatType.PERCENT, 0), 0.3333, "33%"),
        (NUMBER, 12202.7, "12,202.70"),
        (NUMBER, 1e-9, "0.00"),
        (NUMBER, -1e-9, "0.00"),
        (NUMBER, 2.5e20, "2.50e+20"),
        (NUMBER, -2.5e20, "-2.50e+20"),
        (INTEGER, 9864150.4, "9,864,150"),
        (INTEGER, 7, "7"),
        (COMPACT, 9864150, "9.9M"),
        (COMPACT, -12202.7, "-12.2K"),
        (COMPACT, 3.4e9, "3.4B"),
        (COMPACT, 999, "999"),
        (COMPACT, 0, "0"),
    ],
)
def test_formats_render_edge_values(fmt: ValueFormat, value: object, text: str) -> None:
    assert fmt.render(value) == text


@pytest.mark.parametrize("fmt", [EUR, PERCENT, NUMBER, INTEGER, COMPACT, None])
def test_null_nan_and_infinities_render_the_same_in_every_format(fmt: ValueFormat | None) -> None:
    assert render(None, fmt) == ""
    assert render(math.nan, fmt) == "NaN"
    assert render(math.inf, fmt) == "inf"
    assert render(-math.inf, fmt) == "-inf"
    assert render(Decimal("NaN"), fmt) == "NaN"


def test_a_format_leaves_non_numbers_as_plain_text() -> None:
    assert PERCENT.render("DE") == "DE"
    assert EUR.render(True) == "true"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (9864150.25, "9864150"),  # never 9.86415e+06
        (12202.7, "12202.7"),
        (0.0, "0"),
        (Decimal("0.00"), "0"),  # the same as 0.0 from another engine
        (-0.0, "0"),
        (0.331183486, "0.331183"),
        (1e-7, "0.0000001"),
        (-2.5, "-2.5"),
        (Decimal("10.050"), "10.05"),
        (2e20, "2e+20"),
        (42, "42"),
        (False, "false"),
    ],
)
def test_plain_text_is_fixed_point_and_engine_independent(value: object, text: str) -> None:
    assert plain(value) == text


def test_the_catalogue_form_fills_in_defaults() -> None:
    assert EUR.as_json() == {"type": "currency", "decimals": 2, "currency": "EUR"}
    assert PERCENT.as_json() == {"type": "percent", "decimals": 1}
    assert ValueFormat(FormatType.CURRENCY).as_json()["currency"] == "USD"


@pytest.mark.parametrize(
    ("written", "field"),
    [
        ({"type": "percent", "currency": "EUR"}, "currency"),
        ({"type": "integer", "decimals": 2}, "integer"),
        ({"type": "currency", "currency": "eur"}, "currency"),
        ({"type": "currency", "currency": "EURO"}, "currency"),
        ({"type": "money"}, "type"),
        ({"type": "number", "decimals": -1}, "decimals"),
        ({"type": "number", "decimals": 11}, "decimals"),
        ({"type": "number", "decimals": "2; DROP TABLE x"}, "decimals"),
        ({"type": "number", "thousands": ","}, "thousands"),
    ],
)
def test_bad_formats_are_refused_naming_the_field(written: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        FormatSpec.model_validate(written)
