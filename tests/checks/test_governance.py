"""Governance rules over one project: each case a small project with the exact diagnostics it
must give (code, file, line and a key phrase), and projects that must give none."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import metrics_layer as ml
from metrics_layer.checks.governance import governance_checks, similar_names, term_key
from metrics_layer.errors import Diagnostic, Level
from metrics_layer.graph.build import build_graph
from metrics_layer.spec.project import read_project

TODAY = dt.date(2026, 12, 4)

SOURCES = """\
sources:
  - name: orders
    table: shop.orders
    time: ordered_at
    entities: [{name: customer, key: customer_id}]
    dimensions:
      - {name: ordered_at, type: time}
      - {name: channel}
    measures:
      - {name: revenue, agg: sum, expr: amount}
      - {name: buyers, agg: count_distinct, expr: customer_id}
  - name: customers
    table: shop.customers
    entities: [{name: customer, key: id, primary: true}]
    dimensions:
      - {name: country}
      - {name: is_test, type: boolean}
"""

Expected = tuple[str, str, int, str]


def write(tmp_path: Path, metrics: str, sources: str = SOURCES) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "metrics_layer.yml").write_text("project:\n  name: shop\n")
    (folder / "sources.yml").write_text(sources)
    (folder / "metrics.yml").write_text(metrics)
    return folder


def governance(
    tmp_path: Path, metrics: str, sources: str = SOURCES, today: dt.date = TODAY
) -> list[Diagnostic]:
    project = read_project(write(tmp_path, metrics, sources))
    assert project.diagnostics == []
    graph, problems = build_graph(project)
    assert problems == []
    return governance_checks(graph, today=today)


def assert_found(found: list[Diagnostic], expected: list[Expected]) -> None:
    """Exactly the expected diagnostics, in file order: (code, file name, line, phrase)."""
    got = [(d.code, Path(d.file or "").name, d.line) for d in found]
    assert got == [(code, file, line) for code, file, line, _ in expected], found
    for diagnostic, (_, _, _, phrase) in zip(found, expected, strict=True):
        assert phrase in str(diagnostic), diagnostic
        assert diagnostic.hint, diagnostic


# --- equivalent-metrics ------------------------------------------------------------------------

ISSUE_EXAMPLES = """\
metrics:
  - name: revenue
    type: simple
    measure: orders.revenue
    filter: "channel <> 'api'"
    fill_null: 0
  - name: active_customers
    type: simple
    measure: orders.buyers
    filter: "NOT customer.is_test AND customer.country = 'DE'"
  - name: net_sales
    type: simple
    measure: orders.revenue
    filter: "channel <> 'api'"
    fill_null: 0
  - name: buyers
    type: simple
    measure: orders.buyers
    filter: "not   customer.is_test  and customer.country='DE'"
"""


def test_the_issues_two_duplicates_are_errors_naming_the_first(tmp_path: Path) -> None:
    found = governance(tmp_path, ISSUE_EXAMPLES)
    assert_found(
        found,
        [
            (
                "equivalent-metrics",
                "metrics.yml",
                11,
                "'net_sales' computes exactly what 'revenue'",
            ),
            ("equivalent-metrics", "metrics.yml", 16, "'buyers' computes exactly what 'active_c"),
        ],
    )
    assert all(d.level is Level.ERROR for d in found)
    assert "defined at " in found[0].message
    assert "metrics.yml:2" in found[0].message
    assert "replaced_by: revenue" in (found[0].hint or "")


def test_the_issues_duplicates_fail_the_whole_check(tmp_path: Path) -> None:
    graph, found = ml.check(write(tmp_path, ISSUE_EXAMPLES))
    assert graph is not None
    assert [(d.code, d.line) for d in found] == [
        ("equivalent-metrics", 11),
        ("equivalent-metrics", 16),
    ]


def test_the_cli_fails_on_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from metrics_layer.cli.main import main

    assert main(["check", str(write(tmp_path, ISSUE_EXAMPLES))]) == 1
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert (
        "metrics.yml:11:11: error[equivalent-metrics]: metric 'net_sales' computes exactly what "
        "'revenue'" in text
    )
    assert (
        "metrics.yml:16:11: error[equivalent-metrics]: metric 'buyers' computes exactly what "
        "'active_customers'" in text
    )
    assert "2 error(s), 0 warning(s)" in text


@pytest.mark.parametrize(
    "written",
    [
        "customer.country = 'DE' AND NOT customer.is_test",
        "('DE' = customer.country) and (not customer.is_test)",
        "(NOT (customer.is_test)) AND customer.country = 'DE'",
    ],
)
def test_a_filter_rewritten_is_the_same_metric(tmp_path: Path, written: str) -> None:
    metrics = f"""\
