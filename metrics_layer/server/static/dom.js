/*
 * Building the page: every element is made with DOM calls, and every string becomes a text
 * node (never HTML), so a text from the definitions holding "<script>" shows those characters.
 */

/** The element of id ``id``. */
export const $ = (id) => document.getElementById(id);

/** An element with attributes and children; a string child becomes a text node. */
export function el(tag, attrs, ...children) {
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

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function code(text) {
  return el("code", { text: text });
}

export function metricHref(name) {
  return "#/metric/" + encodeURIComponent(name);
}

export function badge(status) {
  return el("span", { class: "badge badge-" + safeClass(status), text: status });
}

export function safeClass(text) {
  return String(text)
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "");
}

const numbers = new Intl.NumberFormat("en", { maximumSignificantDigits: 6 });

export function formatValue(value) {
  if (value === null || value === undefined) return "–";
  const number = typeof value === "number" ? value : Number(value);
  return Number.isFinite(number) ? numbers.format(number) : String(value);
}
