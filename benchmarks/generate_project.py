"""Generate a large, realistic definitions project for load, check and compile benchmarks.

The project models a B2B commerce company: eleven sources joined many-to-one through entities
(``order_item -> order -> customer -> region`` and ``event -> user -> customer -> region`` are
multi-hop chains), about ten dimensions and twenty measures per source across every aggregation,
and any number of metrics (1,000 by default): mostly simple ones (many filtered, some over
joined dimensions such as ``customer.segment = 'enterprise'``), about 15% ratios and about 10%
derived metrics, spread over twenty files in domain folders.

Usage::

    python -m benchmarks.generate_project OUT_DIR [--metrics 1000] [--seed 7]

The output is deterministic for a given seed and metric count.
"""

from __future__ import annotations

import argparse
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["GeneratedMetric", "GeneratedProject", "generate_project", "main"]

PROJECT_NAME = "benchmark_commerce"
RATIO_SHARE = 0.15
DERIVED_SHARE = 0.10
METRIC_FILES = 20
OWNERS = ("growth", "finance", "sales_ops", "support", "product", "supply_chain")
AGGREGATIONS = ("sum", "avg", "min", "max", "median")


@dataclass(frozen=True)
class _Source:
    """The shape of one generated source; measures are derived from its columns."""

    name: str
    entity: str
    domain: str
    time: str
    grain: str
    links: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]
    flags: tuple[str, ...]
    numbers: tuple[str, ...]
    snapshot: bool = False
    description: str = ""


