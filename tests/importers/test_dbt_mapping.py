"""The less common parts of the MetricFlow spec, each converted as docs/dbt.md says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import metrics_layer as ml
from metrics_layer.importers.dbt import Imported, import_dbt

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Imported, Path]:
    out = tmp_path_factory.mktemp("features") / "out"
    return import_dbt(HERE / "features", out), out


def _read(out: Path, file: str, key: str) -> dict[str, Any]:
    items = yaml.safe_load((out / file).read_text(encoding="utf-8"))[key]
    return {item["name"]: item for item in items}


def test_everything_converts_and_checks(converted: tuple[Imported, Path]) -> None:
    imported, out = converted
    assert imported.skipped == ()
    assert [(Path(n.place).name, n.what) for n in imported.notes] == [
        ("all.yml:6", "entity 'customer'")
    ]
    _graph, diagnostics = ml.check(out)
    assert [str(d) for d in diagnostics if d.level == "error"] == []
    layer = ml.load(out)
    for metric in layer.metrics:
        by = ["metric_time.month"]
        assert "SELECT" in layer.query([metric.name], by=by).sql()


def test_sources(converted: tuple[Imported, Path]) -> None:
    sources = _read(converted[1], "sources.yml", "sources")
    assert sources["customers"]["table"] == "customers"  # ref('customers', v=2)
    assert sources["customers"]["entities"] == [
        {"name": "customer", "key": "customer_id", "primary": True}
    ]
    history = sources["plan_history"]
    assert (history["valid_from"], history["valid_to"]) == ("valid_from", "valid_to")
    assert history["entities"] == [{"name": "customer", "key": "customer_id"}]
    measures = {m["name"]: m for m in sources["subscriptions"]["measures"]}
    assert measures["starts"] == {"name": "starts", "agg": "count"}
    assert measures["cancellations"]["time"] == "ended_at"
    assert measures["p75_amount"] == {
        "name": "p75_amount",
        "agg": "percentile",
        "expr": "amount",
        "percentile": 0.75,
    }
    assert measures["p50_amount"]["agg"] == "median"
    assert sources["customers"]["measures"][0]["expr"] == "customer_rows"


def test_metrics(converted: tuple[Imported, Path]) -> None:
    metrics = _read(converted[1], "metrics.yml", "metrics")
    assert (metrics["starts"]["fill_null"], metrics["starts"]["fill_periods"]) == (0, True)
    assert metrics["pro_starts"]["filter"] == "plan_history.plan = 'pro'"
    assert metrics["valuable_starts"]["filter"] == "customer.lifetime_value > 100"
    assert metrics["recent_starts"]["filter"] == (
        "subscription.started_at.month >= '2026-01-01' AND customer IS NOT NULL"
    )
    assert metrics["subscribers_to_date"]["rollup"] == "first"
    assert metrics["subscribers_growth_mtd"]["inputs"] == [
        {
            "metric": "subscribers_to_date",
            "alias": "start_of_month",
            "offset_to_grain": "month",
        }
    ]
    repeat = metrics["same_channel_repeat"]
    assert (repeat["window"], repeat["constant"]) == ("14 days", ["channel"])
    assert repeat["conversion"] == {"measure": "subscriptions.starts", "filter": "channel = 'web'"}
    assert all("status" not in m for m in metrics.values())  # drafts by default
