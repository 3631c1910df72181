"""How a metric's values are shown: the ``format`` of a definition, and plain text for values
without one.

A format is presentation only: it never changes what a metric computes, so it is not part of
the metric's fingerprint and changing it needs no version bump (docs/definitions.md: format).
The CLI table, notebook HTML, the catalogue JSON and anything else that shows values render
them here, so a value reads the same everywhere and on every engine.

Rendering is plain Python (no locale library): English digit grouping (``1,234.5``), a symbol
for the common currencies and the ISO code otherwise. The same value always gives the same
text, whatever the machine's locale.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, assert_never

__all__ = ["FormatType", "ValueFormat", "plain", "render"]

# Values this large or larger (in absolute value) are written in scientific notation: fixed
# point would print dozens of digits no one reads.
HUGE = 1e15

# Currencies written with a symbol before the amount; any other ISO 4217 code is written
# before the amount with a space ("CHF 1,234.00").
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CNY": "¥", "KRW": "₩"}
# Currencies whose amounts have no minor unit, when the format gives no ``decimals``.
NO_MINOR_UNIT = frozenset({"JPY", "KRW", "ISK", "CLP", "VND"})


class FormatType(StrEnum):
    """What kind of value a metric holds, as it is shown."""

    NUMBER = "number"  # 12,202.70: grouped digits, ``decimals`` places (default 2)
    INTEGER = "integer"  # 9,864,150: grouped digits, rounded to a whole number
    PERCENT = "percent"  # 0.123 -> 12.3%: the value is a fraction (default 1 decimal)
    CURRENCY = "currency"  # €12,202.70: an amount in ``currency`` (default 2 decimals)
    COMPACT = "compact"  # 9.9M, 12.2K: a short number for tight spaces (default 1 decimal)


_DEFAULT_DECIMALS = {
    FormatType.NUMBER: 2,
    FormatType.INTEGER: 0,
    FormatType.PERCENT: 1,
    FormatType.CURRENCY: 2,
    FormatType.COMPACT: 1,
}


@dataclass(frozen=True)
class ValueFormat:
    """A metric's display format: its type, the decimal places shown and, for a currency,
    its ISO 4217 code.

    >>> ValueFormat(FormatType.CURRENCY, 2, "EUR").render(-1234.5)
    '-€1,234.50'
    >>> ValueFormat(FormatType.PERCENT).render(0.1234)
    '12.3%'
    """

    type: FormatType
    decimals: int | None = None
    currency: str | None = None

    @property
    def places(self) -> int:
        """The decimal places shown: the format's, else the type's default."""
        if self.decimals is not None:
            return self.decimals
        if self.type is FormatType.CURRENCY and self.currency in NO_MINOR_UNIT:
            return 0
        return _DEFAULT_DECIMALS[self.type]

    def render(self, value: Any) -> str:
        """``value`` as text: empty for NULL, ``NaN``, ``inf`` and ``-inf`` as such, a
        non-number as its plain text."""
        number = _number(value)
        if number is None:
            return plain(value)
        if not math.isfinite(number):
            return _non_finite(number)
        kind = self.type
        if kind is FormatType.NUMBER or kind is FormatType.INTEGER:
            return _grouped(number, self.places)
        if kind is FormatType.PERCENT:
            return _grouped(number * 100, self.places) + "%"
        if kind is FormatType.CURRENCY:
            code = self.currency or "USD"
            amount = _grouped(abs(number), self.places)
            sign = "-" if number < 0 and amount.strip("0.,") else ""
            symbol = SYMBOLS.get(code)
            return f"{sign}{symbol}{amount}" if symbol else f"{sign}{code} {amount}"
        if kind is FormatType.COMPACT:
            return _compact(number, self.places)
        assert_never(kind)

    def as_json(self) -> dict[str, Any]:
        """The format as JSON-safe data (the catalogue's ``format``), defaults filled in."""
        out: dict[str, Any] = {"type": self.type.value, "decimals": self.places}
        if self.type is FormatType.CURRENCY:
            out["currency"] = self.currency or "USD"
        return out


def render(value: Any, fmt: ValueFormat | None) -> str:
    """``value`` in ``fmt``, or as :func:`plain` text when there is no format."""
    return plain(value) if fmt is None else fmt.render(value)


def plain(value: Any) -> str:
    """A value without a format: empty for NULL; a float or decimal in fixed point rounded to
    six significant digits (never fewer than its whole digits), trailing zeros dropped, so
    ``0.0`` and ``Decimal("0.00")`` both read ``0`` and no engine's number type shows.

    >>> plain(9864150.25), plain(12202.7), plain(0.0), plain(decimal.Decimal("0.00"))
    ('9864150', '12202.7', '0', '0')
    >>> plain(1e-7), plain(None), plain(True), plain(float("nan"))
    ('0.0000001', '', 'true', 'NaN')
    >>> import datetime as dt
    >>> plain(dt.date(2026, 1, 31)), plain(dt.datetime(2026, 1, 31, 9))
    ('2026-01-31', '2026-01-31 09:00:00')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, decimal.Decimal)):
        number = float(value)
        if not math.isfinite(number):
            return _non_finite(number)
        if abs(number) >= HUGE:
            return f"{number:.6g}"
        exact = value if isinstance(value, decimal.Decimal) else decimal.Decimal(repr(value))
        if exact == 0:
            return "0"
        digits = max(6, exact.adjusted() + 1)
        rounded = round(exact, digits - exact.adjusted() - 1)
        text = format(rounded, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)  # a date as 2026-01-31, a time bucket as 2026-01-31 09:00:00


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        return None
    return float(value)


def _non_finite(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    return "inf" if number > 0 else "-inf"


def _grouped(number: float, places: int) -> str:
    """Grouped digits with ``places`` decimals; ``-0.00`` reads ``0.00``.

    >>> _grouped(-0.0001, 2), _grouped(1234567.891, 1), _grouped(2.5e20, 2)
    ('0.00', '1,234,567.9', '2.50e+20')
    """
    if abs(number) >= HUGE:
        return f"{number:.{max(places, 2)}e}"
    text = f"{number:,.{places}f}"
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]
    return text


def _compact(number: float, places: int) -> str:
    """A short number: thousands as K, millions as M, billions as B, trillions as T.

    >>> _compact(9864150, 1), _compact(-12202.7, 1), _compact(999, 1), _compact(0.5, 1)
    ('9.9M', '-12.2K', '999', '0.5')
    """
    size = abs(number)
    if size >= HUGE * 1000:
        return f"{number:.{max(places, 2)}e}"
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if size >= limit:
            return _grouped(number / limit, places) + suffix
    text = _grouped(number, places)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
