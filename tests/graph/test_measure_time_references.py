"""A measure's ``time``: it must name a time dimension of the measure's own source."""

from __future__ import annotations

import pytest
from projects import WriteProject

import metrics_layer as ml
from metrics_layer.errors import Diagnostic


def said(diagnostic: Diagnostic) -> str:
    """A diagnostic's message and hint, as its one-line form joins them."""
    return f"{diagnostic.message}; {diagnostic.hint}" if diagnostic.hint else diagnostic.message


SOURCE = """\
sources:
  - name: subscriptions
    table: subscriptions
    time: started_at
    entities:
      - {name: subscription, key: subscription_id, primary: true}
    dimensions:
      - {name: started_at, type: time}
      - {name: ended_at, type: time}
      - {name: plan}
    measures:
      - {name: cancellations, agg: count, time: TIME}
"""


def errors(text: str, write_project: WriteProject) -> list[Diagnostic]:
    _, found = ml.check(write_project({"a.yml": text}))
    return [d for d in found if d.level is ml.Level.ERROR]


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        (
            "endedat",
            "time 'endedat' is not a time dimension of source 'subscriptions'; Did you "
            "mean 'ended_at'?",
        ),
        ("plan", "time 'plan' is not a time dimension of source 'subscriptions'; Name"),
        ("user_id", "time 'user_id' is not a time dimension"),
    ],
)
def test_time_names_a_time_dimension_of_the_source(
    write_project: WriteProject, time: str, expected: str
) -> None:
    [diagnostic] = errors(SOURCE.replace("TIME", time), write_project)
    assert expected in said(diagnostic)
    assert "Name one of its dimensions with 'type: time'" in said(diagnostic)
    assert diagnostic.line == 12
    assert str(diagnostic.file).endswith("a.yml")


def test_time_of_another_source_is_refused(write_project: WriteProject) -> None:
    other = SOURCE.replace("TIME", "signed_up_at") + (
        "  - name: users\n"
        "    table: users\n"
        "    dimensions:\n"
        "      - {name: signed_up_at, type: time}\n"
    )
    [diagnostic] = errors(other, write_project)
    assert "time 'signed_up_at' is not a time dimension of source 'subscriptions'" in (
        said(diagnostic)
    )


def test_time_must_be_a_name(write_project: WriteProject) -> None:
    [diagnostic] = errors(SOURCE.replace("TIME", "'ended_at.month'"), write_project)
    assert diagnostic.line == 12
    assert diagnostic.message == (
        "source 'subscriptions', measure 'cancellations': time: 'ended_at.month' is not a "
        "valid name"
    )


def test_a_semi_additive_measure_may_take_its_time_from_the_measure(
    write_project: WriteProject,
) -> None:
    text = SOURCE.replace("    time: started_at\n", "").replace(
        "{name: cancellations, agg: count, time: TIME}",
        "{name: balance, agg: sum, semi_additive: last, time: ended_at}",
    )
    assert errors(text, write_project) == []


def test_the_measure_time_is_resolved(write_project: WriteProject) -> None:
    text = SOURCE.replace("TIME", "ended_at") + "      - {name: starts, agg: count}\n"
    graph, _ = ml.check(write_project({"a.yml": text}))
    assert graph is not None
    measures = graph.sources["subscriptions"].measures
    assert (measures["cancellations"].time, measures["starts"].time) == ("ended_at", "started_at")