metrics:
  - name: active_customers
    type: simple
    measure: orders.buyers
    filter: "NOT customer.is_test AND customer.country = 'DE'"
  - name: german_buyers
    type: simple
    measure: orders.buyers
    filter: "{written}"
"""
    assert_found(
        governance(tmp_path, metrics),
        [("equivalent-metrics", "metrics.yml", 6, "'german_buyers' computes exactly what")],
    )


def test_three_alike_are_one_error_at_the_second_naming_all(tmp_path: Path) -> None:
    metrics = """\
metrics:
  - {name: revenue, type: simple, measure: orders.revenue}
  - {name: sales, type: simple, measure: orders.revenue}
  - {name: buyers, type: simple, measure: orders.buyers}
  - {name: turnover, type: simple, measure: orders.revenue}
"""
    [found] = governance(tmp_path, metrics)
    assert (found.code, found.line) == ("equivalent-metrics", 3)
    assert "metrics 'sales' and 'turnover' compute exactly what 'revenue'" in found.message
    assert "('turnover' at " in found.message
    assert "metrics.yml:5)" in found.message


def test_a_deprecated_metric_replaced_by_its_twin_is_a_migration(tmp_path: Path) -> None:
    metrics = """\
metrics:
  - {name: revenue, type: simple, measure: orders.revenue}
  - name: net_sales
    type: simple
    measure: orders.revenue
    status: deprecated
    replaced_by: revenue
    sunset: 2027-03-31
"""
    assert governance(tmp_path, metrics) == []


def test_a_deprecated_twin_replaced_by_a_third_metric_is_still_a_twin(tmp_path: Path) -> None:
    metrics = """\
metrics:
  - {name: revenue, type: simple, measure: orders.revenue}
  - {name: buyers, type: simple, measure: orders.buyers}
  - name: net_sales
    type: simple
    measure: orders.revenue
    status: deprecated
    replaced_by: buyers
    sunset: 2027-03-31
"""
    assert_found(
        governance(tmp_path, metrics),
        [("equivalent-metrics", "metrics.yml", 4, "'net_sales' computes exactly what 'revenue'")],
    )


def test_kept_versions_are_not_twins_of_their_metric(tmp_path: Path) -> None:
    # What a kept version adds to the graph: 'revenue@1' beside 'revenue'.
    from dataclasses import replace

    project = read_project(
        write(tmp_path, "metrics:\n  - {name: revenue, type: simple, measure: orders.revenue}\n")
    )
    graph, _ = build_graph(project)
    pinned = replace(graph.metrics["revenue"], name="revenue@1", pinned_of="revenue")
    graph = replace(graph, metrics={**graph.metrics, "revenue@1": pinned})
    assert governance_checks(graph, today=TODAY) == []


def test_metrics_that_need_themselves_are_not_compared(tmp_path: Path) -> None:
    # 'loop' filters on itself per customer: it cannot be computed (the planner says so) and
    # has no meaning to compare, nor has 'loop_share' built on it; 'twin' is still compared.
    metrics = """\
metrics:
  - {name: loop, type: simple, measure: orders.buyers, filter: "customer.loop > 1"}
  - {name: loop_copy, type: simple, measure: orders.buyers, filter: "customer.loop > 1"}
  - {name: loop_share, type: ratio, numerator: loop, denominator: orders.buyers}
  - {name: revenue, type: simple, measure: orders.revenue}
  - {name: twin, type: simple, measure: orders.revenue}
"""
    assert_found(
        governance(tmp_path, metrics),
        [("equivalent-metrics", "metrics.yml", 6, "'twin' computes exactly what 'revenue'")],
    )


# --- equivalent-measures -----------------------------------------------------------------------


def test_a_measure_computed_twice_is_a_warning_at_the_second(tmp_path: Path) -> None:
    sources = (
        SOURCES.replace(
            "      - {name: buyers, agg: count_distinct, expr: customer_id}\n",
            "      - {name: buyers, agg: count_distinct, expr: customer_id}\n"
            "      - {name: amount_total, agg: sum, expr: AMOUNT}\n",
        )
        + """\
  - name: sales
    table: shop.orders
    time: ordered_at
    dimensions:
      - {name: ordered_at, type: time}
    measures:
      - {name: buyer_count, agg: count_distinct, expr: customer_id}
      - {name: buyer_rows, agg: count, expr: customer_id}
