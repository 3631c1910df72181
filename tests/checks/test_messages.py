"""The words of the errors a user meets most: each names the place, the problem in the
library's words, and a fix in the project's own names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.cli.main import main
from metrics_layer.errors import Level

WriteProject = Callable[[dict[str, str]], Path]

SHOP = """\
sources:
  - name: customers
    table: shop.customers
    entities:
      - {name: customer, key: id, primary: true}
    dimensions:
      - {name: region}
  - name: orders
    table: shop.orders
    time: ordered_at
    entities:
      - {name: order, key: id, primary: true}
      - {name: customer, key: customer_id}
    dimensions:
      - {name: ordered_at, type: time}
    measures:
      - {name: order_count, agg: count}
  - name: payments
    table: shop.payments
    time: paid_at
    entities:
      - {name: order, key: order_id}
    dimensions:
      - {name: paid_at, type: time}
    measures:
      - {name: revenue, agg: sum, expr: amount}
metrics:
  - {name: orders_made, type: simple, measure: orders.order_count}
"""


@pytest.fixture
def shop(write_project: WriteProject) -> ml.SemanticLayer:
    return ml.load(write_project({"shop.yml": SHOP}))


def query_error(layer: ml.SemanticLayer, **options: object) -> str:
    with pytest.raises(ml.QueryError) as caught:
        layer.query(["orders_made"], **options).sql()  # type: ignore[arg-type]
    return str(caught.value)


@pytest.mark.parametrize("grain", ["month", "week", "day_of_week"])
def test_a_grain_alone_suggests_metric_time(shop: ml.SemanticLayer, grain: str) -> None:
    text = query_error(shop, by=[grain])
    assert text.startswith(f"by: unknown name '{grain}'. Write 'metric_time.{grain}'")


def test_cli_by_month_suggests_metric_time(
    write_project: WriteProject, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project({"shop.yml": SHOP})
    code = main(["compile", "orders_made", "--by", "month", "--project", str(project)])
    err = capsys.readouterr().err
    assert code == 1
    assert "Write 'metric_time.month'" in err


def test_a_filter_naming_a_metric_says_so_and_how_to_filter_by_it(
    shop: ml.SemanticLayer,
) -> None:
    text = query_error(shop, where="orders_made > 3")
    assert text.startswith("where: 'orders_made' is a metric, not a dimension; ")
    # The entity the metric's source holds, not the source's own primary key (one row each).
    assert "write 'customer.orders_made' (the metric per customer)" in text


def test_grouping_by_a_metric_says_it_is_a_metric(shop: ml.SemanticLayer) -> None:
    text = query_error(shop, by=["orders_made"])
    assert text == (
        "by: 'orders_made' is a metric, not a dimension; list it among the metrics to "
        "compute, and group by dimensions"
    )


def test_an_unknown_name_is_explained_with_the_projects_own_names(
    shop: ml.SemanticLayer,
) -> None:
    text = query_error(shop, by=["regoin"])
    assert "'user" not in text  # no name of the demo project
    assert "e.g. 'customer.region'" in text
    assert "an entity name such as 'customer'" in text
    assert text.endswith("Did you mean 'customer.region'?")


def test_a_measure_of_another_source_is_suggested(write_project: WriteProject) -> None:
    text = SHOP + "  - {name: gross, type: simple, measure: orders.revenue}\n"
    project = write_project({"shop.yml": text})
    _, diagnostics = ml.check(project)
    [diagnostic] = diagnostics
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == ("unknown-reference", 29, 42)
    assert diagnostic.message == "metric 'gross': source 'orders' has no measure 'revenue'"
    assert diagnostic.hint == (
        "'revenue' is a measure of source 'payments': write 'payments.revenue'"
    )


def test_a_missing_folder_is_a_project_error(tmp_path: Path) -> None:
    missing = tmp_path / "definitions"
    graph, diagnostics = ml.check(missing)
    assert graph is None
    [diagnostic] = diagnostics
    assert (diagnostic.code, diagnostic.level) == ("project", Level.ERROR)
    assert diagnostic.message == f"no such file or folder '{missing}'"
    assert diagnostic.hint is not None
    assert "pass the folder that holds your definitions" in diagnostic.hint
    with pytest.raises(ml.DefinitionError) as caught:
        ml.load(missing)
    assert str(caught.value) == str(diagnostic)


@pytest.mark.parametrize(
    ("files", "what"),
    [
        ({}, "it holds no *.yml or *.yaml file"),
        ({"notes.txt": "soon"}, "it holds no *.yml or *.yaml file"),
        ({"a.yml": "# soon\n"}, "its YAML files define no source and no metric"),
        ({"a.yml": "sources: []\nmetrics: []\n"}, "its YAML files define no source and no metric"),
    ],
)
def test_an_empty_folder_is_an_error_not_zero_metrics(
    tmp_path: Path, files: dict[str, str], what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    graph, diagnostics = ml.check(tmp_path)
    assert graph is None or graph.metrics == {}
    [diagnostic] = diagnostics
    assert diagnostic.code == "empty-project"
    assert diagnostic.message == f"the folder '{tmp_path}' holds no definitions: {what}"
    with pytest.raises(ml.DefinitionError):
        ml.load(tmp_path)
    assert main(["check", str(tmp_path)]) == 1
    assert "ok:" not in capsys.readouterr().err


def test_a_folder_whose_only_file_is_broken_reports_that_file_not_emptiness(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.yml").write_text("metrics: [\n", encoding="utf-8")
    _, diagnostics = ml.check(tmp_path)
    assert [d.code for d in diagnostics] == ["yaml-syntax"]


def test_an_unclosed_quote_points_at_the_quote(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        'metrics:\n  - name: orders_made\n    description: "Orders\n    type: simple\n',
        encoding="utf-8",
    )
    [diagnostic] = ml.check(tmp_path)[1]
    # Line 3, after "    description: " (17 characters): where the quote opens.
    assert (diagnostic.line, diagnostic.column) == (3, 18)
    assert diagnostic.message == "invalid YAML: this quote is never closed"


def test_diagnostics_are_sorted_by_file_line_and_column(write_project: WriteProject) -> None:
    project = write_project(
        {
            "b.yml": "metrics:\n  - {name: z, type: simple, measure: orders.nope}\n",
            "a.yml": SHOP.replace("{name: region}", "{name: region, type: when}"),
        }
    )
    _, diagnostics = ml.check(project)
    places = [(Path(d.file or "").name, d.line, d.column) for d in diagnostics]
    assert places == [("a.yml", 7, 30), ("b.yml", 2, 38)]


def test_a_misspelled_required_field_is_one_error_saying_what_to_type(
    write_project: WriteProject,
) -> None:
    text = SHOP + "  - {name: gross, type: simple, measur: payments.revenue}\n"
    _, diagnostics = ml.check(write_project({"shop.yml": text}))
    [diagnostic] = diagnostics  # not also "metric 'gross' needs 'measure'"
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == ("schema", 29, 33)
    assert diagnostic.message == "metric 'gross': unknown field 'measur'"
    assert diagnostic.hint is not None
    assert diagnostic.hint.startswith("Did you mean 'measure'? Allowed fields: ")


def test_a_loop_through_several_metrics_is_one_error_naming_them_all(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "metrics:\n"
        "  - {name: a, type: ratio, numerator: b, denominator: b}\n"
        '  - {name: b, type: derived, expr: "a + c"}\n'
        "  - {name: c, type: ratio, numerator: b, denominator: b}\n",
        encoding="utf-8",
    )
    [diagnostic] = ml.check(tmp_path)[1]
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == ("cycle", 2, 12)
    assert diagnostic.message == (
        "metrics depend on each other in a cycle: a -> b -> a (and through 'c')"
    )


def test_an_entity_with_a_different_number_of_keys_is_an_error_not_a_crash(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.yml").write_text(
        "sources:\n"
        "  - name: users\n"
        "    table: app.users\n"
        "    entities: [{name: user, key: [id, tenant], primary: true}]\n"
        "    dimensions: [{name: country}]\n"
        "  - name: orders\n"
        "    table: shop.orders\n"
        "    time: ordered_at\n"
        "    entities: [{name: user, key: user_id}]\n"
        "    dimensions: [{name: ordered_at, type: time}]\n"
        "    measures: [{name: revenue, agg: sum, expr: amount}]\n"
        "metrics:\n"
        "  - {name: revenue, type: simple, measure: orders.revenue,\n"
        "     filter: \"user.country = 'DE'\"}\n"
    )
    _, found = ml.check(tmp_path)
    assert [(d.code, d.line) for d in found] == [("join", 9), ("join", 14)]
    assert "1 key column(s) here but 2 in its primary source" in found[0].message