SOURCES: tuple[_Source, ...] = (
    _Source(
        name="regions",
        entity="region",
        domain="geography",
        time="opened_at",
        grain="day",
        links=(),
        categories={
            "region_name": ("north", "south", "east", "west", "central"),
            "continent": ("europe", "americas", "asia", "africa", "oceania"),
            "sales_territory": ("t1", "t2", "t3", "t4"),
            "currency": ("eur", "usd", "gbp", "jpy"),
            "market_tier": ("core", "growth", "emerging"),
            "launch_status": ("live", "beta", "planned"),
            "time_zone_group": ("utc_minus", "utc", "utc_plus"),
        },
        flags=("is_emea", "has_local_entity"),
        numbers=("population_m", "gdp_per_capita", "store_count", "tax_rate"),
        description="Sales regions.",
    ),
    _Source(
        name="customers",
        entity="customer",
        domain="sales",
        time="created_at",
        grain="hour",
        links=("region",),
        categories={
            "segment": ("enterprise", "mid_market", "smb", "self_serve"),
            "industry": ("retail", "software", "finance", "health", "education", "media"),
            "country": ("de", "fr", "us", "gb", "jp", "br", "in"),
            "size_band": ("1_10", "11_50", "51_200", "201_1000", "1000_plus"),
            "acquisition_channel": ("organic", "paid_search", "referral", "partner", "outbound"),
            "lifecycle_stage": ("trial", "active", "at_risk", "churned"),
        },
        flags=("is_enterprise", "is_active"),
        numbers=("employee_count", "annual_revenue", "credit_limit", "health_score"),
        description="Companies that buy from us.",
    ),
    _Source(
        name="users",
        entity="user",
        domain="product",
        time="signed_up_at",
        grain="hour",
        links=("customer",),
        categories={
            "role": ("admin", "editor", "viewer", "billing"),
            "plan": ("free", "starter", "pro", "enterprise"),
            "locale": ("en", "de", "fr", "ja", "pt"),
            "device": ("desktop", "mobile", "tablet"),
            "signup_source": ("invite", "website", "sso", "api"),
            "department": ("sales", "marketing", "engineering", "support", "finance"),
        },
        flags=("is_admin", "is_verified"),
        numbers=("seat_cost", "login_count", "session_minutes", "invites_sent"),
        description="People who log in, each belonging to one customer.",
    ),
    _Source(
        name="categories",
        entity="category",
        domain="catalogue",
        time="created_at",
        grain="day",
        links=(),
        categories={
            "category_name": ("hardware", "software", "services", "supplies", "training"),
            "department": ("it", "office", "facilities", "people"),
            "margin_band": ("low", "medium", "high"),
            "lifecycle": ("new", "mature", "sunset"),
        },
        flags=("is_digital", "is_regulated"),
        numbers=("target_margin", "product_count", "return_rate", "shelf_days"),
        description="Product categories.",
    ),
    _Source(
        name="products",
        entity="product",
        domain="catalogue",
        time="launched_at",
        grain="day",
        links=("category",),
        categories={
            "brand": ("acme", "globex", "initech", "umbrella", "hooli"),
            "product_line": ("core", "premium", "budget", "addon"),
            "unit_of_measure": ("each", "box", "license", "hour"),
            "supplier_country": ("cn", "de", "us", "vn", "mx"),
            "colour": ("black", "white", "grey", "blue"),
        },
        flags=("is_active", "is_bundle"),
        numbers=("list_price", "unit_cost", "weight_kg", "stock_level"),
        description="Things we sell.",
    ),
    _Source(
        name="orders",
        entity="order",
        domain="sales",
        time="ordered_at",
        grain="hour",
        links=("customer", "user"),
        categories={
            "status": ("placed", "paid", "shipped", "delivered", "cancelled", "returned"),
            "channel": ("web", "mobile", "sales_rep", "marketplace"),
            "payment_method": ("card", "invoice", "wire", "paypal"),
            "shipping_speed": ("standard", "express", "overnight"),
            "currency": ("eur", "usd", "gbp"),
        },
        flags=("is_first_order", "has_discount"),
        numbers=("amount", "discount_amount", "shipping_cost", "tax_amount"),
        description="Orders placed by customers' users.",
    ),
    _Source(
        name="order_items",
        entity="order_item",
        domain="sales",
        time="ordered_at",
        grain="hour",
        links=("order", "product"),
        categories={
            "fulfilment_status": ("pending", "picked", "packed", "shipped", "backordered"),
            "warehouse": ("ber", "ams", "chi", "sgp"),
            "price_type": ("list", "promo", "contract"),
            "gift_wrap": ("none", "standard", "premium"),
        },
        flags=("is_returned", "is_backordered"),
        numbers=("quantity", "unit_price", "line_amount", "line_cost"),
        description="Lines of orders, one product each.",
    ),
    _Source(
        name="subscriptions",
        entity="subscription",
        domain="finance",
        time="started_at",
        grain="hour",
        links=("customer", "product"),
        categories={
            "plan": ("starter", "pro", "business", "enterprise"),
            "billing_period": ("monthly", "annual", "multi_year"),
            "status": ("active", "paused", "cancelled", "expired"),
            "sales_motion": ("self_serve", "inside_sales", "field_sales"),
        },
        flags=("is_auto_renew", "is_trial"),
        numbers=("mrr", "seats", "discount_rate", "contract_value"),
        description="Recurring contracts for a product.",
    ),
    _Source(
        name="balances",
        entity="balance",
        domain="finance",
        time="snapshot_date",
        grain="day",
        links=("customer",),
        categories={
            "account_type": ("prepaid", "credit", "escrow"),
            "risk_grade": ("a", "b", "c", "d"),
            "collection_stage": ("current", "reminder", "dunning", "legal"),
        },
        flags=("is_overdue", "is_disputed"),
        numbers=("balance_amount", "overdue_amount", "credit_used", "days_outstanding"),
        snapshot=True,
        description="One row per customer account per day, as of the end of the day.",
    ),
    _Source(
        name="events",
        entity="event",
        domain="product",
        time="occurred_at",
        grain="hour",
        links=("user",),
        categories={
            "event_type": ("session_start", "page_view", "search", "add_to_cart", "export"),
            "platform": ("web", "ios", "android"),
            "browser": ("chrome", "firefox", "safari", "edge"),
            "feature": ("dashboards", "reports", "alerts", "api", "admin"),
            "app_version": ("v1", "v2", "v3"),
        },
        flags=("is_bot", "is_first_session"),
        numbers=("duration_ms", "page_depth", "payload_kb", "latency_ms"),
        description="Product events tracked from the apps.",
    ),
    _Source(
        name="tickets",
        entity="ticket",
        domain="support",
        time="opened_at",
        grain="hour",
        links=("customer", "user"),
        categories={
            "priority": ("low", "normal", "high", "urgent"),
            "ticket_channel": ("email", "chat", "phone", "portal"),
            "topic": ("billing", "bug", "how_to", "outage", "feature_request"),
            "team": ("tier1", "tier2", "engineering"),
            "ticket_status": ("open", "pending", "solved", "closed"),
        },
        flags=("is_escalated", "breached_sla"),
        numbers=(
            "first_response_minutes",
            "resolution_hours",
            "reopen_count",
            "satisfaction_score",
        ),
        description="Support tickets.",
    ),
)