"""
    )
    found = governance(
        tmp_path, "metrics:\n  - {name: r, type: simple, measure: orders.revenue}\n", sources
    )
    assert_found(
        found,
        [
            (
                "equivalent-measures",
                "sources.yml",
                12,
                "'orders.amount_total' computes exactly what 'orders.revenue'",
            ),
            (
                "equivalent-measures",
                "sources.yml",
                25,
                "'sales.buyer_count' computes exactly what 'orders.buyers'",
            ),
        ],
    )
    assert all(d.level is Level.WARNING for d in found)
    assert "(defined at " in found[0].message
    assert "sources.yml:10)" in found[0].message


# --- conflicting-label -------------------------------------------------------------------------


def test_a_label_shared_by_different_logic_is_an_error_at_the_label(tmp_path: Path) -> None:
    metrics = """\
metrics:
  - name: revenue
    label: Revenue
    type: simple
    measure: orders.revenue
    filter: "channel <> 'api'"
  - name: gross_revenue
    type: simple
    label: "  REVENUE "
    measure: orders.revenue
"""
    found = governance(tmp_path, metrics)
    assert_found(
        found,
        [
            (
                "conflicting-label",
                "metrics.yml",
                9,
                "the label '  REVENUE ' of metric 'gross_revenue' is the name of metric 'revenue'",
            )
        ],
    )
    assert found[0].level is Level.ERROR
    assert "give 'gross_revenue' a label of its own" in (found[0].hint or "")


def test_a_label_shared_by_two_explicit_labels(tmp_path: Path) -> None:
    metrics = """\
metrics:
  - name: revenue
    label: Sales
    type: simple
    measure: orders.revenue
  - name: buyers
    label: sales
    type: simple
    measure: orders.buyers
"""
    assert_found(
        governance(tmp_path, metrics),
        [
            (
                "conflicting-label",
                "metrics.yml",
                7,
                "the label 'sales' of metric 'buyers' is the label 'Sales' of metric 'revenue'",
            )
        ],
    )


def test_a_synonym_equal_to_another_metrics_name(tmp_path: Path) -> None:
    metrics = """\
metrics:
  - name: active_customers
    type: simple
    measure: orders.buyers
  - name: sales
    type: simple
    measure: orders.revenue
    synonyms:
      - gmv
      - Active Customers
"""
    assert_found(
        governance(tmp_path, metrics),
        [
            (
                "conflicting-label",
                "metrics.yml",
                10,
                "the synonym 'Active Customers' of metric 'sales' is the name of metric "
                "'active_customers'",
            )
        ],
    )


def test_an_earlier_synonym_equal_to_a_later_name_is_reported_at_the_synonym(
    tmp_path: Path,
) -> None:
    metrics = """\
metrics:
  - name: sales
    type: simple
    measure: orders.revenue
    synonyms: [turnover]
  - name: turnover
    type: simple
    measure: orders.revenue
    filter: "channel = 'shop'"
"""
    assert_found(
        governance(tmp_path, metrics),
        [("conflicting-label", "metrics.yml", 5, "the synonym 'turnover' of metric 'sales'")],
    )


def test_two_synonyms_alike_and_a_label_are_one_error_per_pair(tmp_path: Path) -> None:
    metrics = """\
metrics:
  - name: revenue
    label: Turnover
    type: simple
    measure: orders.revenue
    synonyms: [gmv]
  - name: buyers
    label: Turnover
    type: simple
    measure: orders.buyers
    synonyms: [GMV]
"""
    assert_found(
        governance(tmp_path, metrics),
        [("conflicting-label", "metrics.yml", 8, "the label 'Turnover' of metric 'buyers'")],
    )


def test_a_shared_label_with_the_same_logic_is_only_equivalent_metrics(tmp_path: Path) -> None:
    metrics = """\
metrics:
  - name: revenue
    label: Revenue
    type: simple
    measure: orders.revenue
  - name: net_sales
    label: Revenue
    synonyms: [revenue]
    type: simple
    measure: orders.revenue
