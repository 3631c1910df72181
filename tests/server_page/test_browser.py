"""The catalogue page in Debian's headless Chromium, against the real app under uvicorn with the
demo DuckDB: it loads without console errors and only from the service, search filters the
list, a metric page draws its values and the grain picker asks for another grain, hostile
definitions are shown as text, and a secured service is read with the key typed in the page.

Skipped, with the reason, where /usr/bin/chromium is missing (docs/service.md).

The scenarios run as subtests of one test, so that one test process starts the browser and the
services once, whatever the number of pytest-xdist workers; each loads the page anew in one
browser tab (the secured service, on its own port, has storage of its own)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from .conftest import API_KEY, ARTIFACTS, HOSTILE, HOSTILE_CHANGE, Served, Watched, watching


@dataclass(frozen=True)
class Ctx:
    """What the scenarios use: the anonymous service, the secured one, and SQL on the demo."""

    served: Served
    secured: Served
    demo_sql: Callable[[str], list[tuple[object, ...]]]


LISTED = "#metric-list li[data-metric]"

# Pixels of the series' line (#2f6fdf, drawn opaque; the area under it is nearly transparent).
LINE_PIXELS = """() => {
  const canvas = document.querySelector("#chart canvas");
  if (!canvas) return 0;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let found = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
    const near = Math.abs(r - 47) < 30 && Math.abs(g - 111) < 30 && Math.abs(b - 223) < 30;
    if (a > 200 && near) found++;
  }
  return found;
}"""


def opened(watched: Watched, served: Served, where: str = "") -> Any:
    """The page loaded anew (not a move within the page already open) at ``where``."""
    page = watched.page
    page.goto("about:blank")
    page.goto(f"{served.url}/{where}")
    page.wait_for_selector(LISTED)
    return page


def listed(page: Any) -> list[str]:
    return list(page.eval_on_selector_all(LISTED, "items => items.map(i => i.dataset.metric)"))


def drawn(page: Any, grain: str) -> None:
    page.wait_for_selector(f"#chart[data-state=drawn][data-grain={grain}] canvas")


def queries(watched: Watched) -> list[dict[str, Any]]:
    return [json.loads(r.post_data) for r in watched.requests if r.url.endswith("/v1/query")]


def loads_from_the_service_alone_without_console_errors(watched: Watched, ctx: Ctx) -> None:
    served = ctx.served
    page = opened(watched, served)
    served_metrics = httpx.get(f"{served.url}/v1/metrics").json()["metrics"]
    assert listed(page) == [m["name"] for m in served_metrics]
    assert page.inner_text("#count") == f"{len(served_metrics)} metrics"
    assert page.inner_text("#overview h1") == "product_ops"
    assert watched.errors == []
    assert watched.requests
    assert all(r.url.startswith(served.url + "/") for r in watched.requests), [
        r.url for r in watched.requests
    ]


def search_filters_by_name_label_synonym_and_tag(watched: Watched, ctx: Ctx) -> None:
    served = ctx.served
    page = opened(watched, served)
    everything = listed(page)
    cases = {
        "actives": ["daily_active_users"],  # a synonym only
        "registrations": ["pro_signups", "registrations_old", "signups"],  # synonyms and a name
        "recurring revenue": ["mrr"],  # the words of a label
        "tag:north-star": ["daily_active_users", "monthly_active_users"],  # a tag, exactly
        "north": ["daily_active_users", "monthly_active_users"],  # part of a tag
        "mrr_growth": ["mrr_growth_rate"],  # part of a name
        "PRO_REG": ["pro_signups"],  # case does not matter
        "  wau  ": ["weekly_active_users"],
        "zzz": [],
    }
    for text, expected in cases.items():
        page.fill("#search", text)
        assert listed(page) == expected, text
        if expected:
            assert page.inner_text("#count") == f"{len(expected)} of {len(everything)} metrics"
    assert page.inner_text("#metric-list") == "No metric matches."
    page.fill("#search", "")
    assert listed(page) == everything
    page.click("#overview button.chip:has-text('north-star')")  # a tag chip searches for it
    assert page.input_value("#search") == "tag:north-star"
    assert listed(page) == ["daily_active_users", "monthly_active_users"]
    assert watched.errors == []


def a_metric_page_draws_recent_values_and_the_grain_picker_asks_again(
    watched: Watched, ctx: Ctx
) -> None:
    served = ctx.served
    page = opened(watched, served, "#/metric/signups")
    drawn(page, "week")
    assert page.eval_on_selector("#grain-week", "e => e.checked")
    assert page.evaluate(LINE_PIXELS) > 300
    assert queries(watched) == [
        {
            "metrics": ["signups"],
            "by": ["metric_time.week"],
            "order": ["-metric_time.week"],
            "limit": 52,
        }
    ]

    with page.expect_request(lambda r: r.url.endswith("/v1/query")) as asked:
        page.click("label[for=grain-month]")
    assert json.loads(asked.value.post_data) == {
        "metrics": ["signups"],
        "by": ["metric_time.month"],
        "order": ["-metric_time.month"],
        "limit": 24,
    }
    drawn(page, "month")
    assert page.evaluate(LINE_PIXELS) > 300
    page.click("#detail details.values summary")
    shown = page.eval_on_selector_all(
        ".values-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    months = ctx.demo_sql(
        "SELECT CAST(date_trunc('month', signed_up_at) AS DATE), COUNT(*) FROM users "
        "GROUP BY 1 ORDER BY 1 DESC LIMIT 24"
    )
    assert shown == [[str(month), str(count)] for month, count in months]
    assert page.get_attribute("#chart", "data-points") == str(len(months))
    latest_month, latest_count = months[0]
    assert page.inner_text("#chart-summary").startswith(
        f"Latest month ({latest_month}): {latest_count} · "
    )
    assert watched.errors == []

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "catalogue-page.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot of the catalogue page: {shot}")


def a_metric_without_a_fine_grain_offers_only_its_own(watched: Watched, ctx: Ctx) -> None:
    served = ctx.served
    page = opened(watched, served, "#/metric/net_revenue_retention")
    drawn(page, "month")
    assert page.eval_on_selector("#grain-day", "e => e.disabled")
    assert page.eval_on_selector("#grain-week", "e => e.disabled")
    assert queries(watched)[-1]["by"] == ["metric_time.month"]


def hostile_definitions_are_shown_as_text(watched: Watched, ctx: Ctx) -> None:
    served = ctx.served
    page = opened(watched, served, "#/metric/pro_signups")
    drawn(page, "week")
    text = page.inner_text("#detail")
    for literal in (HOSTILE, HOSTILE_CHANGE, "Pro signups <b>bold</b>", "<i>growth</i>"):
        assert literal in text, literal
    assert "<svg onload=alert(1)>" in page.inner_text("#detail .facts")
    assert page.evaluate("window.__pwned") is None
    injected = "script, img, b, i, svg, [onerror], [onload]"
    assert page.query_selector_all(f"#detail :is({injected})") == []
    assert page.query_selector_all(f"#metric-list :is({injected})") == []
    page.goto(f"{served.url}/#/")
    page.wait_for_selector("#overview h1")
    assert "<svg onload=alert(1)>" in page.inner_text("#overview")
    assert page.query_selector_all(f"#overview :is({injected})") == []
    assert page.evaluate("window.__pwned") is None
    assert watched.errors == []


def status_history_lineage_and_dimensions(watched: Watched, ctx: Ctx) -> None:
    served = ctx.served
    page = opened(watched, served, "#/metric/pro_signups")
    assert page.inner_text("#detail .note-draft").startswith("Draft.")
    assert page.inner_text("#detail .detail-head .badge") == "DRAFT"
    changelog = page.eval_on_selector_all(
        ".changelog li", "items => items.map(i => i.firstChild.textContent)"
    )
    assert changelog == ["v2", "v1"]
    assert "pro_signups@1" in page.inner_text("#detail")

    page.goto(f"{served.url}/#/metric/registrations_old")
    note = page.wait_for_selector("#detail .note-deprecated")
    assert note.inner_text() == "Deprecated. Use signups instead. Sunset: 2027-03-31."
    assert page.get_attribute("#detail .note-deprecated a", "href") == "#/metric/signups"
    assert page.get_attribute("li[data-metric=registrations_old]", "class") == ("status-deprecated")

    page.goto(f"{served.url}/#/metric/stickiness")
    page.wait_for_selector("#detail[data-metric=stickiness] .tree")
    tree = page.eval_on_selector_all(
        "#detail .tree li",
        "items => items.map(li => [li.parentElement.closest('li') ? 1 : 0, "
        "li.firstChild.textContent, li.querySelector('.kind').textContent])",
    )
    assert tree == [
        [0, "daily_active_users", "simple metric"],
        [1, "events.active_users", "measure"],
        [0, "monthly_active_users", "rolling metric"],
        [1, "events.active_users", "measure"],
    ]

    page.goto(f"{served.url}/#/metric/mrr")
    page.wait_for_selector("#detail[data-metric=mrr]")
    used_by = page.eval_on_selector_all(
        "#detail ul.plain a", "links => links.map(a => a.textContent)"
    )
    assert used_by == ["arpu", "mrr_growth_rate"]
    names = page.eval_on_selector_all(
        "table.dimensions tbody tr td:first-child code", "cells => cells.map(c => c.textContent)"
    )
    described = httpx.get(f"{served.url}/v1/metrics/mrr").json()
    assert names == [d["name"] for d in described["dimensions"]]
    assert watched.errors == []


def a_secured_service_is_read_with_the_key_typed_in_the_page(watched: Watched, ctx: Ctx) -> None:
    served_secured = ctx.secured
    page = watched.page
    page.goto("about:blank")
    page.goto(f"{served_secured.url}/")
    page.wait_for_selector("#credentials:not([hidden])")
    assert "needs a credential" in page.inner_text("#message")
    assert listed(page) == []

    page.fill("#credential-value", "not-a-key")
    page.click("#credentials-form button[type=submit]")
    page.wait_for_function("document.querySelector('#who').textContent === 'with an API key'")
    # The panel is still open: wait for the answer to the refused key itself.
    page.locator("#message", has_text="did not accept this credential").wait_for()
    assert page.inner_text("#message").startswith("The service did not accept this credential: ")
    assert listed(page) == []

    page.fill("#credential-value", API_KEY)
    page.click("#credentials-form button[type=submit]")
    page.wait_for_selector(LISTED)
    names = listed(page)
    assert "signups" in names
    assert "mrr" not in names
    assert "churned_mrr" not in names
    page.goto(f"{served_secured.url}/#/metric/signups")
    drawn(page, "week")
    sent = [r for r in watched.requests if r.url.endswith("/v1/query")]
    assert sent
    assert all(r.headers.get("x-api-key") == API_KEY for r in sent)
    assert API_KEY not in page.content()  # kept in session storage, not in the page

    page.goto(f"{served_secured.url}/#/metric/mrr")  # hidden: looks unknown
    page.locator("#message", has_text="is visible to you").wait_for()  # not "Loading..."
    assert page.inner_text("#message") == "No metric 'mrr' is visible to you."

    page.click("#credentials-toggle")
    page.click("#credential-forget")
    # The panel is open already: wait for the catalogue's answer to the request without a
    # credential (a 401), after which the list is emptied.
    page.locator("#message", has_text="needs a credential").wait_for()
    assert page.evaluate("sessionStorage.length") == 0
    assert listed(page) == []


SCENARIOS = [
    loads_from_the_service_alone_without_console_errors,
    search_filters_by_name_label_synonym_and_tag,
    a_metric_page_draws_recent_values_and_the_grain_picker_asks_again,
    a_metric_without_a_fine_grain_offers_only_its_own,
    hostile_definitions_are_shown_as_text,
    status_history_lineage_and_dimensions,
    a_secured_service_is_read_with_the_key_typed_in_the_page,
]


def test_the_catalogue_page_in_chromium(
    browser: Any,
    served: Served,
    served_secured: Served,
    demo_sql: Callable[[str], list[tuple[object, ...]]],
    subtests: Any,
) -> None:
    ctx = Ctx(served, served_secured, demo_sql)
    with watching(browser) as watched:
        for scenario in SCENARIOS:
            watched.reset()
            with subtests.test(scenario.__name__.replace("_", " ")):
                scenario(watched, ctx)
