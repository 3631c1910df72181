"""``list`` and ``show`` print the catalogue: in full as JSON, and compactly as text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.cli.main import main

from .runs import Run

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"

SMALL = {
    "metrics_layer.yml": "project:\n  name: shop\n",
    "sources.yml": """
    sources:
      - name: orders
        table: orders
        time: ordered_at
        entities: [{name: customer, key: customer_id}]
        dimensions:
          - {name: ordered_at, type: time}
          - {name: status}
        measures:
          - {name: revenue, agg: sum, expr: amount}
    """,
    "metrics.yml": """
    metrics:
      - {name: revenue, type: simple, measure: orders.revenue, owner: sales,
         filter: "status = 'paid'"}
      - name: revenue_wow
        type: derived
        expr: "revenue - last_week"
        inputs:
          - {metric: revenue, alias: last_week, offset: 1 week}
    """,
}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run(*argv: str) -> Run:
        code = main(list(argv))
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def shop(write_project: Callable[[dict[str, str]], Path]) -> Path:
    return write_project(SMALL)


def test_list_json_prints_every_metric_in_full(cli: Callable[..., Run], shop: Path) -> None:
    run = cli("list", "--format", "json", "--project", str(shop))
    assert run.code == 0, run.err
    listed = json.loads(run.out)
    assert [m["name"] for m in listed] == ["revenue", "revenue_wow"]
    assert listed == ml.load(shop).catalogue()["metrics"]
    revenue = listed[0]
    assert (revenue["owner"], revenue["type"], revenue["status"]) == ("sales", "simple", "draft")
    assert revenue["definition"]["measure"]["expr"] == "amount"
    assert revenue["definition"]["filter"] == "status = 'paid'"
    assert [d["name"] for d in revenue["dimensions"]] == [
        "metric_time",
        "customer",
        "orders.ordered_at",
        "orders.status",
    ]


def test_list_json_of_the_shipped_definitions(cli: Callable[..., Run]) -> None:
    run = cli("list", "-f", "json", "--project", str(DEFINITIONS))
    assert run.code == 0, run.err
    listed = json.loads(run.out)
    assert len(listed) == 30
    arpu = next(m for m in listed if m["name"] == "arpu")
    assert arpu["definition"]["numerator"]["name"] == "mrr"
    assert arpu["definition"]["denominator"]["name"] == "paying_customers"


def test_list_table_and_csv_stay_one_row_per_metric(cli: Callable[..., Run], shop: Path) -> None:
    table = cli("list", "--project", str(shop))
    assert table.code == 0
    assert table.out.splitlines()[0].split() == [
        "name",
        "type",
        "status",
        "version",
        "owner",
        "label",
    ]
    rows = list(csv.reader(io.StringIO(cli("list", "-f", "csv", "--project", str(shop)).out)))
    assert rows == [
        ["name", "type", "status", "version", "owner", "label"],
        ["revenue", "simple", "draft", "1", "sales", "Revenue"],
        ["revenue_wow", "derived", "draft", "1", "", "Revenue wow"],
    ]


def test_show_json_prints_the_metrics_entry(cli: Callable[..., Run], shop: Path) -> None:
    run = cli("show", "revenue_wow", "--format", "json", "--project", str(shop))
    assert run.code == 0, run.err
    shown = json.loads(run.out)
    assert shown == ml.load(shop).describe("revenue_wow")
    assert shown["definition"]["inputs"][0] == {
        "name": "revenue",
        "measure": None,
        "alias": "last_week",
        "offset": "1 week",
        "offset_to_grain": None,
    }


def test_show_of_an_unknown_metric_suggests_one(cli: Callable[..., Run], shop: Path) -> None:
    run = cli("show", "revenue_ww", "-f", "json", "--project", str(shop))
    assert run.code == 1
    assert run.out == ""
    assert "Did you mean 'revenue_wow'?" in run.err


def test_show_text_lists_inputs_with_alias_and_offset(cli: Callable[..., Run], shop: Path) -> None:
    run = cli("show", "revenue_wow", "--project", str(shop))
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert "  inputs:      revenue AS last_week (offset 1 week), revenue" in lines
    assert "  expr:        revenue - last_week" in lines
    # an offset works on days or coarser: metric_time from a day
    assert (
        "  dimensions:  metric_time (day+), customer, orders.ordered_at (day+), orders.status"
        in lines
    )


@pytest.mark.parametrize(
    ("metric", "line"),
    [
        ("mrr_growth_rate", "  inputs:      mrr AS mrr_month_before (offset 1 month), mrr"),
        ("stickiness", "  inputs:      daily_active_users, monthly_active_users"),
        ("user_churn_rate", "  dimensions:  metric_time (month), user, user.signed_up_at (hour+),"),
        ("daily_active_users", "  dimensions:  metric_time (day+), event, user, event.occurred_at"),
    ],
)
def test_show_text_of_shipped_metrics(cli: Callable[..., Run], metric: str, line: str) -> None:
    run = cli("show", metric, "--project", str(DEFINITIONS))
    assert run.code == 0, run.err
    assert any(printed.startswith(line) for printed in run.out.splitlines()), run.out