"""
    assert_found(
        governance(tmp_path, metrics),
        [("equivalent-metrics", "metrics.yml", 6, "'net_sales' computes exactly what 'revenue'")],
    )


def test_blank_labels_and_synonyms_name_nothing(tmp_path: Path) -> None:
    metrics = """\
metrics:
  - {name: revenue, type: simple, measure: orders.revenue, label: " ", synonyms: [" "]}
  - {name: buyers, type: simple, measure: orders.buyers, label: " ", synonyms: ["_"]}
"""
    assert governance(tmp_path, metrics) == []


# --- similar-names -----------------------------------------------------------------------------


def distinct(*names: str) -> str:
    """Metrics of these names, each computing something else (a filter of its own)."""
    lines = ["metrics:"]
    for i, name in enumerate(names):
        lines.append(
            f"  - {{name: {name}, type: simple, measure: orders.revenue, "
            f"filter: \"channel = 'c{i}'\"}}"
        )
    return "\n".join(lines) + "\n"


def test_near_duplicate_names_are_warnings_naming_the_first(tmp_path: Path) -> None:
    metrics = distinct(
        "active_users",
        "active_user",
        "activeusers",
        "received_orders",
        "recieved_orders",
        "weekly_revenue",
        "weekly_revenu",
        "refunds_count",
        "refund_count",
    )
    found = governance(tmp_path, metrics)
    assert_found(
        found,
        [
            ("similar-names", "metrics.yml", 3, "'active_user' differs from 'active_users'"),
            ("similar-names", "metrics.yml", 4, "'activeusers' differs from 'active_users'"),
            ("similar-names", "metrics.yml", 6, "'recieved_orders' differs from 'received_orders'"),
            ("similar-names", "metrics.yml", 8, "'weekly_revenu' differs from 'weekly_revenue'"),
            ("similar-names", "metrics.yml", 10, "'refund_count' differs from 'refunds_count'"),
        ],
    )
    assert all(d.level is Level.WARNING for d in found)


LEGITIMATE_PAIRS = [
    ("new_users", "new_user_rate"),
    ("mrr", "arr"),
    ("dau", "mau"),
    ("d1_retention", "d7_retention"),
    ("retention_week_1", "retention_week_2"),
    ("mrr_growth", "arr_growth"),
    ("cost_per_lead", "cost_per_head"),
    ("revenue_net", "revenue_new"),
    ("signups", "signins"),
    ("orders", "orders_per_user"),
]

SIMILAR_PAIRS = [
    ("active_users", "active_user"),
    ("active_users", "activeusers"),
    ("received_orders", "recieved_orders"),
    ("activation_rate", "activaton_rate"),
    ("refunds_count", "refund_count"),
    ("revenue", "revenues"),
]


@pytest.mark.parametrize(("a", "b"), LEGITIMATE_PAIRS)
def test_legitimate_pairs_are_not_similar_either_way(a: str, b: str) -> None:
    assert not similar_names(a, b)
    assert not similar_names(b, a)


@pytest.mark.parametrize(("a", "b"), SIMILAR_PAIRS)
def test_misspelt_pairs_are_similar_either_way(a: str, b: str) -> None:
    assert similar_names(a, b)
    assert similar_names(b, a)


def test_a_project_of_legitimate_pairs_reports_nothing(tmp_path: Path) -> None:
    names = [name for pair in LEGITIMATE_PAIRS for name in pair]
    assert governance(tmp_path, distinct(*names)) == []


def test_a_misspelt_name_deprecated_in_favour_of_the_right_one_is_not_reported(
    tmp_path: Path,
) -> None:
    metrics = """\
metrics:
  - {name: active_users, type: simple, measure: orders.buyers}
  - name: active_user
    type: simple
    measure: orders.buyers
    filter: "channel = 'web'"
    status: deprecated
    replaced_by: active_users
    sunset: 2027-01-31
