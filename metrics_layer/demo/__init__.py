"""Deterministic embedded demo data set (product-analytics SaaS)."""

from __future__ import annotations

from metrics_layer.demo.data import (
    CHANNELS,
    COUNTRIES,
    DATA_VERSION,
    EVENT_TYPES,
    PERIOD_END,
    PERIOD_START,
    PLANS,
    PLATFORMS,
    SCHEMA,
    SEED,
    generate,
)
from metrics_layer.demo.model import Column, DemoData, Row, Table, Value
from metrics_layer.demo.store import create_demo, demo_path, ensure_demo, write_duckdb

__all__ = [
    "CHANNELS",
    "COUNTRIES",
    "DATA_VERSION",
    "EVENT_TYPES",
    "PERIOD_END",
    "PERIOD_START",
    "PLANS",
    "PLATFORMS",
    "SCHEMA",
    "SEED",
    "Column",
    "DemoData",
    "Row",
    "Table",
    "Value",
    "create_demo",
    "demo_path",
    "ensure_demo",
    "generate",
    "write_duckdb",
]
