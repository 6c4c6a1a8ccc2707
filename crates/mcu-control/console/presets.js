// Camera presets (R6) in the live view: each roster row's recall buttons and
// an editor for one endpoint (save a name with pan/tilt/zoom, delete). The
// API keeps presets per endpoint (`/endpoints/{id}/presets`); a recall goes
// through the conference and the endpoint's join page applies it as a
// digital pan/zoom. Presets change rarely, so live.js reads them when the
// view opens and after each change rather than with the roster every second.
//
// Names are data, not labels: they are stored as typed (Unicode) and shown
// the same in both languages; the suggestions are the usual Vietnamese ones.

import { get, seg } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

/** Suggested names with a sensible starting position each. */
export const SUGGESTED = [
  { name: "Ghế chủ tọa", pan: 500, tilt: 400, zoom: 200 },
  { name: "Bên trái", pan: 250, tilt: 500, zoom: 200 },
  { name: "Bên phải", pan: 750, tilt: 500, zoom: 200 },
  { name: "Toàn cảnh", pan: 500, tilt: 500, zoom: 100 },
  { name: "Phóng to", pan: 500, tilt: 500, zoom: 250 },
  { name: "Thu nhỏ", pan: 500, tilt: 500, zoom: 130 },
];

/** An endpoint's presets: `[{name, pan, tilt, zoom}]`. */
export function fetchPresets(endpoint) {
  return get(`/endpoints/${seg(endpoint)}/presets`);
}

/** The API path of one preset of an endpoint (names are Unicode: escaped). */
export function presetPath(endpoint, name) {
  return `/endpoints/${seg(endpoint)}/presets/${seg(name)}`;
}

/**
 * A row's recall buttons, one per preset; `enabled` when the endpoint can
 * move now (conference live, endpoint connected).
 */
export function recallButtons(presets, { enabled, onRecall }) {
  return h(
    "span",
    { class: "preset-list" },
    presets.map((p) =>
      h("button", {
        type: "button", class: "secondary preset-recall", "data-preset": p.name,
        disabled: !enabled, title: t("preset.recall_hint"),
        onclick: () => onRecall(p.name),
      }, p.name),
    ),
  );
}

/** A slider with a number box beside it, kept in step; `input` is the number box. */
function slider(field, label, min, max, value) {
  const range = h("input", { type: "range", min, max, step: 1, value, "aria-hidden": "true", tabindex: "-1" });
  const input = h("input", { type: "number", id: "preset-" + field, name: field, min, max, step: 1, value, required: true });
  range.addEventListener("input", () => {
    input.value = range.value;
  });
  input.addEventListener("input", () => {
    range.value = input.value;
  });
  const set = (v) => {
    input.value = v;
    range.value = v;
  };
  return { el: h("label", { class: "slider" }, label, h("span", { class: "row" }, range, input)), input, set };
}

/**
 * The editor of one endpoint's presets: the list (load into the form,
 * delete) and the save form. `onSave(name, {pan, tilt, zoom})` and
 * `onDelete(name)` resolve to true when the API took it.
 */
export function presetEditor({ endpoint, endpointName, presets, onSave, onDelete, onClose }) {
  const name = h("input", { id: "preset-name", name: "name", maxlength: 64, required: true, list: "preset-suggestions", autocomplete: "off" });
  const pan = slider("pan", t("preset.pan"), 0, 1000, 500);
  const tilt = slider("tilt", t("preset.tilt"), 0, 1000, 500);
  const zoom = slider("zoom", t("preset.zoom"), 100, 400, 100);
  const load = (p) => {
    pan.set(p.pan);
    tilt.set(p.tilt);
    zoom.set(p.zoom);
  };
  // Typing a known name (saved or suggested) loads its position.
  name.addEventListener("input", () => {
    const known = presets.find((p) => p.name === name.value) || SUGGESTED.find((p) => p.name === name.value);
    if (known) load(known);
  });

  const rows = presets.map((p) =>
    h("tr", { "data-preset": p.name },
      h("td", { class: "name" }, p.name),
      h("td", {}, String(p.pan)),
      h("td", {}, String(p.tilt)),
      h("td", {}, String(p.zoom)),
      h("td", { class: "actions" },
        h("button", {
          type: "button", class: "secondary preset-edit",
          onclick: () => {
            name.value = p.name;
            load(p);
            name.focus();
          },
        }, t("preset.edit")),
        h("button", {
          type: "button", class: "danger preset-delete",
          onclick: () => confirm(t("preset.delete_confirm", { name: p.name })) && onDelete(p.name),
        }, t("preset.delete")))));

  const form = h(
    "form",
    { id: "preset-form" },
    h("div", { class: "row" },
      h("label", {}, t("preset.name"), name),
      h("datalist", { id: "preset-suggestions" }, SUGGESTED.map((p) => h("option", { value: p.name }))),
      h("span", { class: "suggestions" },
        SUGGESTED.map((p) =>
          h("button", {
            type: "button", class: "secondary preset-suggestion", "data-preset": p.name,
            onclick: () => {
              name.value = p.name;
              load(presets.find((q) => q.name === p.name) || p);
            },
          }, p.name)))),
    h("div", { class: "row" }, pan.el, tilt.el, zoom.el),
    h("p", { class: "muted" }, t("preset.hint")),
    h("div", { class: "row" },
      h("button", { type: "submit", id: "preset-save" }, t("preset.save")),
      h("button", { type: "button", class: "secondary", id: "preset-close", onclick: onClose }, t("form.close"))),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { pan: Number(pan.input.value), tilt: Number(tilt.input.value), zoom: Number(zoom.input.value) };
    const saved = name.value.trim();
    if (saved) await onSave(saved, body);
  });

  const el = h(
    "section",
    { class: "card", id: "preset-editor", "data-endpoint": endpoint },
    h("h2", {}, t("preset.heading", { name: endpointName })),
    presets.length
      ? h("table", { id: "preset-table" },
          h("thead", {}, h("tr", {},
            h("th", {}, t("preset.name")),
            h("th", {}, t("preset.pan")),
            h("th", {}, t("preset.tilt")),
            h("th", {}, t("preset.zoom")),
            h("th", {}, ""))),
          h("tbody", {}, rows))
      : h("p", { class: "muted" }, t("preset.none")),
    form,
  );
  return el;
}

