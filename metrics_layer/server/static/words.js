/*
 * What a metric computes, in words, from the ``definition`` of its catalogue entry
 * (``layer.describe``): its measures, window, ratio sides, expression, filter.
 */

import { code, el, formatValue } from "./dom.js";

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
  percentile: (expr, source, p) => [
    "the " + formatValue((p || 0) * 100) + "th percentile of ",
    code(expr),
    " in ",
    code(source),
  ],
};

function measureWords(measure) {
  const source = measure.name.split(".")[0];
  const say = AGGREGATIONS[measure.agg];
  const words = say
    ? say(measure.expr || "", source, measure.percentile)
    : [measure.agg + " of ", code(measure.expr || "")];
  if (measure.semi_additive) words.push(" on the " + measure.semi_additive + " day of each period");
  return words;
}

/** Every measure a definition reads, once, with its time and description. */
function measuresOf(definition) {
  const found = new Map();
  const add = (measure) => measure && found.set(measure.name, measure);
  add(definition.measure);
  for (const side of ["numerator", "denominator"])
    if (definition[side]) add(definition[side].measure);
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

function inputWords(input, link) {
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

export function definitionInWords(metric, link) {
  const d = metric.definition || {};
  const lines = [];
  const say = (...parts) => lines.push(el("p", {}, parts));
  switch (metric.type) {
    case "simple":
      say("Computes ", measureWords(d.measure), ".");
      if (d.per)
        say(
          "Measured per ",
          d.per,
          "; a longer period shows ",
          ROLLUPS[d.rollup || "average"] || d.rollup,
          ".",
        );
      break;
    case "rolling":
      say(
        "Computes ",
        measureWords(d.measure),
        " over a trailing window of ",
        d.window || "?",
        " ending on (and including) each day.",
      );
      say("A longer period shows ", ROLLUPS[d.rollup || "last"] || d.rollup, ".");
      break;
    case "cumulative":
      say(
        "Accumulates ",
        measureWords(d.measure),
        d.grain_to_date
          ? " from the first day of each " + d.grain_to_date + " up to and including each day"
          : " from the first day of the data up to and including each day",
        ".",
      );
      break;
    case "ratio":
      say("Divides ", inputWords(d.numerator, link), " by ", inputWords(d.denominator, link), ".");
      say(
        "Each side is computed at the query's grain before dividing; a zero denominator gives an empty value.",
      );
      break;
    case "derived":
      say("Computes ", code(d.expr || ""), " from:");
      lines.push(
        el(
          "ul",
          {},
          (d.inputs || []).map((i) => el("li", {}, inputWords(i, link))),
        ),
      );
      break;
    case "conversion":
      say(
        "Of the ",
        d.entity,
        " entities with a base event in the period, the share that convert within ",
        d.window || "?",
        " (attributed to the base event's period).",
      );
      say("Divides ", inputWords(d.numerator, link), " by ", inputWords(d.denominator, link), ".");
      break;
    case "retention":
      say(
        "Of each cohort of ",
        d.entity,
        " entities (by their first base event), the share still active later.",
      );
      if (d.cohort_table)
        say(
          "A cohort table: grouped by ",
          code(d.cohort_period || "period"),
          " (the number of periods after the cohort's).",
        );
      say("Divides ", inputWords(d.numerator, link), " by ", inputWords(d.denominator, link), ".");
      break;
    case "churn":
      say(
        "Compares each ",
        d.period || "period",
        " of ",
        d.entity,
        " entities with the ",
        d.period || "period",
        " before.",
      );
      say("Divides ", inputWords(d.numerator, link), " by ", inputWords(d.denominator, link), ".");
      break;
    default:
      say("A ", metric.type, " metric.");
  }
  if (d.filter) say("Only rows where ", code(d.filter), ".");
  if (d.fill_null !== null && d.fill_null !== undefined)
    say("An empty value is shown as ", code(String(d.fill_null)), ".");
  if (d.fill_periods) say("Periods without rows are shown (with the fill value).");
  const measures = measuresOf(d);
  if (measures.length)
    lines.push(
      el("h3", { text: measures.length > 1 ? "Measures" : "Measure" }),
      measureList(measures),
    );
  return lines;
}
