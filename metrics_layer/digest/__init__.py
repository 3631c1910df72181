"""The weekly KPI digest: each KPI's last complete week against the week before and the 4-week
average, a 13-week sparkline, anomalies and the biggest movers by a dimension, as Markdown for
chat and self-contained HTML for email (docs/digest.md)."""

from __future__ import annotations

from metrics_layer.digest.compute import Digest, KpiDigest, Mover, build, last_complete_week

__all__ = ["Digest", "KpiDigest", "Mover", "build", "last_complete_week"]
