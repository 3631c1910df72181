/*
 * "Recent values": a chart of one metric by metric_time, drawn with uPlot (vendored in
 * uplot/), with a grain picker; each grain is one POST /v1/query for the latest periods.
 */

import { api } from "./api.js";
import { $, append, clear, code, el, formatValue } from "./dom.js";

const GRAINS = ["day", "week", "month"];
/** How many of the latest periods with values the chart shows, by grain. */
const RECENT = { day: 90, week: 52, month: 24 };

const state = { grain: "week", chart: null, resize: null, asked: 0 };

function timeGrains(metric) {
  const time = metric.dimensions.find((d) => d.name === "metric_time");
  return time && time.grains ? GRAINS.filter((g) => time.grains.includes(g)) : [];
}

export function chartSection(metric) {
  const grains = timeGrains(metric);
  const section = el("section", { class: "card chart-card" }, el("h2", { text: "Recent values" }));
  const missing = metric.required_dimensions.filter((d) => !d.startsWith("metric_time"));
  if (!grains.length || missing.length) {
    section.appendChild(
      el(
        "p",
        { class: "none" },
        missing.length
          ? [
              "No chart: a query of this metric must also be grouped by ",
              missing.map((d, i) => [i ? ", " : "", code(d)]),
              ".",
            ]
          : "No chart: this metric has no day, week or month grain.",
      ),
    );
    return section;
  }
  if (!grains.includes(state.grain))
    state.grain = grains.includes("week") ? "week" : grains[grains.length - 1];
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
    el(
      "div",
      { class: "chart-bar" },
      picker,
      el("span", { id: "chart-summary", class: "summary" }),
    ),
    el("div", { id: "chart", class: "chart", "data-state": "loading" }),
    el(
      "details",
      { class: "values" },
      el("summary", { text: "Values" }),
      el("div", { id: "chart-table", class: "scroll" }),
    ),
  ]);
  return section;
}

export function dropChart() {
  if (state.resize) state.resize.disconnect();
  if (state.chart) state.chart.destroy();
  state.chart = null;
  state.resize = null;
}

/** Asks POST /v1/query for the latest periods of the grain, newest first, and draws them
 * oldest first. An answer that arrives after another request was sent is dropped. */
export async function drawChart(metric) {
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
    answer = await api("/v1/query", {
      metrics: [metric.name],
      by: [by],
      order: ["-" + by],
      limit: RECENT[grain],
    });
  } catch (error) {
    if (asked !== state.asked) return;
    box.setAttribute("data-state", "error");
    clear(box).appendChild(
      el("p", { class: "error", text: "The values could not be computed: " + error.message }),
    );
    return;
  }
  if (asked !== state.asked) return;
  const timeAt = answer.columns.findIndex((c) => c.name === by);
  const valueAt = answer.columns.findIndex((c) => c.name === metric.name);
  const rows = answer.rows.slice().reverse();
  const open = answer.incomplete.filter(Boolean).length;
  const xs = rows.map((row) => Date.parse(row[timeAt] + "T00:00:00Z") / 1000);
  const ys = rows.map((row) => (row[valueAt] === null ? null : Number(row[valueAt])));
  clear(box);
  box.setAttribute("data-points", String(rows.length));
  renderTable(rows, timeAt, valueAt, grain, metric);
  const latest = rows.length ? rows[rows.length - 1] : null;
  const summary = latest
    ? `Latest ${grain} (${latest[timeAt]}): ${formatValue(latest[valueAt])} · ${rows.length} ${grain}s`
    : "";
  const still = open ? ` · the last ${open} still open (a conversion window has not passed)` : "";
  $("chart-summary").textContent = summary + still;
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
      {
        stroke: "#5b6472",
        grid: { stroke: "#eef0f3" },
        ticks: { stroke: "#d9dde3" },
        size: 64,
        values: (u, splits) => splits.map(formatValue),
      },
    ],
    series: [
      {
        label: grain,
        value: (u, ts) => (ts === null ? "–" : new Date(ts * 1000).toISOString().slice(0, 10)),
      },
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
      el(
        "thead",
        {},
        el("tr", {}, el("th", { text: grain }), el("th", { class: "num", text: metric.name })),
      ),
      el(
        "tbody",
        {},
        rows
          .slice()
          .reverse()
          .map((row) =>
            el(
              "tr",
              {},
              el("td", { text: row[timeAt] }),
              el("td", { class: "num", text: formatValue(row[valueAt]) }),
            ),
          ),
      ),
    ),
  );
}
