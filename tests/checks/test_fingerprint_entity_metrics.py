"""Fingerprints of conversion, retention and churn metrics: every option of their definitions
changes them, names and spelling do not, and neither does how the compiler writes the rows
they derive. Each case is a text edit of one small project."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlglot import exp

import metrics_layer as ml
from metrics_layer.checks.explain import explainer
from metrics_layer.graph import entity_metrics
from metrics_layer.graph.graph import Graph

from .test_fingerprint import edited, prints

PROJECT = """\
project:
  name: app
  time_zone: Europe/Berlin
sources:
  - name: signups
    table: app.signups
    time: signed_up_at
    entities: [{name: user, key: user_id}, {name: account, key: account_id}]
    dimensions:
      - {name: signed_up_at, type: time}
      - {name: verified_at, type: time}
      - {name: channel}
      - {name: platform, expr: device_os}
    measures:
      - {name: signups, agg: count}
      - {name: verified_signups, agg: count, time: verified_at}
  - name: events
    table: app.events
    time: occurred_at
    entities: [{name: user, key: actor_id}, {name: account, key: account_id}]
    dimensions:
      - {name: occurred_at, type: time}
      - {name: logged_at, type: time}
      - {name: event_type}
      - {name: platform}
    measures:
      - {name: events, agg: count}
      - {name: logged_events, agg: count, time: logged_at}
      - {name: spend, agg: sum, expr: amount}
metrics:
  - name: activation
    type: conversion
    entity: user
    base: {measure: signups.signups, filter: "channel = 'ads'"}
    conversion: {measure: events.events, filter: "event_type = 'project_created'"}
    window: 7 days
    constant: [platform]
  - name: week_4_retention
    type: retention
    entity: user
    base: {measure: signups.signups}
    activity: {measure: events.events, filter: "event_type <> 'login'"}
    after: 4 weeks
  - name: weekly_cohorts
    type: retention
    entity: user
    base: {measure: signups.signups}
    activity: {measure: events.logged_events}
    cohort_periods: 8 weeks
  - name: monthly_churn
    type: churn
    entity: account
    activity: {measure: events.spend, filter: "event_type = 'payment'"}
    period: month
