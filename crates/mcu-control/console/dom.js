// Small DOM helpers. Text always goes in as text nodes (never parsed as
// HTML), so names from the directory cannot inject markup.

import { errorText } from "./i18n.js";

/**
 * Creates an element. `attrs` keys: `class`, `on<event>` (a listener),
 * `dataset` (object), anything else becomes an attribute (skipped when
 * null/false). Children: strings (text nodes), nodes, arrays, null (ignored).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v);
    } else if (k === "dataset") {
      Object.assign(el.dataset, v);
    } else if (k === "value" && "value" in el) {
      el.value = v;
    } else if (k === "checked" && "checked" in el) {
      el.checked = !!v;
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A date-time from Unix ms in the console's language. */
export function when(ms, locale) {
  if (ms === null || ms === undefined) return "";
  return new Date(ms).toLocaleString(locale);
}

/** Shows a message bar: an error (translated by its code) or a notice. */
export function flash(message, ok = false) {
  const bar = document.getElementById("message");
  bar.textContent = message;
  bar.className = ok ? "ok" : "";
  bar.hidden = !message;
}

/** Shows an API error in the message bar. */
export function showError(e) {
  flash(errorText(e), false);
}

/** Runs an action, showing its failure; resolves to true when it worked. */
export async function attempt(run, okMessage) {
  try {
    await run();
    flash(okMessage || "", true);
    return true;
  } catch (e) {
    showError(e);
    return false;
  }
}
