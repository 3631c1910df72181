"""Experiment sizing and analysis on the metric definitions (docs/experiments.md).

``size`` works out what a test of a metric needs from the metric's own per-unit data;
``analyze`` reads a finished test from an assignment of units to variants. Both read their
numbers with ``layer.query``, so they are the numbers every other consumer of the layer sees.
"""

from __future__ import annotations

from metrics_layer.experiments.analysis import Arm, ExperimentResult, analyze
from metrics_layer.experiments.sizing import Effect, ExperimentPlan, parse_mde, size

__all__ = ["Arm", "Effect", "ExperimentPlan", "ExperimentResult", "analyze", "parse_mde", "size"]
