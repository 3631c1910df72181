"""The rows and the project the differential test runs on, as Python values and as YAML.

Three sources joined by entities: ``orders`` → ``users`` (through ``user``) → ``teams`` (through
``team``). The rows hold NULL in every kind of column, DECIMAL(10, 2) amounts with halves and
ties, strings that differ only by case or by a trailing space, an order whose user does not
exist and a user whose team does not exist, and instants on month, quarter and year ends, on a
Monday boundary and on both daylight-saving changes of Berlin and New York.

Each source's ``sql`` is a SELECT of literal rows, so nothing is written to any database. Order
times are written as time-zone-aware literals (each in some zone's offset) where the engine has
such a type, and as their UTC wall clock where it has not; user sign-ups are naive UTC times;
``shipped_on`` is a calendar date.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

__all__ = [
    "ORDERS",
    "PROJECTS",
    "TEAMS",
    "USERS",
    "Project",
    "definitions",
    "project_file",
]

UTC = dt.UTC


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _d(text: str) -> Decimal:
    return Decimal(text)


# team_id, name
TEAMS: tuple[dict[str, object], ...] = tuple(
    {"team_id": team_id, "name": name}
    for team_id, name in [(1, "Core"), (2, "core"), (3, None), (4, "Core ")]
)

# user_id, signed_up_at (UTC), country, plan, credit, is_active, team_id
# Comments give the local time where it differs in date, week, month, quarter or year.
USERS: tuple[dict[str, object], ...] = tuple(
    {
        "user_id": user_id,
        "signed_up_at": None if at is None else _utc(at),
        "country": country,
        "plan": plan,
        "credit": None if credit is None else _d(credit),
        "is_active": active,
        "team_id": team,
    }
    for user_id, at, country, plan, credit, active, team in [
        (1, "2025-12-31 23:30", "DE", "pro", "2.50", True, 1),  # Berlin: 2026-01-01 00:30
        (2, "2026-01-31 23:30", "de", "free", "0.50", False, 2),  # Berlin: Feb 1
        (3, "2026-03-02 03:00", "DE ", "Pro", "1.25", None, 1),  # New York: Sun Mar 1 22:00
        (4, "2026-03-08 06:30", "FR", "pro", "-2.50", True, 3),  # New York: 01:30 EST
        (5, "2026-03-29 00:30", "Fr", None, "10.00", False, None),  # Berlin: 01:30 CET
        (6, "2026-03-31 22:30", None, "free", None, True, 4),  # Berlin: Apr 1 (Q2)
        (7, "2026-10-25 01:30", "US", "enterprise", "3.50", True, 5),  # team 5 does not exist
        (8, None, "us", "pro", "2.50", None, 2),
        (9, "2026-11-01 06:30", "US", "free", "0.00", False, 1),  # New York: 01:30 EST
        (10, "2026-06-30 23:59", "de", "Free ", "7.25", True, 2),  # Berlin: Jul 1 (Q3)
        (11, "2026-01-04 23:30", "IT", "pro", "2.50", True, 3),  # Berlin: Monday Jan 5
        (12, "2026-12-31 23:00", "DE", "free", "1.50", False, 1),  # Berlin: 2027-01-01
    ]
)

# order_id, user_id, ordered_at (UTC), the zone its literal is written in, shipped_on, amount,
# status, quantity, is_gift
ORDERS: tuple[dict[str, object], ...] = tuple(
    {
        "order_id": order_id,
        "user_id": user,
        "ordered_at": None if at is None else _utc(at),
        "written_in": zone,
        "shipped_on": None if shipped is None else dt.date.fromisoformat(shipped),
        "amount": None if amount is None else _d(amount),
        "status": status,
        "quantity": quantity,
        "is_gift": gift,
    }
    for order_id, user, at, zone, shipped, amount, status, quantity, gift in [
        # Berlin: Feb 1 00:30; New York: Jan 31 18:30
        (1, 1, "2026-01-31 23:30", "Europe/Berlin", "2026-02-02", "10.00", "paid", 1, True),
        (2, 2, "2026-02-01 00:30", "UTC", "2026-02-01", "10.05", "Paid", 2, False),
        # Berlin: Sun Mar 1 00:30
        (3, 1, "2026-02-28 23:30", "America/New_York", "2026-03-01", "2.50", "paid", 1, None),
        # New York: Sat Feb 28 23:30
        (4, 3, "2026-03-01 04:30", "Europe/Berlin", None, "-2.50", "refunded", None, False),
        # New York: Mar 8 01:30 EST, then 03:30 EDT (02:xx is skipped)
        (5, 4, "2026-03-08 06:30", "America/New_York", "2026-03-09", "2.50", "paid ", 3, True),
        (6, 5, "2026-03-08 07:30", "America/New_York", "2026-03-09", "0.05", "PAID", 1, False),
        # Berlin: Mar 29 01:30 CET, then 03:30 CEST (02:xx is skipped)
        (7, 6, "2026-03-29 00:30", "Europe/Berlin", "2026-03-30", "99.99", "paid", 5, True),
        (8, 7, "2026-03-29 01:30", "Europe/Berlin", "2026-03-31", None, "paid", 2, None),
        # Berlin: Apr 1 00:30 (Q2)
        (9, 99, "2026-03-31 22:30", "UTC", "2026-04-01", "1.15", None, 1, False),
        # New York: Mar 31 23:30 EDT (Q1)
        (10, None, "2026-04-01 03:30", "America/New_York", "2026-04-02", "1.15", "paid", 1, True),
        # Berlin: Oct 25 02:30 CEST, then 02:30 CET again
        (11, 8, "2026-10-25 00:30", "Europe/Berlin", "2026-10-26", "2.50", "refunded", 2, False),
        (12, 9, "2026-10-25 01:30", "Europe/Berlin", "2026-10-26", "-0.50", "paid", 1, False),
        # Berlin: Sun Nov 1 00:30
        (13, 10, "2026-10-31 23:30", "UTC", "2026-11-02", "0.50", "paid", None, True),
        # New York: Nov 1 01:30 EDT, then 01:30 EST again
        (14, 11, "2026-11-01 05:30", "America/New_York", "2026-11-02", "7.25", "Paid", 4, False),
        (15, 12, "2026-11-01 06:30", "America/New_York", None, "7.25", "paid", 1, None),
        # Berlin: 2027-01-01 00:30; New York: Dec 31 18:30
        (16, 1, "2026-12-31 23:30", "Europe/Berlin", "2027-01-04", "12.34", "paid", 1, False),
        # New York: Dec 31 23:00
        (17, 2, "2027-01-01 04:00", "America/New_York", "2027-01-04", "5.00", "paid", 3, True),
        (18, 3, None, "UTC", None, "3.33", "paid", 1, False),
        # Two orders at the same instant, for ties
        (19, 4, "2026-02-15 12:00", "UTC", "2026-02-16", "10.00", "refunded", 2, True),
        (20, 4, "2026-02-15 12:00", "Europe/Berlin", "2026-02-16", "10.00", "paid", 2, False),
        # A Sunday evening in New York that is Monday in UTC and Berlin
        (21, 6, "2026-01-05 03:00", "America/New_York", "2026-01-05", "0.00", "paid", 0, True),
        (22, 11, "2026-06-30 22:00", "Europe/Berlin", "2026-07-01", "25.50", "refunded", 1, None),
    ]
)


# -- SQL of the rows --------------------------------------------------------------------------


def _text(value: object) -> str:
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def _number(value: object) -> str:
    return "NULL" if value is None else str(value)


def _boolean(value: object) -> str:
    return "NULL" if value is None else ("TRUE" if value else "FALSE")


def _cast(value: str, kind: str) -> str:
    return f"CAST({value} AS {kind})"


def _instant(row: dict[str, object], aware: bool) -> str:
    at = row["ordered_at"]
    if at is None:
        return "NULL"
    assert isinstance(at, dt.datetime)
    if not aware:
        return _text(at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))
    local = at.astimezone(ZoneInfo(str(row["written_in"])))
    return _text(local.isoformat(sep=" "))


def _select(rows: list[list[tuple[str, str]]]) -> str:
    """SELECT ... UNION ALL SELECT ...: column aliases on the first row only.

    Decimals are cast in every row: ClickHouse types a union of a DECIMAL and a plain number
    as a Variant, which AVG and SUM refuse.
    """
    selects = []
    for number, row in enumerate(rows):
        if number == 0:
            selects.append("SELECT " + ", ".join(f"{value} AS {name}" for name, value in row))
        else:
            selects.append("SELECT " + ", ".join(value for _, value in row))
    return " UNION ALL ".join(selects)


def teams_sql() -> str:
    return _select(
        [[("team_id", _number(t["team_id"])), ("name", _text(t["name"]))] for t in TEAMS]
    )


def users_sql() -> str:
    def at(value: object) -> str:
        if value is None:
            return "NULL"
        assert isinstance(value, dt.datetime)
        return _text(value.strftime("%Y-%m-%d %H:%M:%S"))

    return _select(
        [
            [
                ("user_id", _number(u["user_id"])),
                ("signed_up_at", _cast(at(u["signed_up_at"]), "TIMESTAMP")),
                ("country", _text(u["country"])),
                ("plan", _text(u["plan"])),
                ("credit", _cast(_number(u["credit"]), "DECIMAL(10, 2)")),
                ("is_active", _boolean(u["is_active"])),
                ("team_id", _number(u["team_id"])),
            ]
            for u in USERS
        ]
    )


def orders_sql(aware: bool) -> str:
    kind = "TIMESTAMPTZ" if aware else "TIMESTAMP"
    return _select(
        [
            [
                ("order_id", _number(o["order_id"])),
                ("user_id", _number(o["user_id"])),
                ("ordered_at", _cast(_instant(o, aware), kind)),
                ("shipped_on", _cast(_text(o["shipped_on"]), "DATE")),
                ("amount", _cast(_number(o["amount"]), "DECIMAL(10, 2)")),
                ("status", _text(o["status"])),
                ("quantity", _number(o["quantity"])),
                ("is_gift", _boolean(o["is_gift"])),
            ]
            for o in ORDERS
        ]
    )


# -- the project -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    """Project settings the test varies: the zone periods are cut in, and the first weekday."""

    time_zone: str
    week_start: str

    @property
    def id(self) -> str:
        return f"{self.time_zone.replace('/', '_')}-{self.week_start}"


PROJECTS = (
    Project("UTC", "monday"),
    Project("UTC", "sunday"),
    Project("Europe/Berlin", "monday"),
    Project("America/New_York", "wednesday"),
)


def project_file(project: Project) -> str:
    return (
        f"project:\n  name: differential\n  paths: [defs]\n"
        f"  time_zone: {project.time_zone}\n  week_start: {project.week_start}\n"
    )


def definitions(aware: bool) -> str:
    """The definitions file; order times are time-zone-aware literals when ``aware``."""
    return (
        textwrap.dedent(
            f"""\
        sources:
          - name: teams
            sql: "{teams_sql()}"
            entities: [{{name: team, key: team_id, primary: true}}]
            dimensions:
              - {{name: name}}
          - name: users
            sql: "{users_sql()}"
            time: signed_up_at
            entities:
              - {{name: user, key: user_id, primary: true}}
              - {{name: team, key: team_id}}
            dimensions:
              - {{name: signed_up_at, type: time, grain: hour}}
              - {{name: country}}
              - {{name: plan}}
              - {{name: credit}}
              - {{name: is_active, type: boolean}}
            measures:
              - {{name: signups, agg: count}}
              - {{name: countries, agg: count_distinct, expr: country}}
              - {{name: with_country, agg: count, expr: country}}
              - {{name: credit, agg: sum, expr: credit}}
              - {{name: average_credit, agg: avg, expr: credit}}
              - {{name: lowest_credit, agg: min, expr: credit}}
              - {{name: highest_credit, agg: max, expr: credit}}
              - {{name: active_users, agg: sum_boolean, expr: is_active}}
          - name: orders
            sql: "{orders_sql(aware)}"
            time: ordered_at
            entities:
              - {{name: order, key: order_id, primary: true}}
              - {{name: user, key: user_id}}
            dimensions:
              - {{name: ordered_at, type: time, grain: hour}}
              - {{name: shipped_on, type: time}}
              - {{name: amount}}
              - {{name: status}}
              - {{name: quantity}}
              - {{name: is_gift, type: boolean}}
            measures:
              - {{name: orders, agg: count}}
              - {{name: buyers, agg: count_distinct, expr: user_id}}
              - {{name: revenue, agg: sum, expr: amount}}
              - {{name: average_amount, agg: avg, expr: amount}}
              - {{name: smallest_order, agg: min, expr: amount}}
              - {{name: largest_order, agg: max, expr: amount}}
              - {{name: items, agg: sum, expr: quantity}}
              - {{name: gifts, agg: sum_boolean, expr: is_gift}}
        metrics:
        """
        )
        + METRICS_YAML
    )


METRICS_YAML = """\
  - {name: signups, type: simple, measure: users.signups}
  - {name: countries, type: simple, measure: users.countries}
  - {name: users_with_country, type: simple, measure: users.with_country}
  - {name: total_credit, type: simple, measure: users.credit}
  - {name: average_credit, type: simple, measure: users.average_credit}
  - {name: lowest_credit, type: simple, measure: users.lowest_credit}
  - {name: highest_credit, type: simple, measure: users.highest_credit}
  - {name: active_users, type: simple, measure: users.active_users}
  - {name: german_signups, type: simple, measure: users.signups, filter: "country = 'DE'"}
  - {name: orders, type: simple, measure: orders.orders}
  - {name: buyers, type: simple, measure: orders.buyers}
  - {name: revenue, type: simple, measure: orders.revenue}
  - {name: revenue_or_zero, type: simple, measure: orders.revenue, fill_null: 0}
  - {name: average_amount, type: simple, measure: orders.average_amount}
  - {name: smallest_order, type: simple, measure: orders.smallest_order}
  - {name: largest_order, type: simple, measure: orders.largest_order}
  - {name: items, type: simple, measure: orders.items}
  - {name: gift_orders, type: simple, measure: orders.gifts}
  - {name: paid_orders, type: simple, measure: orders.orders, filter: "status = 'paid'"}
  - {name: paid_revenue, type: simple, measure: orders.revenue, filter: "status = 'paid'"}
  - {name: big_orders, type: simple, measure: orders.orders, filter: "amount >= 10"}
  - {name: pro_buyers, type: simple, measure: orders.buyers, filter: "user.plan = 'pro'"}
  - {name: paid_share, type: ratio, numerator: paid_orders, denominator: orders}
  - {name: gift_share, type: ratio, numerator: orders.gifts, denominator: orders.orders}
  - {name: revenue_per_buyer, type: ratio, numerator: revenue, denominator: buyers}
  - {name: orders_per_signup, type: ratio, numerator: orders, denominator: signups}
  - name: pro_paid_share
    type: ratio
    numerator: paid_orders
    denominator: orders
    filter: "user.plan = 'pro'"
  - {name: unpaid_orders, type: derived, expr: "orders - paid_orders"}
  - {name: unpaid_revenue, type: derived, expr: "revenue - paid_revenue"}
  - {name: orders_minus_signups, type: derived, expr: "orders - signups"}
  - {name: revenue_per_order, type: derived, expr: "revenue / orders"}
  - {name: weighted_orders, type: derived, expr: "orders * 2 + big_orders"}
"""