"""
    assert governance(tmp_path, metrics) == []


def test_term_key_ignores_case_spaces_underscores_and_hyphens() -> None:
    assert term_key(" Active  Users") == term_key("active_users") == term_key("ACTIVE-users")
    assert term_key("Active users") != term_key("Active user")


# --- deprecation and past-sunset ---------------------------------------------------------------

DEPRECATIONS = """\
metrics:
  - name: revenue
    type: simple
    measure: orders.revenue
  - name: old_revenue
    type: simple
    measure: orders.revenue
    filter: "channel = 'a'"
    status: deprecated
  - name: older_revenue
    type: simple
    measure: orders.revenue
    filter: "channel = 'b'"
    status: deprecated
    replaced_by: old_revenue
    sunset: 2027-06-30
  - name: typo_revenue
    type: simple
    measure: orders.revenue
    filter: "channel = 'c'"
    status: deprecated
    replaced_by: revenu
    sunset: 2027-06-30
  - name: live_revenue
    type: simple
    measure: orders.revenue
    filter: "channel = 'd'"
    replaced_by: revenue
    sunset: 2027-06-30
  - name: self_revenue
    type: simple
    measure: orders.revenue
    filter: "channel = 'e'"
    status: deprecated
    replaced_by: self_revenue
    sunset: 2027-06-30
  - name: half_revenue
    type: simple
    measure: orders.revenue
    filter: "channel = 'f'"
    status: deprecated
    replaced_by: revenue
"""


def test_every_deprecation_mistake_at_its_field(tmp_path: Path) -> None:
    found = governance(tmp_path, DEPRECATIONS)
    assert_found(
        found,
        [
            ("deprecation", "metrics.yml", 9, "'old_revenue' has no replaced_by and no sunset"),
            (
                "deprecation",
                "metrics.yml",
                15,
                "'older_revenue' is replaced by 'old_revenue', which is deprecated too",
            ),
            ("deprecation", "metrics.yml", 22, "'replaced_by: revenu' of metric 'typo_revenue'"),
            ("deprecation", "metrics.yml", 28, "'live_revenue' has 'replaced_by' but is draft"),
            ("deprecation", "metrics.yml", 29, "'live_revenue' has 'sunset' but is draft"),
            ("deprecation", "metrics.yml", 35, "'self_revenue' is replaced by itself"),
            ("deprecation", "metrics.yml", 41, "'half_revenue' has no sunset"),
        ],
    )
    assert all(d.level is Level.ERROR for d in found)
    assert "Did you mean 'revenue'?" in found[2].message
    assert "older_revenue -> old_revenue" in found[1].message


def test_a_chain_of_replacements_points_at_its_end(tmp_path: Path) -> None:
    metrics = """\
metrics:
  - {name: revenue, type: simple, measure: orders.revenue}
  - name: v2
    type: simple
    measure: orders.revenue
    filter: "channel = 'a'"
    status: deprecated
    replaced_by: revenue
    sunset: 2027-06-30
  - name: v1
    type: simple
    measure: orders.revenue
    filter: "channel = 'b'"
    status: deprecated
    replaced_by: v2
    sunset: 2027-06-30
"""
    [found] = governance(tmp_path, metrics)
    assert (found.code, found.line) == ("deprecation", 15)
    assert "(v1 -> v2 -> revenue)" in found.message
    assert found.hint == "set 'replaced_by: revenue' (the end of the chain) on 'v1'"


SUNSET = """\
metrics:
  - {name: revenue, type: simple, measure: orders.revenue}
  - name: old_revenue
    type: simple
    measure: orders.revenue
    filter: "channel = 'a'"
    status: deprecated
    replaced_by: revenue
    sunset: 2026-12-01
"""


def test_past_sunset_is_a_warning_at_the_date(tmp_path: Path) -> None:
    found = governance(tmp_path, SUNSET, today=dt.date(2026, 12, 4))
    assert_found(
        found,
        [
            (
                "past-sunset",
                "metrics.yml",
                9,
                "'old_revenue' is still defined 3 day(s) after its sunset date 2026-12-01",
            )
        ],
    )
    assert found[0].level is Level.WARNING
    assert "to 'revenue' and remove 'old_revenue'" in (found[0].hint or "")


@pytest.mark.parametrize("today", [dt.date(2026, 11, 30), dt.date(2026, 12, 1)])
def test_up_to_the_sunset_day_nothing_is_reported(tmp_path: Path, today: dt.date) -> None:
    assert governance(tmp_path, SUNSET, today=today) == []


def test_a_sunset_that_is_not_a_date_is_a_schema_error(tmp_path: Path) -> None:
    folder = write(tmp_path, SUNSET.replace("2026-12-01", "next spring"))
    _, found = ml.check(folder)
    assert [(d.code, d.line) for d in found] == [("schema", 9)]


# --- certified-uses-draft and certified-uses-deprecated ----------------------------------------

CHAINS = """\
metrics:
  - name: gross
    type: simple
    measure: orders.revenue
  - name: per_buyer
    type: ratio
    numerator: gross
    denominator: orders.buyers
    status: certified
  - name: per_buyer_growth
    type: derived
    expr: "per_buyer - last_week"
    inputs:
      - {metric: per_buyer}
      - {metric: per_buyer, alias: last_week, offset: 1 week}
    status: certified
  - name: lifetime_revenue
    type: simple
    measure: orders.revenue
    filter: "channel = 'web'"
    status: deprecated
    replaced_by: gross
    sunset: 2027-06-30
  - name: big_buyers
    type: simple
    measure: orders.buyers
    filter: "customer.lifetime_revenue > 100"
    status: certified
  - name: big_buyer_share
    type: ratio
    numerator: big_buyers
    denominator: orders.buyers
    status: certified
