"""What a notebook, a chart and the CLI show: formatted values, escaped labels and
descriptions, marked partial rows, the default chart, and the same table on every engine."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest

import metrics_layer as ml
from metrics_layer.cli.main import main
from metrics_layer.engine.result import ColumnInfo
from metrics_layer.errors import DefinitionError, QueryError
from metrics_layer.formats import FormatType, ValueFormat

from .conftest import DEFINITIONS, ENGINES, HOSTILE_DESCRIPTION, HOSTILE_LABEL, url

matplotlib.use("Agg")

SHIPPED = Path(__file__).resolve().parents[2] / "definitions"


@pytest.fixture
def pyplot() -> Iterator[object]:
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


# -- HTML --------------------------------------------------------------------------------------


def test_result_html_formats_values_and_escapes_labels(layers: dict[str, ml.SemanticLayer]) -> None:
    result = layers["duckdb"].query(["orders", "revenue", "paid_share"], by="metric_time.day").run()
    page = result._repr_html_()
    # Jan 31: orders 1 and 2, €10.00 + €10.05, both paid; Feb 1: orders 3 and 4, none paid.
    for text in ("€20.05", "€25.00", "100.0%", "0.0%", "2026-01-31"):
        assert f">{text}</td>" in page
    assert "<script" not in page
    assert "<img" not in page
    escaped = html.escape(f"{HOSTILE_LABEL}: {HOSTILE_DESCRIPTION}", quote=True)
    assert f'<th title="{escaped}">paid_share</th>' in page
    assert '<th title="Revenue: Sum of order amounts.">revenue</th>' in page


def test_result_html_escapes_hostile_values_and_marks_rows() -> None:
    hostile = '<b onmouseover="x">DE</b>'
    result = ml.Result(
        ("metric_time.week", "country", "share"),
        (("2026-01-26", hostile, 0.5), ("2026-02-02", "&amp;", None)),
        "select 1",
        "duckdb",
        {},
        0.0,
        0.0,
        partial=(True, False),
        incomplete=(False, True),
        info={"share": ColumnInfo('"Share"<i>', "a & b", ValueFormat(FormatType.PERCENT))},
    )
    page = result._repr_html_()
    assert "<b " not in page
    assert "<i>" not in page
    assert html.escape(hostile, quote=True) in page
    assert "&amp;amp;" in page
    assert ">50.0%</td>" in page
    assert page.count('<tr class="partial"') == 1
    assert page.count('<tr class="incomplete"') == 1
    assert 'title="&quot;Share&quot;&lt;i&gt;: a &amp; b"' in page


def test_partial_periods_are_greyed(layers: dict[str, ml.SemanticLayer]) -> None:
    # 31 January (Saturday) to 1 February (Sunday): two days of the week of Monday 26 January.
    result = (
        layers["sqlite"]
        .query("orders", by="metric_time.week", start="2026-01-31", end="2026-02-01")
        .run()
    )
    assert list(result.rows) == [(dt.date(2026, 1, 26), 4)]
    page = result._repr_html_()
    assert page.count('<tr class="partial"') == 1
    assert "Greyed rows: partial periods" in page


def test_query_html_highlights_sql_and_shows_descriptions(
    layers: dict[str, ml.SemanticLayer], monkeypatch: pytest.MonkeyPatch
) -> None:
    query = layers["duckdb"].query(["revenue", "paid_share"], by="orders.country")
    page = query._repr_html_()
    assert "<script" not in page
    assert "<img" not in page
    assert f'title="{html.escape(HOSTILE_DESCRIPTION, quote=True)}"' in page
    assert html.escape(HOSTILE_LABEL, quote=True) in page
    assert 'title="Sum of order amounts.">Revenue</span> v1' in page
    assert "<span style=" in page  # pygments, inline styles
    import metrics_layer.notebook as notebook

    real = notebook.importlib.util.find_spec
    monkeypatch.setattr(
        notebook.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pygments" else real(name, *a),
    )
    plain = query._repr_html_()
    assert f"<pre>{html.escape(query.sql(), quote=True)}</pre>" in plain
    assert "&#x27;paid&#x27;" in plain


# -- charts ------------------------------------------------------------------------------------


def test_lines_over_time_one_per_dimension_value(
    layers: dict[str, ml.SemanticLayer], pyplot: object
) -> None:
    result = layers["duckdb"].query("orders", by=["metric_time.day", "orders.country"]).run()
    # Three countries (DE: 2 orders, US: 1, none: 1).
    ax = result.plot()
    assert len(ax.get_lines()) == 3
    assert ax.get_title() == "Orders"
    assert ax.get_ylabel() == "Orders"
    assert ax.get_xlabel() == "metric_time.day"
    assert next(line.get_label() for line in ax.get_lines()) == "DE"
    top = result.plot(top=1)
    labels = [line.get_label() for line in top.get_lines()]
    assert labels == ["DE", "other (2)"]
    # The "other" line sums US and the missing country: one order each, on 1 February.
    assert list(top.get_lines()[1].get_ydata()) == [2.0]


def test_percent_metrics_leave_the_rest_out(
    layers: dict[str, ml.SemanticLayer], pyplot: object
) -> None:
    result = layers["sqlite"].query("paid_share", by=["metric_time.day", "orders.country"]).run()
    ax = result.plot(top=1)
    assert len(ax.get_lines()) == 1  # shares do not add up: no "other" line
    assert ax.yaxis.get_major_formatter()(0.25, 0) == "25.0%"


def test_bars_without_time(layers: dict[str, ml.SemanticLayer], pyplot: object) -> None:
    result = layers["duckdb"].query(["orders", "revenue"], by="orders.country").run()
    ax = result.plot()
    assert len(ax.patches) == 3 * 2  # three countries, two metrics
    assert ax.get_title() == "Orders, Revenue"
    single = layers["duckdb"].query("revenue", by="orders.country").run().plot()
    assert len(single.patches) == 3
    assert single.yaxis.get_major_formatter()(2.5, 0) == "€2.50"
    assert single.yaxis.get_major_formatter()(20, 0) == "€20"  # whole amounts: no decimals


def test_plot_refuses_bad_input(layers: dict[str, ml.SemanticLayer]) -> None:
    result = layers["duckdb"].query("orders", by="orders.country").run()
    for bad in (0, -1, True, "5", 2.5):
        with pytest.raises(QueryError, match="top"):
            result.plot(top=bad)  # type: ignore[arg-type]


# -- the CLI table -----------------------------------------------------------------------------


def cli(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0
    return out.getvalue()


def test_the_cli_table_is_the_same_text_on_every_engine(project: Path) -> None:
    # Jan 31: orders 1 and 2 (€20.05, no refund, all paid); Feb 1: orders 3 and 4 (€25.00,
    # both refunded: 25, none paid).
    expected = "\n".join(
        [
            "metric_time.day  orders  revenue  refunded_amount  paid_share",
            "---------------  ------  -------  ---------------  ----------",
            "2026-01-31" + " " * 12 + "2" + " " * 3 + "€20.05" + " " * 23 + "100.0%",
            "2026-02-01" + " " * 12 + "2" + " " * 3 + "€25.00" + " " * 15 + "25" + " " * 8 + "0.0%",
            "",
        ]
    )
    metrics = ("orders", "revenue", "refunded_amount", "paid_share")
    for engine in ENGINES:
        printed = cli(
            "query", *metrics, "--by", "metric_time.day",
            "--project", str(project), "--connection", url(project, engine),
        )  # fmt: skip
        assert printed == expected, engine


def test_cli_json_keeps_values_unformatted(project: Path) -> None:
    printed = cli(
        "query", "revenue", "--by", "orders.price", "--format", "json",
        "--project", str(project), "--connection", url(project, "duckdb"),
    )  # fmt: skip
    # DuckDB returns the price as DECIMAL: written as its digits, as the service does.
    assert json.loads(printed)[0] == {"orders.price": "4.99", "revenue": 5.0}


# -- formats in definitions --------------------------------------------------------------------


def load_variant(folder: Path, text: str, project: Path) -> ml.SemanticLayer:
    (folder / "defs").mkdir(parents=True)
    (folder / "metrics_layer.yml").write_text(
        "project:\n  name: notebook\n  paths: [defs]\n", encoding="utf-8"
    )
    (folder / "defs" / "orders.yml").write_text(textwrap.dedent(text).lstrip("\n"), "utf-8")
    return ml.load(folder, connection=url(project, "duckdb"))


def test_a_format_is_not_part_of_the_fingerprint(
    layers: dict[str, ml.SemanticLayer], project: Path, tmp_path: Path
) -> None:
    without = "\n".join(
        line for line in DEFINITIONS.splitlines() if not line.strip().startswith("format:")
    )
    assert without.count("\n") < DEFINITIONS.count("\n")
    changed = DEFINITIONS.replace("currency: EUR", "currency: GBP, decimals: 0")
    for name, text in (("without", without), ("changed", changed)):
        other = load_variant(tmp_path / name, text, project)
        assert dict(other.fingerprints) == dict(layers["duckdb"].fingerprints), name
        other.connection.close()


def test_the_catalogue_has_each_metrics_format(layers: dict[str, ml.SemanticLayer]) -> None:
    layer = layers["duckdb"]
    assert layer.describe("revenue")["format"] == {
        "type": "currency",
        "decimals": 2,
        "currency": "EUR",
    }
    assert layer.describe("refunded_amount")["format"] is None
    shipped = ml.load(SHIPPED)
    assert shipped.describe("mrr")["format"] == layer.describe("revenue")["format"]
    assert shipped.describe("paid_conversion_rate")["format"] == {"type": "percent", "decimals": 1}


def test_the_shipped_lock_file_still_passes() -> None:
    assert main(["check", str(SHIPPED)]) == 0


def test_a_bad_format_is_a_definition_error_with_its_place(project: Path, tmp_path: Path) -> None:
    bad = DEFINITIONS.replace("{type: integer}", "{type: integer, currency: EUR}")
    with pytest.raises(DefinitionError) as caught:
        load_variant(tmp_path / "bad", bad, project)
    message = str(caught.value)
    assert "orders.yml" in message
    assert "currency" in message