"""

ENTITY_METRICS = ("activation", "week_4_retention", "weekly_cohorts", "monthly_churn")


# The definition of the metric whose text starts with ``name: <metric>``: edits made inside it
# cannot touch another metric's text.
def in_metric(metric: str, old: str, new: str) -> str:
    start = PROJECT.index(f"  - name: {metric}\n")
    end = PROJECT.find("  - name:", start + 1)
    end = len(PROJECT) if end == -1 else end
    return PROJECT[:start] + edited(PROJECT[start:end], old, new) + PROJECT[end:]


# One case per option each type has: (metric, old text in its definition, new text).
OPTIONS = {
    "conversion: window": ("activation", "window: 7 days", "window: 8 days"),
    "conversion: base filter": ("activation", "channel = 'ads'", "channel = 'seo'"),
    "conversion: base measure": ("activation", "signups.signups", "signups.verified_signups"),
    "conversion: conversion filter": ("activation", "'project_created'", "'invite_sent'"),
    "conversion: conversion measure": ("activation", "events.events", "events.logged_events"),
    "conversion: constant": ("activation", "    constant: [platform]\n", ""),
    "conversion: entity": ("activation", "entity: user", "entity: account"),
    "conversion: calculation": (
        "activation",
        "window: 7 days\n",
        "window: 7 days\n    calculation: conversions\n",
    ),
    "conversion: fill_null": (
        "activation",
        "window: 7 days\n",
        "window: 7 days\n    fill_null: 0\n",
    ),
    "retention: after, number": ("week_4_retention", "after: 4 weeks", "after: 5 weeks"),
    "retention: after, period": ("week_4_retention", "after: 4 weeks", "after: 4 months"),
    "retention: on_or_after": (
        "week_4_retention",
        "after: 4 weeks\n",
        "after: 4 weeks\n    on_or_after: true\n",
    ),
    "retention: base filter": (
        "week_4_retention",
        "{measure: signups.signups}",
        "{measure: signups.signups, filter: \"channel = 'ads'\"}",
    ),
    "retention: base measure": (
        "week_4_retention",
        "signups.signups",
        "signups.verified_signups",
    ),
    "retention: activity filter": ("week_4_retention", "'login'", "'logout'"),
    "retention: activity measure": (
        "week_4_retention",
        "events.events",
        "events.logged_events",
    ),
    "retention: entity": ("week_4_retention", "entity: user", "entity: account"),
    "retention: calculation": (
        "week_4_retention",
        "after: 4 weeks\n",
        "after: 4 weeks\n    calculation: retained\n",
    ),
    "cohort table: number of periods": ("weekly_cohorts", "8 weeks", "9 weeks"),
    "cohort table: period": ("weekly_cohorts", "8 weeks", "8 months"),
    "cohort table: one period instead": (
        "weekly_cohorts",
        "cohort_periods: 8 weeks",
        "after: 8 weeks",
    ),
    "cohort table: on_or_after": (
        "weekly_cohorts",
        "cohort_periods: 8 weeks\n",
        "cohort_periods: 8 weeks\n    on_or_after: true\n",
    ),
    "cohort table: calculation": (
        "weekly_cohorts",
        "cohort_periods: 8 weeks\n",
        "cohort_periods: 8 weeks\n    calculation: cohort\n",
    ),
    "churn: period": ("monthly_churn", "period: month", "period: quarter"),
    "churn: activity filter": ("monthly_churn", "'payment'", "'refund'"),
    "churn: activity measure": ("monthly_churn", "events.spend", "events.events"),
    "churn: entity": ("monthly_churn", "entity: account", "entity: user"),
    "churn: calculation": (
        "monthly_churn",
        "period: month\n",
        "period: month\n    calculation: net_retention\n",
    ),
}


@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_each_option_changes_only_its_metric(tmp_path: Path, case: str) -> None:
    metric, old, new = OPTIONS[case]
    before = prints(tmp_path, PROJECT)
    after = prints(tmp_path, in_metric(metric, old, new))
    assert {name for name in before if before[name] != after[name]} == {metric}


# What the metrics read, edited in the sources and settings: (old, new, the metrics changed).
READ = {
    "the events' table": ("table: app.events", "table: app.events_v2", set(ENTITY_METRICS)),
    "the events' time": (
        "{name: occurred_at, type: time}",
        "{name: occurred_at, type: time, expr: created_at}",
        {"activation", "week_4_retention", "monthly_churn"},
    ),
    "a filtered dimension's expression": (
        "- {name: event_type}",
        "- {name: event_type, expr: lower(event_type)}",
        {"activation", "week_4_retention", "monthly_churn"},
    ),
    "a constant dimension's expression": (
        "{name: platform, expr: device_os}",
        "{name: platform, expr: os_name}",
        {"activation"},
    ),
    "the entity's key": (
        "{name: user, key: actor_id}",
        "{name: user, key: user_ref}",
        {"activation", "week_4_retention", "weekly_cohorts"},
    ),
    "the churn measure's expression": (
        "expr: amount}",
        "expr: amount - refunds}",
        {"monthly_churn"},
    ),
    "the churn measure's aggregation": (
        "{name: spend, agg: sum",
        "{name: spend, agg: count_distinct",
        {"monthly_churn"},
    ),
    "the churn measure semi-additive": (
        "expr: amount}",
        "expr: amount, semi_additive: last}",
        {"monthly_churn"},
    ),
    "the time zone": ("time_zone: Europe/Berlin", "time_zone: UTC", set(ENTITY_METRICS)),
    "the week start": (
        "time_zone: Europe/Berlin\n",
        "time_zone: Europe/Berlin\n  week_start: sunday\n",
        set(ENTITY_METRICS),
    ),
}


@pytest.mark.parametrize("case", sorted(READ))
def test_what_they_read_changes_exactly_the_metrics_reading_it(tmp_path: Path, case: str) -> None:
    old, new, touched = READ[case]
    before = prints(tmp_path, PROJECT)
    after = prints(tmp_path, edited(PROJECT, old, new))
    assert {name for name in before if before[name] != after[name]} == touched


# Rewritings that keep every metric's meaning: (old text, new text).
SAME = {
    "an event filter's spelling": ("\"event_type <> 'login'\"", "\"(event_type!='login')\""),
    "an event written as a block": (
        "    conversion: {measure: events.events, filter: \"event_type = 'project_created'\"}\n",
        "    conversion:\n      filter: \"'project_created' = event_type\"\n"
        "      measure: events.events\n",
    ),
    "label, owner, description": (
        "    type: churn\n",
        "    type: churn\n    label: Churn\n    owner: finance\n    description: Lost.\n",
    ),
    "the default calculation written": (
        "    period: month\n",
        "    period: month\n    calculation: rate\n",
    ),
    "a source renamed": ("- name: events\n", "- name: activity_log\n"),
}


@pytest.mark.parametrize("case", sorted(SAME))
def test_rewritings_keep_every_fingerprint(tmp_path: Path, case: str) -> None:
    old, new = SAME[case]
    text = edited(PROJECT, old, new)
    if case == "a source renamed":
        text = text.replace("events.", "activity_log.")
    assert prints(tmp_path, text) == prints(tmp_path, PROJECT)


@pytest.mark.parametrize("metric", ENTITY_METRICS)
def test_renaming_a_metric_keeps_its_fingerprint(tmp_path: Path, metric: str) -> None:
    before = prints(tmp_path, PROJECT)
    after = prints(tmp_path, edited(PROJECT, f"name: {metric}\n", "name: renamed\n"))
    assert after.pop("renamed") == before.pop(metric)
    assert after == before


def test_how_the_derived_rows_are_written_changes_no_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = prints(tmp_path, PROJECT)
    written = entity_metrics._with

    def wrapped(select: exp.Select, prefix: str, **ctes: exp.Query) -> exp.Select:
        """The same rows, read through one more SELECT: another SQL text, the same meaning."""
        rows = exp.Subquery(this=written(select, prefix, **ctes), alias=exp.to_identifier("rows"))
        return exp.select(exp.Star()).from_(rows)

    monkeypatch.setattr(entity_metrics, "_with", wrapped)
    after = prints(tmp_path, PROJECT)
    assert after == before


def graph_of(tmp_path: Path, name: str, text: str) -> Graph:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "metrics_layer.yml").write_text(text)
    return ml.load(folder).graph


@pytest.mark.parametrize(
    ("case", "told"),
    [
        ("retention: after, number", "after changed"),
        ("retention: on_or_after", "on_or_after changed"),
        ("conversion: window", "window changed"),
        ("conversion: conversion filter", "conversion event changed"),
        ("conversion: entity", "entity changed"),
        ("churn: period", "period changed"),
        ("churn: calculation", "calculation changed"),
    ],
)
def test_a_change_against_a_base_is_told_by_its_field(tmp_path: Path, case: str, told: str) -> None:
    metric, old, new = OPTIONS[case]
    before = graph_of(tmp_path, "before", PROJECT)
    after = graph_of(tmp_path, "after", in_metric(metric, old, new))
    assert explainer(before.fingerprints, after.fingerprints)(metric, metric) == told