@dataclass(frozen=True)
class GeneratedMetric:
    """What the benchmarks need to know about a generated metric."""

    name: str
    kind: str
    status: str
    sources: frozenset[str]
    file: str


@dataclass
class GeneratedProject:
    """A generated project on disk and an index of what it holds."""

    path: Path
    metrics: list[GeneratedMetric] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    measures: int = 0
    dimensions: int = 0
    files: int = 0

    def count(self, kind: str) -> int:
        return sum(1 for m in self.metrics if m.kind == kind)


def generate_project(
    out: str | Path, *, metrics: int = 1000, seed: int = 7, compound_filters: bool = True
) -> GeneratedProject:
    """Write a project with ``metrics`` metrics under ``out`` (created; files overwritten).

    ``compound_filters`` adds ``... AND own_dimension = 'x'`` to some filters over joined
    dimensions; without it every filter is a single comparison.
    """
    if metrics < 10:
        raise ValueError("generate at least 10 metrics")
    rng = random.Random(seed)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    project = GeneratedProject(path=root, sources=[s.name for s in SOURCES])
    reach = _reachable_entities()
    by_entity = {s.entity: s for s in SOURCES}

    source_docs: dict[str, list[dict[str, Any]]] = {}
    measures: dict[str, list[tuple[str, str]]] = {}
    for source in SOURCES:
        doc = _source_doc(source)
        measures[source.name] = [(m["name"], m["agg"]) for m in doc["measures"]]
        project.measures += len(doc["measures"])
        project.dimensions += len(doc["dimensions"])
        source_docs.setdefault(f"sources/{source.domain}/{source.name}.yml", []).append(doc)

    builder = _MetricBuilder(rng, reach, by_entity, compound_filters)
    n_ratio = round(metrics * RATIO_SHARE)
    n_derived = round(metrics * DERIVED_SHARE)
    n_simple = metrics - n_ratio - n_derived
    simple_sources = [s for s in SOURCES for _ in measures[s.name]]
    for source in SOURCES:
        for measure, agg in measures[source.name]:
            if len(builder.specs) < n_simple:
                builder.simple(source, measure, agg, filtered=False)
    while len(builder.specs) < n_simple:
        source = rng.choice(simple_sources)
        measure, agg = rng.choice(measures[source.name])
        builder.simple(source, measure, agg, filtered=True)
    while len(builder.specs) < n_simple + n_ratio:
        builder.ratio(rng.choice(SOURCES), measures)
    while len(builder.specs) < metrics:
        builder.derived()

    files = [f"metrics/{d}/{f}.yml" for d, f in _metric_file_names()]
    metric_docs: dict[str, list[dict[str, Any]]] = {f: [] for f in files}
    for index, spec in enumerate(builder.specs):
        file = files[index * len(files) // len(builder.specs)]
        metric_docs[file].append(spec)
        project.metrics.append(
            GeneratedMetric(
                spec["name"], spec["type"], spec["status"], builder.leaf_sources[spec["name"]], file
            )
        )

    _write(
        root / "metrics_layer.yml",
        {
            "project": {
                "name": PROJECT_NAME,
                "paths": ["sources", "metrics"],
                "week_start": "monday",
                "time_zone": "UTC",
            }
        },
    )
    for file, docs in source_docs.items():
        _write(root / file, {"sources": docs})
    for file, docs in metric_docs.items():
        _write(root / file, {"metrics": docs})
    project.files = 1 + len(source_docs) + len(metric_docs)
    return project


def _metric_file_names() -> list[tuple[str, str]]:
    domains = {
        "acquisition": ("signups", "funnels", "campaigns"),
        "engagement": ("activity", "features", "sessions", "quality"),
        "revenue": ("orders", "subscriptions", "margins", "balances"),
        "operations": ("fulfilment", "inventory", "catalogue"),
        "support": ("tickets", "sla", "satisfaction"),
        "executive": ("kpis", "board", "health"),
    }
    names = [(d, f) for d, files in domains.items() for f in files]
    return names[:METRIC_FILES]


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")


def _reachable_entities() -> dict[str, dict[str, int]]:
    """For each source: the entities reachable many-to-one, with their hop count."""
    by_entity = {s.entity: s for s in SOURCES}
    found: dict[str, dict[str, int]] = {}
    for source in SOURCES:
        hops: dict[str, int] = {source.entity: 0}
        queue: deque[tuple[_Source, int]] = deque([(source, 0)])
        while queue:
            current, depth = queue.popleft()
            for link in current.links:
                if link not in hops:
                    hops[link] = depth + 1
                    queue.append((by_entity[link], depth + 1))
        found[source.name] = hops
    return found


def _source_doc(source: _Source) -> dict[str, Any]:
    entities: list[dict[str, Any]] = [
        {"name": source.entity, "key": f"{source.entity}_id", "primary": True}
    ]
    entities.extend({"name": link, "key": f"{link}_id"} for link in source.links)
    dimensions: list[dict[str, Any]] = [
        {
            "name": source.time,
            "type": "time",
            "grain": source.grain,
            "label": source.time.replace("_", " ").capitalize(),
        }
    ]
    dimensions.extend(
        {"name": name, "description": f"One of: {', '.join(values)}."}
        for name, values in source.categories.items()
    )
    dimensions.extend({"name": flag, "type": "boolean"} for flag in source.flags)
    first = source.numbers[0]
    dimensions.append(
        {
            "name": f"{first}_band",
            "expr": f"CASE WHEN {first} >= 1000 THEN 'large' WHEN {first} >= 100 THEN 'medium' "
            "ELSE 'small' END",
            "description": f"{first.replace('_', ' ').capitalize()} in three bands.",
        }
    )
    return {
        "name": source.name,
        "description": source.description,
        "table": f"analytics.{source.name}",
        "time": source.time,
        "entities": entities,
        "dimensions": dimensions,
        "measures": _measures(source),
    }


def _measures(source: _Source) -> list[dict[str, Any]]:
    noun = source.name.replace("_", " ")
    measures: list[dict[str, Any]] = [
        {"name": "row_count", "agg": "count", "description": f"Number of {noun}."},
        {
            "name": f"distinct_{source.entity}s",
            "agg": "count_distinct",
            "expr": f"{source.entity}_id",
            "description": f"Distinct {noun}.",
        },
    ]
    measures.extend(
        {
            "name": f"distinct_{link}s",
            "agg": "count_distinct",
            "expr": f"{link}_id",
            "description": f"Distinct {link.replace('_', ' ')}s with {noun}.",
        }
        for link in source.links
    )
    measures.extend(
        {
            "name": f"{flag}_count",
            "agg": "sum_boolean",
            "expr": flag,
            "description": f"{noun.capitalize()} where {flag.replace('_', ' ')}.",
        }
        for flag in source.flags
    )
    for column in source.numbers:
        for agg in AGGREGATIONS:
            prefix = {"sum": "total", "avg": "avg", "min": "min", "max": "max", "median": "median"}[
                agg
            ]
            measure: dict[str, Any] = {"name": f"{prefix}_{column}", "agg": agg}
            if agg == "sum" and column == source.numbers[0] and len(source.numbers) > 1:
                measure["expr"] = f"COALESCE({column}, 0)"
            if source.snapshot and agg in ("sum", "max"):
                measure["semi_additive"] = "last"
            measures.append(measure)
            if len(measures) >= 20:
                return measures
    return measures


class _MetricBuilder:
    """Accumulates metric specs and the sources each one reads."""

    def __init__(
        self,
        rng: random.Random,
        reach: dict[str, dict[str, int]],
        by_entity: dict[str, _Source],
        compound: bool,
    ) -> None:
        self.rng = rng
        self.compound = compound
        self.reach = reach
        self.by_entity = by_entity
        self.specs: list[dict[str, Any]] = []
        self.names: set[str] = set()
        self.leaf_sources: dict[str, frozenset[str]] = {}
        self.inputs: list[str] = []
        self.deprecated: set[str] = set()
        self.status: dict[str, str] = {}
        # The first metric over each measure that is not deprecated: what a deprecated one
        # over the same measure is replaced by.
        self.successor: dict[str, str] = {}
        self.seen: set[tuple[str, ...]] = set()

    def _fresh(self, *key: str) -> bool:
        """False when the same computation was generated before (same KPI, two names)."""
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def _name(self, *parts: str) -> str:
        base = "_".join(p for p in parts if p)[:58].rstrip("_")
        name, suffix = base, 2
        while name in self.names:
            name = f"{base}_{suffix}"
            suffix += 1
        self.names.add(name)
        return name

    def _governance(
        self, name: str, kind: str, description: str, uses: Sequence[str] = (), measure: str = ""
    ) -> dict[str, Any]:
        rng = self.rng
        roll = rng.random()
        status = "certified" if roll < 0.5 else "draft"
        if kind == "simple" and roll > 0.95:
            status = "deprecated"
        if status == "certified" and any(self.status[u] != "certified" for u in uses):
            status = "draft"  # certified only on certified inputs
        replacement = self.successor.get(measure) or (self.inputs[-1] if self.inputs else None)
        if status == "deprecated" and replacement is None:
            status = "draft"  # nothing to be replaced by yet
        spec: dict[str, Any] = {
            "name": name,
            "label": name.replace("_", " ").capitalize(),
            "description": description,
            "owner": rng.choice(OWNERS),
            "status": status,
            "type": kind,
        }
        if rng.random() < 0.3:
            spec["tags"] = sorted(rng.sample(["kpi", "board", "weekly_review", "okr", "ops"], 2))
        if rng.random() < 0.2:
            spec["version"] = 2
            spec["changelog"] = [
                {"version": 1, "date": "2025-03-01", "change": "First definition."},
                {"version": 2, "date": "2025-09-15", "change": "Excludes test accounts."},
            ]
        else:
            spec["version"] = 1
            spec["changelog"] = [
                {"version": 1, "date": "2025-03-01", "change": "First definition."}
            ]
        if status == "deprecated":
            spec["replaced_by"] = replacement
            spec["sunset"] = "2030-06-30"
            self.deprecated.add(name)
        else:
            self.inputs.append(name)
            if measure:
                self.successor.setdefault(measure, name)
        self.status[name] = status
        return spec

    def _filter(self, source: _Source) -> tuple[str, str, str]:
        """A filter over the source's own or joined dimensions, a short name for it, and the
        filter as the key of what it computes (``product.x`` and ``x`` are one dimension on the
        products source)."""
        rng = self.rng
        reachable = sorted(self.reach[source.name].items())
        entity, hops = rng.choice(reachable)
        target = self.by_entity[entity]
        use_flag = rng.random() < 0.25
        prefix = "" if hops == 0 and rng.random() < 0.5 else f"{entity}."
        if use_flag:
            flag = rng.choice(target.flags)
            return f"{prefix}{flag} = TRUE", flag, f"{entity}.{flag} = TRUE"
        dimension = rng.choice(sorted(target.categories))
        values = target.categories[dimension]
        if rng.random() < 0.3:
            chosen = sorted(rng.sample(values, 2))
            listed = ", ".join(f"'{v}'" for v in chosen)
            text = f"{prefix}{dimension} IN ({listed})"
            tag = f"{dimension}_{chosen[0]}_or_{chosen[1]}"
        elif rng.random() < 0.15:
            value = rng.choice(values)
            text = f"{prefix}{dimension} <> '{value}'"
            tag = f"non_{value}"
        else:
            value = rng.choice(values)
            text = f"{prefix}{dimension} = '{value}'"
            tag = value
        if hops and rng.random() < 0.2 and self.compound:
            own = rng.choice(sorted(source.categories))
            value = rng.choice(source.categories[own])
            text = f"{text} AND {own} = '{value}'"
            tag = f"{tag}_{value}"
        return text, tag, f"{entity}.{text.removeprefix(prefix)}"

    def simple(self, source: _Source, measure: str, agg: str, *, filtered: bool) -> None:
        condition, tag, key = self._filter(source) if filtered else (None, "", "")
        if not self._fresh(source.name, measure, key):
            return
        name = self._name(source.name, measure, tag)
        description = f"{measure.replace('_', ' ').capitalize()} of {source.name.replace('_', ' ')}"
        description += f", where {condition}." if condition else "."
        spec = self._governance(name, "simple", description, measure=f"{source.name}.{measure}")
        spec["measure"] = f"{source.name}.{measure}"
        if condition:
            spec["filter"] = condition
        if (
            filtered
            and agg == "count_distinct"
            and not source.snapshot
            and self.rng.random() < 0.25
        ):
            spec["per"] = "day"
            spec["rollup"] = "average"
            spec["description"] += " Measured per day, averaged over longer periods."
        self.specs.append(spec)
        self.leaf_sources[name] = frozenset({source.name})

    def ratio(self, source: _Source, measures: dict[str, list[tuple[str, str]]]) -> None:
        rng = self.rng
        own = [m for m, agg in measures[source.name] if agg in ("sum", "count", "sum_boolean")]
        counts = [m for m, agg in measures[source.name] if agg in ("count", "count_distinct")]
        if rng.random() < 0.6:
            numerator, denominator = rng.choice(own), rng.choice(counts)
            if numerator == denominator:
                numerator = own[0] if own[0] != denominator else own[-1]
            condition, _, key = self._filter(source) if rng.random() < 0.3 else ("", "", "")
            if not self._fresh(source.name, numerator, denominator, key):
                return
            name = self._name(source.name, numerator, "per", denominator)
            spec = self._governance(
                name, "ratio", f"{numerator} per {denominator} of {source.name}."
            )
            spec["numerator"] = f"{source.name}.{numerator}"
            spec["denominator"] = f"{source.name}.{denominator}"
            if condition:
                spec["filter"] = condition
            leaves = frozenset({source.name})
        else:
            first, second = rng.sample(self.inputs, 2)
            if not self._fresh("ratio", first, second):
                return
            name = self._name(first[:28], "over", second[:28])
            spec = self._governance(
                name, "ratio", f"{first} divided by {second}.", uses=(first, second)
            )
            spec["numerator"] = first
            spec["denominator"] = second
            leaves = self.leaf_sources[first] | self.leaf_sources[second]
        self.specs.append(spec)
        self.leaf_sources[name] = leaves

    def derived(self) -> None:
        rng = self.rng
        count = rng.choice((2, 2, 3))
        names = rng.sample(self.inputs, count)
        a, b = names[0], names[1]
        shapes = (
            (f"{a} - {b}", "difference"),
            (f"{a} + {b}", "sum"),
            (f"({a} - {b}) / {b}", "change"),
            (f"{a} * 100 / {b}", "pct"),
        )
        expr, word = rng.choice(shapes)
        if count == 3:
            expr, word = f"({a} + {b}) / {names[2]}", "blend"
        # A sum is the same whichever term comes first.
        key = expr if word not in ("sum", "blend") else f"{word} {sorted((a, b))} {names[2:]}"
        if not self._fresh("derived", key):
            return
        name = self._name("kpi", word, a[:24], b[:24])
        spec = self._governance(name, "derived", f"Derived: {expr}.", uses=names)
        spec["expr"] = expr
        self.specs.append(spec)
        self.leaf_sources[name] = frozenset().union(*(self.leaf_sources[n] for n in names))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path, help="folder to write the project into")
    parser.add_argument("--metrics", type=int, default=1000, help="number of metrics")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-compound-filters", action="store_true", help="only single-comparison filters (no AND)"
    )
    args = parser.parse_args(argv)
    project = generate_project(
        args.out,
        metrics=args.metrics,
        seed=args.seed,
        compound_filters=not args.no_compound_filters,
    )
    print(
        f"{project.path}: {len(project.metrics)} metrics ({project.count('simple')} simple, "
        f"{project.count('ratio')} ratio, {project.count('derived')} derived), "
        f"{len(project.sources)} sources, {project.measures} measures, "
        f"{project.dimensions} dimensions, {project.files} files"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
