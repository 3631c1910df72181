/*
 * The metric catalogue page of metrics_layer's service: the list and its search, the start
 * page, and each metric's page.
 *
 * Everything it shows comes from the service's own API (GET /v1/metrics, POST /v1/query),
 * asked with the caller's credential (api.js), so it shows exactly what the caller's access
 * policy allows. Elements are built with DOM calls only (dom.js).
 */

import { api, credential, forgetCredential, keepCredential } from "./api.js";
import { chartSection, drawChart, dropChart } from "./chart.js";
import { $, append, badge, clear, code, el, metricHref, safeClass } from "./dom.js";
import { definitionInWords } from "./words.js";

const state = { project: "", metrics: [], byName: new Map(), usedBy: new Map() };

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
    keepCredential($("credential-kind").value, value);
    $("credential-value").value = "";
    showCredentials(false);
    load();
  });
  $("credential-forget").addEventListener("click", () => {
    forgetCredential();
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
      message(
        credential()
          ? "The service did not accept this credential: " + error.message
          : "This service needs a credential: enter an API key or a bearer token.",
        "warn",
      );
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
          {
            href: metricHref(metric.name),
            "aria-current": metric.name === current ? "page" : null,
          },
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
    total === 0
      ? ""
      : words.length
        ? shown.length + " of " + total + " metrics"
        : total + " metrics";
  if (total && !shown.length)
    list.appendChild(el("li", { class: "empty", text: "No metric matches." }));
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
      state.metrics.length +
        " metrics. Pick one on the left, or search by name, label, synonym or tag.",
    ),
    el("h2", { text: "Tags" }),
    el(
      "p",
      { class: "chips" },
      [...tags].map(([tag, n]) =>
        el(
          "button",
          { type: "button", class: "chip", onclick: () => searchFor("tag:" + tag) },
          tag + " ",
          el("span", { class: "n", text: String(n) }),
        ),
      ),
    ),
    el("h2", { text: "Owners" }),
    el(
      "p",
      { class: "chips" },
      [...owners].map(([owner, n]) =>
        el(
          "span",
          { class: "chip static" },
          owner + " ",
          el("span", { class: "n", text: String(n) }),
        ),
      ),
    ),
    el("h2", { text: "Status" }),
    el(
      "p",
      { class: "chips" },
      [...statuses].map(([status, n]) =>
        el(
          "span",
          { class: "chip static" },
          badge(status),
          " ",
          el("span", { class: "n", text: String(n) }),
        ),
      ),
    ),
  ]);
}

function countBy(values) {
  const counts = new Map();
  for (const value of values) counts.set(value, (counts.get(value) || 0) + 1);
  return new Map(
    [...counts].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0]))),
  );
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
      el(
        "h1",
        {},
        el("span", { class: "title", text: metric.label || metric.name }),
        " ",
        badge(metric.status),
      ),
      el(
        "p",
        { class: "name" },
        code(metric.name),
        " · ",
        metric.type,
        " metric · version ",
        String(metric.version),
      ),
    ),
    statusNote(metric),
    metric.description
      ? el("p", { class: "description", text: metric.description })
      : el("p", { class: "description none", text: "No description." }),
    facts(metric),
    chartSection(metric),
    el(
      "section",
      { class: "card" },
      el("h2", { text: "Definition" }),
      definitionInWords(metric, link),
    ),
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
      metric.replaced_by
        ? [" Use ", link(metric.replaced_by), " instead."]
        : " Do not build anything new on it.",
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
    [
      "Tags",
      metric.tags.length
        ? metric.tags.map((t) =>
            el("button", {
              type: "button",
              class: "chip",
              onclick: () => searchFor("tag:" + t),
              text: t,
            }),
          )
        : "–",
    ],
    ["Synonyms", metric.synonyms.length ? metric.synonyms.join(", ") : "–"],
    ["Defined in", metric.defined_in ? code(metric.defined_in) : "–"],
    ["Fingerprint", code(metric.fingerprint)],
  ];
  return el(
    "dl",
    { class: "facts" },
    rows.map(([term, value]) => [el("dt", { text: term }), el("dd", {}, value)]),
  );
}

// -- lineage, dimensions, history -------------------------------------------------------

function lineage(metric) {
  const upstream = el(
    "ul",
    { class: "tree" },
    metric.inputs.map((name) => lineageNode(name, new Set([metric.name]))),
  );
  const users = (state.usedBy.get(metric.name) || []).slice().sort();
  return [
    el("h3", { text: "Reads" }),
    metric.inputs.length ? upstream : el("p", { class: "none", text: "Nothing listed." }),
    el("h3", { text: "Used by" }),
    users.length
      ? el(
          "ul",
          { class: "plain" },
          users.map((name) => el("li", {}, link(name))),
        )
      : el("p", { class: "none", text: "No metric you can see is built on it." }),
  ];
}

/** An input: a metric (with what it reads, below it) or a measure (source.measure). */
function lineageNode(name, seen) {
  const base = baseName(name);
  const metric = state.byName.get(base);
  if (!metric) {
    const isMeasure = name.includes(".");
    return el(
      "li",
      {},
      code(name),
      el("span", { class: "kind", text: isMeasure ? "measure" : "metric" }),
    );
  }
  const below = seen.has(base)
    ? null
    : el(
        "ul",
        {},
        metric.inputs.map((input) => lineageNode(input, new Set([...seen, base]))),
      );
  return el(
    "li",
    {},
    link(name),
    el("span", { class: "kind", text: metric.type + " metric" }),
    below,
  );
}

function dimensions(metric) {
  const required = metric.required_dimensions;
  const rows = metric.dimensions.map((d) =>
    el(
      "tr",
      {},
      el(
        "td",
        {},
        code(d.name),
        required.includes(d.name) ? el("span", { class: "kind", text: "required" }) : null,
      ),
      el("td", { text: d.type }),
      el("td", {}, d.grains ? grainWords(d.grains) : ""),
      el("td", { text: d.description || d.label || "" }),
    ),
  );
  if (!rows.length) return el("p", { class: "none", text: "No dimension you can see." });
  return [
    el(
      "p",
      { class: "hint" },
      "The names a query of this metric can group and filter by",
      required.length ? " (it must be grouped by the required ones)." : ".",
    ),
    el(
      "div",
      { class: "scroll" },
      el(
        "table",
        { class: "dimensions" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["Name", "Type", "Grains", "About"].map((h) => el("th", { text: h })),
          ),
        ),
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
  const more = el("span", {
    class: "more",
    title: other.join(", "),
    text: "+ " + other.length + (other.length === 1 ? " period" : " periods"),
  });
  return [plain.join(", "), plain.length ? " " : "", more];
}

function history(metric) {
  const kept = metric.versions.filter((v) => v !== metric.version);
  const entries = metric.changelog
    .slice()
    .sort((a, b) => b.version - a.version || String(b.date).localeCompare(String(a.date)));
  return [
    el(
      "p",
      {},
      "Current version ",
      String(metric.version),
      kept.length
        ? [
            "; earlier versions still queryable: ",
            kept.map((v, i) => [i ? ", " : "", code(metric.name + "@" + v)]),
          ]
        : "",
      ".",
    ),
    entries.length
      ? el(
          "ol",
          { class: "changelog" },
          entries.map((entry) =>
            el(
              "li",
              {},
              el("span", { class: "version", text: "v" + entry.version }),
              el("time", { text: entry.date }),
              el("span", { class: "change", text: entry.change }),
            ),
          ),
        )
      : el("p", { class: "none", text: "No changelog entries." }),
  ];
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

start();