"""


def test_certified_chains_two_levels_deep(tmp_path: Path) -> None:
    found = governance(tmp_path, CHAINS)
    assert_found(
        found,
        [
            ("certified-uses-draft", "metrics.yml", 9, "certified 'per_buyer' uses draft 'gross'"),
            (
                "certified-uses-draft",
                "metrics.yml",
                16,
                "certified 'per_buyer_growth' uses 'per_buyer', which uses draft 'gross'",
            ),
            (
                "certified-uses-deprecated",
                "metrics.yml",
                28,
                "certified 'big_buyers' uses deprecated 'lifetime_revenue'",
            ),
            (
                "certified-uses-deprecated",
                "metrics.yml",
                33,
                "certified 'big_buyer_share' uses 'big_buyers', which uses deprecated "
                "'lifetime_revenue'",
            ),
        ],
    )
    assert [d.level for d in found] == [Level.WARNING, Level.WARNING, Level.ERROR, Level.ERROR]
    assert found[0].hint
    assert "certify 'gross'" in found[0].hint
    assert found[2].hint == "build on 'gross' instead of 'lifetime_revenue'"


def test_a_draft_in_between_is_reported_not_crossed(tmp_path: Path) -> None:
    metrics = """\
metrics:
  - {name: gross, type: simple, measure: orders.revenue}
  - {name: per_buyer, type: ratio, numerator: gross, denominator: orders.buyers}
  - name: share
    type: ratio
    numerator: per_buyer
    denominator: gross
    status: certified
"""
    assert_found(
        governance(tmp_path, metrics),
        [
            ("certified-uses-draft", "metrics.yml", 8, "certified 'share' uses draft 'per_buyer'"),
            ("certified-uses-draft", "metrics.yml", 8, "certified 'share' uses draft 'gross'"),
        ],
    )


# --- a clean project ---------------------------------------------------------------------------

CLEAN = """\
metrics:
  - name: revenue
    label: Revenue
    description: Order amounts, API orders excluded.
    owner: finance
    status: certified
    synonyms: [sales, turnover]
    type: simple
    measure: orders.revenue
    filter: "channel <> 'api'"
  - name: active_customers
    description: Customers who bought, test accounts excluded.
    owner: growth
    status: certified
    synonyms: [buyers]
    type: simple
    measure: orders.buyers
    filter: "NOT customer.is_test"
  - name: revenue_per_customer
    label: Revenue per active customer
    description: Revenue over active customers.
    owner: finance
    status: certified
    type: ratio
    numerator: revenue
    denominator: active_customers
  - name: api_revenue
    type: simple
    measure: orders.revenue
    filter: "channel = 'api'"
  - name: all_revenue
    description: Every order's amount.
    owner: finance
    status: deprecated
    replaced_by: revenue
    sunset: 2027-06-30
    type: simple
    measure: orders.revenue
  - name: d1_buyers
    type: rolling
    measure: orders.buyers
    window: 1 day
  - name: d7_buyers
    type: rolling
    measure: orders.buyers
    window: 7 days
"""


def test_a_clean_project_reports_nothing(tmp_path: Path) -> None:
    assert governance(tmp_path, CLEAN) == []
    assert ml.lock(tmp_path / "defs").written
    graph, found = ml.check(tmp_path / "defs")
    assert graph is not None
    assert found == []


def test_the_shipped_definitions_are_clean() -> None:
    graph, found = ml.check("definitions")
    assert graph is not None
    assert governance_checks(graph, today=TODAY) == []
    assert found == []
