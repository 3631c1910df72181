/*
 * The metric catalogue page of metrics_layer's service.
 *
 * Everything it shows comes from the service's own API (GET /v1/metrics, POST /v1/query),
 * asked with the caller's credential (an API key or a bearer token typed into the page, or
 * none on an anonymous service), so it shows exactly what the caller's access policy allows.
 *
 * Every element is built with DOM calls and every text from the definitions is set as a text
 * node (never as HTML): a description holding "<script>" is shown as those characters.
 */
"use strict";

(function () {
  const GRAINS = ["day", "week", "month"];
  /** How many of the latest periods with values the chart shows, by grain. */
  const RECENT = { day: 90, week: 52, month: 24 };
  const CREDENTIAL = "metrics_layer.credential";

  const state = {
    project: "",
    metrics: [],
    byName: new Map(),
    usedBy: new Map(),
    grain: "week",
    chart: null,
    resize: null,
    asked: 0,
  };

  const $ = (id) => document.getElementById(id);

  // -- building elements ------------------------------------------------------------------

  /** An element with attributes and children; a string child becomes a text node. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function code(text) {
    return el("code", { text: text });
  }

  function metricHref(name) {
    return "#/metric/" + encodeURIComponent(name);
  }

  function badge(status) {
    return el("span", { class: "badge badge-" + safeClass(status), text: status });
  }

  function safeClass(text) {
    return String(text).toLowerCase().replace(/[^a-z0-9_-]/g, "");
  }

  const numbers = new Intl.NumberFormat("en", { maximumSignificantDigits: 6 });

  function formatValue(value) {
    if (value === null || value === undefined) return "–";
    const number = typeof value === "number" ? value : Number(value);
    return Number.isFinite(number) ? numbers.format(number) : String(value);
  }

  // -- credentials and the API ------------------------------------------------------------

  function credential() {
    try {
      const kept = JSON.parse(sessionStorage.getItem(CREDENTIAL) || "null");
      return kept && typeof kept.value === "string" && kept.value ? kept : null;
    } catch (error) {
      return null;
    }
  }

  function headers(json) {
    const out = { Accept: "application/json" };
    if (json) out["Content-Type"] = "application/json";
    const kept = credential();
    if (kept && kept.kind === "token") out.Authorization = "Bearer " + kept.value;
    else if (kept) out["X-API-Key"] = kept.value;
    return out;
  }

  class ApiError extends Error {
    constructor(status, body) {
      const detail = body && body.error ? body.error : null;
      super(detail && detail.message ? detail.message : "the service answered HTTP " + status);
      this.status = status;
      this.type = detail ? detail.type : null;
    }
  }

  async function api(path, body) {
    const init = { headers: headers(body !== undefined), credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      init.method = "POST";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function showCredentials(open) {
    $("credentials").hidden = !open;
    if (open) $("credential-value").focus();
  }

  function sayWho() {
    const kept = credential();
    $("who").textContent = kept
      ? "with " + (kept.kind === "token" ? "a bearer token" : "an API key")
      : "anonymous";
  }

  function setupCredentials() {
    $("credentials-toggle").addEventListener("click", () => showCredentials($("credentials").hidden));
    $("credentials-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("credential-value").value.trim();
      if (!value) return;
      sessionStorage.setItem(CREDENTIAL, JSON.stringify({ kind: $("credential-kind").value, value: value }));
      $("credential-value").value = "";
      showCredentials(false);
      load();
    });
    $("credential-forget").addEventListener("click", () => {
      sessionStorage.removeItem(CREDENTIAL);
      $("credential-value").value = "";
      load();
    });
    const kept = credential();
    if (kept) $("credential-kind").value = kept.kind === "token" ? "token" : "key";
  }

  function message(text, kind) {
    const box = $("message");
    box.hidden = !text;
    box.className = "message" + (kind ? " message-" + kind : "");
    box.textContent = text || "";
  }

  // -- the catalogue ----------------------------------------------------------------------

  async function load() {
    sayWho();
    message("Loading the catalogue…");
    let answer;
    try {
      answer = await api("/v1/metrics");
    } catch (error) {
      state.metrics = [];
      state.byName = new Map();
      renderList();
      $("overview").hidden = true;
      $("detail").hidden = true;
      if (error.status === 401) {
        message("This service needs a credential: enter an API key or a bearer token.", "warn");
        showCredentials(true);
      } else {
        message("The catalogue could not be loaded: " + error.message, "error");
      }
      return;
    }
    message("");
    state.project = answer.project;
    state.metrics = answer.metrics;
    state.byName = new Map(answer.metrics.map((m) => [m.name, m]));
    state.usedBy = new Map();
    for (const metric of answer.metrics) {
      for (const input of metric.inputs) {
        const name = baseName(input);
        if (!state.usedBy.has(name)) state.usedBy.set(name, []);
        state.usedBy.get(name).push(metric.name);
      }
    }
    $("project").textContent = answer.project;
    document.title = "Metric catalogue · " + answer.project;
    renderList();
    route();
  }

  function baseName(name) {
    return String(name).split("@")[0];
  }

  /** The search words: each must be found in the metric's name, label, synonyms or tags;
   * "tag:x" must be one of its tags exactly. */
  function matches(metric, words) {
    const fields = [metric.name, metric.label || "", ...metric.synonyms, ...metric.tags].map((f) =>
      f.toLowerCase(),
    );
    const tags = metric.tags.map((t) => t.toLowerCase());
    return words.every((word) =>
      word.startsWith("tag:")
        ? tags.includes(word.slice(4))
        : fields.some((field) => field.includes(word)),
    );
  }

  function searchWords() {
    return $("search").value.toLowerCase().split(/\s+/).filter(Boolean);
  }

  function renderList() {
    const words = searchWords();
    const shown = state.metrics.filter((m) => matches(m, words));
    const list = clear($("metric-list"));
    const current = currentMetricName();
    for (const metric of shown) {
      const also = metric.synonyms.length ? "also: " + metric.synonyms.join(", ") : "";
      list.appendChild(
        el(
          "li",
          { class: "status-" + safeClass(metric.status), "data-metric": metric.name },
          el(
            "a",
            { href: metricHref(metric.name), "aria-current": metric.name === current ? "page" : null },
            el("span", { class: "entry-label", text: metric.label || metric.name }),
            metric.status !== "certified" ? badge(metric.status) : null,
            el("span", { class: "entry-name", text: metric.name }),
            also ? el("span", { class: "entry-also", text: also }) : null,
          ),
        ),
      );
    }
    const total = state.metrics.length;
    $("count").textContent =
      total === 0 ? "" : words.length ? shown.length + " of " + total + " metrics" : total + " metrics";
    if (total && !shown.length) list.appendChild(el("li", { class: "empty", text: "No metric matches." }));
  }

  function searchFor(text) {
    $("search").value = text;
    renderList();
    location.hash = "#/";
  }

  // -- routing ----------------------------------------------------------------------------

  function currentMetricName() {
    const found = /^#\/metric\/(.+)$/.exec(location.hash);
    if (!found) return null;
    try {
      return decodeURIComponent(found[1]);
    } catch (error) {
      return null;
    }
  }

  function route() {
    if (!state.metrics.length) return;
    const name = currentMetricName();
    renderList();
    if (name === null) {
      renderOverview();
      return;
    }
    const metric = state.byName.get(name);
    if (!metric) {
      renderOverview();
      message("No metric '" + name + "' is visible to you.", "warn");
      return;
    }
    message("");
    renderDetail(metric);
  }

  function renderOverview() {
    dropChart();
    $("detail").hidden = true;
    const overview = clear($("overview"));
    overview.hidden = false;
    const owners = countBy(state.metrics.map((m) => m.owner || "no owner"));
    const tags = countBy(state.metrics.flatMap((m) => m.tags));
    const statuses = countBy(state.metrics.map((m) => m.status));
    append(overview, [
      el("h1", { text: state.project }),
      el(
        "p",
        { class: "lead" },
        state.metrics.length + " metrics. Pick one on the left, or search by name, label, synonym or tag.",
      ),
      el("h2", { text: "Tags" }),
      el(
        "p",
        { class: "chips" },
        [...tags].map(([tag, n]) =>
          el("button", { type: "button", class: "chip", onclick: () => searchFor("tag:" + tag) }, tag + " ", el("span", { class: "n", text: String(n) })),
        ),
      ),
      el("h2", { text: "Owners" }),
      el("p", { class: "chips" }, [...owners].map(([owner, n]) => el("span", { class: "chip static" }, owner + " ", el("span", { class: "n", text: String(n) })))),
      el("h2", { text: "Status" }),
      el("p", { class: "chips" }, [...statuses].map(([status, n]) => el("span", { class: "chip static" }, badge(status), " ", el("span", { class: "n", text: String(n) })))),
    ]);
  }

  function countBy(values) {
    const counts = new Map();
    for (const value of values) counts.set(value, (counts.get(value) || 0) + 1);
    return new Map([...counts].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0]))));
  }

  // -- one metric -------------------------------------------------------------------------

  function renderDetail(metric) {
    dropChart();
    $("overview").hidden = true;
    const detail = clear($("detail"));
    detail.hidden = false;
    detail.setAttribute("data-metric", metric.name);
    append(detail, [
      el(
        "header",
        { class: "detail-head" },
        el("h1", {}, el("span", { class: "title", text: metric.label || metric.name }), " ", badge(metric.status)),
        el("p", { class: "name" }, code(metric.name), " · ", metric.type, " metric · version ", String(metric.version)),
      ),
      statusNote(metric),
      metric.description ? el("p", { class: "description", text: metric.description }) : el("p", { class: "description none", text: "No description." }),
      facts(metric),
      chartSection(metric),
      el("section", { class: "card" }, el("h2", { text: "Definition" }), definitionInWords(metric)),
      el("section", { class: "card" }, el("h2", { text: "Inputs and lineage" }), lineage(metric)),
      el("section", { class: "card" }, el("h2", { text: "Valid dimensions" }), dimensions(metric)),
      el("section", { class: "card" }, el("h2", { text: "Version history" }), history(metric)),
    ]);
    window.scrollTo(0, 0);
    drawChart(metric);
  }

  function statusNote(metric) {
    if (metric.status === "deprecated") {
      return el(
        "p",
        { class: "note note-deprecated" },
        el("strong", { text: "Deprecated." }),
        metric.replaced_by ? [" Use ", link(metric.replaced_by), " instead."] : " Do not build anything new on it.",
        metric.sunset ? " Sunset: " + metric.sunset + "." : null,
      );
    }
    if (metric.status === "draft") {
      return el(
        "p",
        { class: "note note-draft" },
        el("strong", { text: "Draft." }),
        " Not certified yet: its definition and numbers may still change.",
      );
    }
    return null;
  }

  function link(name) {
    const base = baseName(name);
    return state.byName.has(base) ? el("a", { href: metricHref(base) }, code(name)) : code(name);
  }

  function facts(metric) {
    const rows = [
      ["Owner", metric.owner || "–"],
      ["Tags", metric.tags.length ? metric.tags.map((t) => el("button", { type: "button", class: "chip", onclick: () => searchFor("tag:" + t), text: t })) : "–"],
      ["Synonyms", metric.synonyms.length ? metric.synonyms.join(", ") : "–"],
      ["Defined in", metric.defined_in ? code(metric.defined_in) : "–"],
      ["Fingerprint", code(metric.fingerprint)],
    ];
    return el("dl", { class: "facts" }, rows.map(([term, value]) => [el("dt", { text: term }), el("dd", {}, value)]));
  }

  // -- the definition in words ------------------------------------------------------------

  /** A measure's aggregation in words: "the sum of `mrr` over `subscription_snapshots`". */
  const AGGREGATIONS = {
    count: (expr, source) => ["the number of ", code(source), " rows"],
    count_distinct: (expr, source) => ["the number of distinct ", code(expr), " in ", code(source)],
    sum: (expr, source) => ["the sum of ", code(expr), " over ", code(source)],
    avg: (expr, source) => ["the average ", code(expr), " over ", code(source)],
    min: (expr, source) => ["the smallest ", code(expr), " in ", code(source)],
    max: (expr, source) => ["the largest ", code(expr), " in ", code(source)],
    sum_boolean: (expr, source) => ["the number of ", code(source), " rows where ", code(expr)],
    median: (expr, source) => ["the median ", code(expr), " in ", code(source)],
    percentile: (expr, source, p) => ["the " + formatValue((p || 0) * 100) + "th percentile of ", code(expr), " in ", code(source)],
  };

  function measureWords(measure) {
    const source = measure.name.split(".")[0];
    const say = AGGREGATIONS[measure.agg];
    const words = say ? say(measure.expr || "", source, measure.percentile) : [measure.agg + " of ", code(measure.expr || "")];
    if (measure.semi_additive) words.push(" on the " + measure.semi_additive + " day of each period");
    return words;
  }

  /** Every measure a definition reads, once, with its time and description. */
  function measuresOf(definition) {
    const found = new Map();
    const add = (measure) => measure && found.set(measure.name, measure);
    add(definition.measure);
    for (const side of ["numerator", "denominator"]) if (definition[side]) add(definition[side].measure);
    for (const input of definition.inputs || []) add(input.measure);
    return [...found.values()];
  }

  function measureList(measures) {
    return el(
      "ul",
      { class: "measures" },
      measures.map((m) =>
        el(
          "li",
          {},
          code(m.name),
          m.description ? [" — ", m.description] : null,
          m.time ? el("span", { class: "kind", text: "timed by " + m.time }) : null,
        ),
      ),
    );
  }

  function inputWords(input) {
    const parts = [input.measure ? measureWords(input.measure) : link(input.name)];
    if (input.alias) parts.push(" as ", code(input.alias));
    if (input.offset) parts.push(", " + input.offset + " earlier");
    if (input.offset_to_grain) parts.push(", at the start of each " + input.offset_to_grain);
    return parts;
  }

  const ROLLUPS = {
    average: "the average over its periods",
    sum: "the sum over its periods",
    min: "the smallest over its periods",
    max: "the largest over its periods",
    last: "the value of its last day",
    first: "the value of its first day",
  };

  function definitionInWords(metric) {
    const d = metric.definition || {};
    const lines = [];
    const say = (...parts) => lines.push(el("p", {}, parts));
    switch (metric.type) {
      case "simple":
        say("Computes ", measureWords(d.measure), ".");
        if (d.per) say("Measured per ", d.per, "; a longer period shows ", ROLLUPS[d.rollup || "average"] || d.rollup, ".");
        break;
      case "rolling":
        say("Computes ", measureWords(d.measure), " over a trailing window of ", d.window || "?", " ending on (and including) each day.");
        say("A longer period shows ", ROLLUPS[d.rollup || "last"] || d.rollup, ".");
        break;
      case "cumulative":
        say(
          "Accumulates ",
          measureWords(d.measure),
          d.grain_to_date ? " from the first day of each " + d.grain_to_date + " up to and including each day" : " from the first day of the data up to and including each day",
          ".",
        );
        break;
      case "ratio":
        say("Divides ", inputWords(d.numerator), " by ", inputWords(d.denominator), ".");
        say("Each side is computed at the query's grain before dividing; a zero denominator gives an empty value.");
        break;
      case "derived":
        say("Computes ", code(d.expr || ""), " from:");
        lines.push(el("ul", {}, (d.inputs || []).map((i) => el("li", {}, inputWords(i)))));
        break;
      case "conversion":
        say("Of the ", d.entity, " entities with a base event in the period, the share that convert within ", d.window || "?", " (attributed to the base event's period).");
        say("Divides ", inputWords(d.numerator), " by ", inputWords(d.denominator), ".");
        break;
      case "retention":
        say("Of each cohort of ", d.entity, " entities (by their first base event), the share still active later.");
        if (d.cohort_table) say("A cohort table: grouped by ", code(d.cohort_period || "period"), " (the number of periods after the cohort's).");
        say("Divides ", inputWords(d.numerator), " by ", inputWords(d.denominator), ".");
        break;
      case "churn":
        say("Compares each ", d.period || "period", " of ", d.entity, " entities with the ", d.period || "period", " before.");
        say("Divides ", inputWords(d.numerator), " by ", inputWords(d.denominator), ".");
        break;
      default:
        say("A ", metric.type, " metric.");
    }
    if (d.filter) say("Only rows where ", code(d.filter), ".");
    if (d.fill_null !== null && d.fill_null !== undefined) say("An empty value is shown as ", code(String(d.fill_null)), ".");
    if (d.fill_periods) say("Periods without rows are shown (with the fill value).");
    const measures = measuresOf(d);
    if (measures.length) lines.push(el("h3", { text: measures.length > 1 ? "Measures" : "Measure" }), measureList(measures));
    return lines;
  }

  // -- lineage, dimensions, history -------------------------------------------------------

  function lineage(metric) {
    const upstream = el("ul", { class: "tree" }, metric.inputs.map((name) => lineageNode(name, new Set([metric.name]))));
    const users = (state.usedBy.get(metric.name) || []).slice().sort();
    return [
      el("h3", { text: "Reads" }),
      metric.inputs.length ? upstream : el("p", { class: "none", text: "Nothing listed." }),
      el("h3", { text: "Used by" }),
      users.length
        ? el("ul", { class: "plain" }, users.map((name) => el("li", {}, link(name))))
        : el("p", { class: "none", text: "No metric you can see is built on it." }),
    ];
  }

  /** An input: a metric (with what it reads, below it) or a measure (source.measure). */
  function lineageNode(name, seen) {
    const base = baseName(name);
    const metric = state.byName.get(base);
    if (!metric) {
      const isMeasure = name.includes(".");
      return el("li", {}, code(name), el("span", { class: "kind", text: isMeasure ? "measure" : "metric" }));
    }
    const below = seen.has(base)
      ? null
      : el("ul", {}, metric.inputs.map((input) => lineageNode(input, new Set([...seen, base]))));
    return el("li", {}, link(name), el("span", { class: "kind", text: metric.type + " metric" }), below);
  }

  function dimensions(metric) {
    const required = metric.required_dimensions;
    const rows = metric.dimensions.map((d) =>
      el(
        "tr",
        {},
        el("td", {}, code(d.name), required.includes(d.name) ? el("span", { class: "kind", text: "required" }) : null),
        el("td", { text: d.type }),
        el("td", {}, d.grains ? grainWords(d.grains) : ""),
        el("td", { text: d.description || d.label || "" }),
      ),
    );
    if (!rows.length) return el("p", { class: "none", text: "No dimension you can see." });
    return [
      el("p", { class: "hint" }, "The names a query of this metric can group and filter by", required.length ? " (it must be grouped by the required ones)." : "."),
      el(
        "div",
        { class: "scroll" },
        el(
          "table",
          { class: "dimensions" },
          el("thead", {}, el("tr", {}, ["Name", "Type", "Grains", "About"].map((h) => el("th", { text: h })))),
          el("tbody", {}, rows),
        ),
      ),
    ];
  }

  const CALENDAR_GRAINS = ["hour", "day", "week", "month", "quarter", "year"];

  /** "day, week, month, quarter, year + 6 periods": the other periods (fiscal, retail, ...)
   * named in the tooltip. */
  function grainWords(grains) {
    const plain = CALENDAR_GRAINS.filter((g) => grains.includes(g));
    const other = grains.filter((g) => !CALENDAR_GRAINS.includes(g));
    if (!other.length) return plain.join(", ");
    const more = el("span", { class: "more", title: other.join(", "), text: "+ " + other.length + (other.length === 1 ? " period" : " periods") });
    return [plain.join(", "), plain.length ? " " : "", more];
  }

  function history(metric) {
    const kept = metric.versions.filter((v) => v !== metric.version);
    const entries = metric.changelog.slice().sort((a, b) => b.version - a.version || String(b.date).localeCompare(String(a.date)));
    return [
      el(
        "p",
        {},
        "Current version ",
        String(metric.version),
        kept.length ? ["; earlier versions still queryable: ", kept.map((v, i) => [i ? ", " : "", code(metric.name + "@" + v)])] : "",
        ".",
      ),
      entries.length
        ? el(
            "ol",
            { class: "changelog" },
            entries.map((entry) =>
              el("li", {}, el("span", { class: "version", text: "v" + entry.version }), el("time", { text: entry.date }), el("span", { class: "change", text: entry.change })),
            ),
          )
        : el("p", { class: "none", text: "No changelog entries." }),
    ];
  }

  // -- the chart --------------------------------------------------------------------------

  function timeGrains(metric) {
    const time = metric.dimensions.find((d) => d.name === "metric_time");
    return time && time.grains ? GRAINS.filter((g) => time.grains.includes(g)) : [];
  }

  function chartSection(metric) {
    const grains = timeGrains(metric);
    const section = el("section", { class: "card chart-card" }, el("h2", { text: "Recent values" }));
    const missing = metric.required_dimensions.filter((d) => !d.startsWith("metric_time"));
    if (!grains.length || missing.length) {
      section.appendChild(
        el(
          "p",
          { class: "none" },
          missing.length
            ? ["No chart: a query of this metric must also be grouped by ", missing.map((d, i) => [i ? ", " : "", code(d)]), "."]
            : "No chart: this metric has no day, week or month grain.",
        ),
      );
      return section;
    }
    if (!grains.includes(state.grain)) state.grain = grains.includes("week") ? "week" : grains[grains.length - 1];
    const picker = el("div", { class: "grains", role: "radiogroup", "aria-label": "Grain" });
    for (const grain of GRAINS) {
      const id = "grain-" + grain;
      picker.appendChild(
        el(
          "label",
          { for: id, class: grains.includes(grain) ? null : "disabled" },
          el("input", {
            type: "radio",
            name: "grain",
            id: id,
            value: grain,
            checked: grain === state.grain,
            disabled: !grains.includes(grain),
            onchange: () => {
              state.grain = grain;
              drawChart(metric);
            },
          }),
          el("span", { text: grain }),
        ),
      );
    }
    append(section, [
      el("div", { class: "chart-bar" }, picker, el("span", { id: "chart-summary", class: "summary" })),
      el("div", { id: "chart", class: "chart", "data-state": "loading" }),
      el("details", { class: "values" }, el("summary", { text: "Values" }), el("div", { id: "chart-table", class: "scroll" })),
    ]);
    return section;
  }

  function dropChart() {
    if (state.resize) state.resize.disconnect();
    if (state.chart) state.chart.destroy();
    state.chart = null;
    state.resize = null;
  }

  /** Asks POST /v1/query for the latest periods of the grain, newest first, and draws them
   * oldest first. An answer that arrives after another request was sent is dropped. */
  async function drawChart(metric) {
    const box = $("chart");
    if (!box) return;
    const grain = state.grain;
    const by = "metric_time." + grain;
    const asked = ++state.asked;
    dropChart();
    box.setAttribute("data-state", "loading");
    box.setAttribute("data-grain", grain);
    clear(box).appendChild(el("p", { class: "none", text: "Loading…" }));
    let answer;
    try {
      answer = await api("/v1/query", { metrics: [metric.name], by: [by], order: ["-" + by], limit: RECENT[grain] });
    } catch (error) {
      if (asked !== state.asked) return;
      box.setAttribute("data-state", "error");
      clear(box).appendChild(el("p", { class: "error", text: "The values could not be computed: " + error.message }));
      return;
    }
    if (asked !== state.asked) return;
    const timeAt = answer.columns.findIndex((c) => c.name === by);
    const valueAt = answer.columns.findIndex((c) => c.name === metric.name);
    const rows = answer.rows.slice().reverse();
    const xs = rows.map((row) => Date.parse(row[timeAt] + "T00:00:00Z") / 1000);
    const ys = rows.map((row) => (row[valueAt] === null ? null : Number(row[valueAt])));
    clear(box);
    box.setAttribute("data-points", String(rows.length));
    renderTable(rows, timeAt, valueAt, grain, metric);
    const latest = rows.length ? rows[rows.length - 1] : null;
    $("chart-summary").textContent = latest
      ? "Latest " + grain + " (" + latest[timeAt] + "): " + formatValue(latest[valueAt]) + " · " + rows.length + " " + grain + "s"
      : "";
    if (!rows.length) {
      box.setAttribute("data-state", "empty");
      box.appendChild(el("p", { class: "none", text: "No values." }));
      return;
    }
    const options = {
      width: Math.max(box.clientWidth, 300),
      height: 280,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: "#5b6472", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#d9dde3" } },
        { stroke: "#5b6472", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#d9dde3" }, size: 64, values: (u, splits) => splits.map(formatValue) },
      ],
      series: [
        { label: grain, value: (u, ts) => (ts === null ? "–" : new Date(ts * 1000).toISOString().slice(0, 10)) },
        {
          label: metric.label || metric.name,
          stroke: "#2f6fdf",
          width: 2,
          fill: "rgba(47, 111, 223, 0.08)",
          points: { show: rows.length <= 60, size: 5, fill: "#2f6fdf" },
          value: (u, v) => formatValue(v),
        },
      ],
    };
    state.chart = new uPlot(options, [xs, ys], box);
    box.setAttribute("data-state", "drawn");
    state.resize = new ResizeObserver(() => {
      if (state.chart) state.chart.setSize({ width: Math.max(box.clientWidth, 300), height: 280 });
    });
    state.resize.observe(box);
  }

  function renderTable(rows, timeAt, valueAt, grain, metric) {
    const holder = clear($("chart-table"));
    holder.appendChild(
      el(
        "table",
        { class: "values-table" },
        el("thead", {}, el("tr", {}, el("th", { text: grain }), el("th", { class: "num", text: metric.name }))),
        el(
          "tbody",
          {},
          rows
            .slice()
            .reverse()
            .map((row) => el("tr", {}, el("td", { text: row[timeAt] }), el("td", { class: "num", text: formatValue(row[valueAt]) }))),
        ),
      ),
    );
  }

  // -- start ------------------------------------------------------------------------------

  function start() {
    setupCredentials();
    $("search").addEventListener("input", renderList);
    document.addEventListener("keydown", (event) => {
      if (event.key === "/" && document.activeElement.tagName !== "INPUT") {
        event.preventDefault();
        $("search").focus();
      }
    });
    window.addEventListener("hashchange", route);
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
