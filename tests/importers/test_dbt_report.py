"""What `metrics-layer import dbt` cannot convert is reported with the reason and the place,
and the exit status says so."""

from __future__ import annotations

from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.cli.main import main
from metrics_layer.importers.dbt import import_dbt

HERE = Path(__file__).parent


def _skips(project: str, tmp_path: Path) -> set[tuple[str, str, str]]:
    imported = import_dbt(HERE / project, tmp_path / "out")
    return {
        (Path(s.place.split(":")[0]).name + ":" + s.place.split(":")[1], s.what, s.reason)
        for s in imported.skipped
    }


def test_jaffle_shop_skips_are_reported_with_their_lines(tmp_path: Path) -> None:
    skips = _skips("jaffle_shop", tmp_path)
    assert {(place, what) for place, what, _ in skips} == {
        ("orders.yml:46", "measure 'p90_order_total'"),
        ("metrics.yml:102", "metric 'big_spender_orders'"),
        ("metrics.yml:109", "metric 'p90_order'"),
    }
    reasons = {what: reason for _, what, reason in skips}
    assert "discrete" in reasons["measure 'p90_order_total'"]
    assert "p90_order_total', which was not converted" in reasons["metric 'p90_order'"]
    layer = ml.load(tmp_path / "out")
    assert {m.name for m in layer.metrics} >= {"revenue", "food_orders", "customers", "food_share"}


def test_saas_skips_include_what_the_check_refused(tmp_path: Path) -> None:
    skips = _skips("saas", tmp_path)
    by_what = {what: (place, reason) for place, what, reason in skips}
    assert set(by_what) == {
        "saved query 'weekly_kpis'",
        "measure 'mrr_per_account'",
        "metric 'mrr_per_account_metric'",
        "metric 'yearly_conversion'",
        "metric 'monthly_signups_filter'",
        "metric 'weird_derived'",
    }
    assert by_what["metric 'weird_derived'"][0] == "metrics.yml:95"
    assert "pg_sleep() is not allowed" in by_what["metric 'weird_derived'"][1]
    assert "window_groupings" in by_what["measure 'mrr_per_account'"][1]
    _graph, diagnostics = ml.check(tmp_path / "out")
    assert [d for d in diagnostics if d.level == "error"] == []


def test_exit_status_says_whether_anything_was_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "dbt", str(HERE / "saas"), "--out", str(tmp_path / "a")]) == 1
    err = capsys.readouterr().err
    assert "metrics.yml:86: skipped metric 'yearly_conversion': window '1 year'" in err
    assert "6 parts not converted" in err
    clean = tmp_path / "clean.yml"
    clean.write_text(
        "semantic_models:\n"
        "  - name: orders\n    model: ref('orders')\n"
        "    defaults: {agg_time_dimension: ordered_at}\n"
        "    entities: [{name: order, type: primary, expr: order_id}]\n"
        "    dimensions: [{name: ordered_at, type: time, type_params: {time_granularity: day}}]\n"
        "    measures: [{name: order_count, agg: count, expr: '1', create_metric: true}]\n",
        encoding="utf-8",
    )
    assert main(["import", "dbt", str(clean), "--out", str(tmp_path / "b")]) == 0
    assert "0 parts not converted" in capsys.readouterr().err
    # An output folder that is not empty is not written to without --force.
    assert main(["import", "dbt", str(clean), "--out", str(tmp_path / "b")]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["import", "dbt", str(clean), "--out", str(tmp_path / "b"), "--force"]) == 0


@pytest.mark.parametrize(
    ("metric_filter", "reason"),
    [
        ("{% if true %}1=1{% endif %}", "Jinja statements"),
        ("{{ Dimension('order__ordered_at') }} = 1 {{", "unclosed"),
        ("{{ env_var('HOME') }} = 'x'", "is not one of"),
        ("{{ Dimension('a__b__c') }} = 1", "multi-hop"),
        ("{{ Dimension('order__nope') }} = 1", "no semantic model has entity 'order'"),
        ("{{ Dimension('order__ordered_at') }}; DROP TABLE orders", "(when checked)"),
    ],
)
def test_hostile_filters_are_skipped_with_a_reason(
    tmp_path: Path, metric_filter: str, reason: str
) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "m.yml").write_text(
        "semantic_models:\n"
        "  - name: orders\n    model: ref('orders')\n"
        "    defaults: {agg_time_dimension: ordered_at}\n"
        "    entities: [{name: order, type: primary, expr: order_id}]\n"
        "    dimensions: [{name: ordered_at, type: time, type_params: {time_granularity: day}}]\n"
        "    measures: [{name: order_count, agg: count, expr: '1'}]\n"
        "metrics:\n"
        "  - name: filtered\n    type: simple\n    type_params: {measure: order_count}\n"
        f"    filter: {metric_filter!r}\n".replace("'{", '"{').replace("}'", '}"'),
        encoding="utf-8",
    )
    imported = import_dbt(tmp_path / "p", tmp_path / "out")
    assert [s.what for s in imported.skipped] == ["metric 'filtered'"]
    assert reason in imported.skipped[0].reason
    assert imported.skipped[0].place.endswith("m.yml:9")


def test_broken_files_and_models_are_reported(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "bad.yml").write_text("semantic_models: [\n", encoding="utf-8")
    (tmp_path / "p" / "sm.yml").write_text(
        "semantic_models:\n  - name: x\n    model: \"{{ source('raw', 'x') }}\"\n",
        encoding="utf-8",
    )
    with pytest.raises(ml.UserError, match="nothing was converted") as caught:
        import_dbt(tmp_path / "p", tmp_path / "out")
    assert "sm.yml:2: skipped semantic model 'x'" in str(caught.value)
    assert not (tmp_path / "out").exists()
    (tmp_path / "p" / "ok.yml").write_text(
        "semantic_models:\n  - name: y\n    model: ref('y')\n"
        "    measures: [{name: rows, agg: count, create_metric: true}]\n",
        encoding="utf-8",
    )
    imported = import_dbt(tmp_path / "p", tmp_path / "out")
    assert imported.metrics == 1
    reasons = [(Path(s.place).name, s.reason) for s in imported.skipped]
    assert reasons[0][0] == "bad.yml"
    assert "not valid YAML" in reasons[0][1]
    assert reasons[1][0] == "sm.yml:2"
    assert "is not ref('model_name')" in reasons[1][1]


def test_a_missing_project_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ml.UserError, match="does not exist"):
        import_dbt(tmp_path / "nope", tmp_path / "out")


def test_check_findings_point_at_the_dbt_places(tmp_path: Path) -> None:
    (tmp_path / "dup.yml").write_text(
        "semantic_models:\n"
        "  - name: orders\n    model: ref('orders')\n"
        "    description: \"{{ doc('orders') }}\"\n"
        "    measures:\n"
        "      - {name: a, agg: sum, expr: x, create_metric: true}\n"
        "      - {name: b, agg: sum, expr: x, create_metric: true}\n",
        encoding="utf-8",
    )
    imported = import_dbt(tmp_path / "dup.yml", tmp_path / "out")
    dup = str(tmp_path / "dup.yml")
    assert [str(s) for s in imported.skipped] == [
        f"{dup}:7: skipped metric 'b': metric 'b' computes exactly what 'a' computes "
        f"(defined at {dup}:6): the same KPI under two names (when checked)"
    ]
    assert [(n.place, n.what) for n in imported.notes] == [
        (f"{dup}:2", "the description of 'orders'"),
        (f"{dup}:7", "measure 'b'"),
    ]
    assert f"(defined at {dup}:6)" in imported.notes[1].reason


def test_the_newer_spec_is_reported_not_dropped(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "m.yml").write_text(
        "semantic_models:\n  - name: y\n    model: ref('y')\n"
        "    measures: [{name: rows, agg: count, expr: '1', new_field: 1}]\n"
        "models:\n  - name: orders\n    semantic_model: {enabled: true}\n"
        "metrics:\n  - name: total\n    type: simple\n    agg: sum\n    expr: amount\n",
        encoding="utf-8",
    )
    imported = import_dbt(tmp_path / "p", tmp_path / "out")
    assert [(Path(s.place).name, s.what) for s in imported.skipped] == [
        ("m.yml:6", "model 'orders'"),
        ("m.yml:9", "metric 'total'"),
    ]
    assert all("newer dbt spec" in s.reason for s in imported.skipped)
    assert [(Path(n.place).name, n.what, n.reason) for n in imported.notes] == [
        (
            "m.yml:4",
            "measure 'rows'",
            "the field 'new_field' is not known to the importer; left out",
        )
    ]
