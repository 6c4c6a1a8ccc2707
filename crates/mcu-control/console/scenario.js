// The scenario panel of a booked conference (R1): the agenda with the
// current item, the time used on each against its plan, and what comes next;
// operators step next / previous or jump to an item (the API applies the
// item's layout and calls its speaker to the chair). It reads
// `GET …/scenario` when drawn, after each step and every few seconds (the
// times count up between reads); a conference without a booked scenario
// shows no panel.

import { get, post } from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { waited } from "./floor.js";

const READ_MS = 5000;

/**
 * The panel. `base` is the conference's API path, `runs` whether the user
 * may step, `act(run, okMessage)` runs an action and refreshes. Returns
 * `{ el, stop() }`.
 */
export function scenarioPanel({ base, runs, act }) {
  const el = h("section", { class: "card", id: "scenario-panel", hidden: true });
  let view = null;
  let readAt = 0;

  async function read() {
    try {
      view = await get(`${base}/scenario`);
      readAt = Date.now();
    } catch (_) {
      view = null; // no booked scenario (404) or not readable: no panel
    }
    draw();
  }

  async function stepTo(body, message) {
    await act(async () => {
      const v = await post(`${base}/scenario/step`, body);
      for (const w of (v && v.warnings) || []) alert(w);
      return v;
    }, message);
    await read();
  }

  function used(item) {
    const extra = view.current === item.position ? Date.now() - readAt : 0;
    return waited(0, item.used_ms + extra);
  }

  function row(item) {
    const current = view.current === item.position;
    const over = item.used_ms > item.planned_minutes * 60000;
    return h("li", { "data-position": item.position, class: (current ? "current" : "") + (over ? " over" : "") },
      h("strong", {}, item.title), " ",
      item.speaker ? h("span", { class: "muted" }, "· " + (item.speaker_name || item.speaker) + " ") : null,
      h("span", { class: "muted" }, `· ${item.layout} · `),
      h("span", { class: "used" }, t("scenario.used", { used: used(item), planned: item.planned_minutes })),
      runs && !current
        ? h("button", {
            type: "button", class: "secondary scenario-jump",
            onclick: () => stepTo({ to: "jump", position: item.position }, t("scenario.stepped", { title: item.title })),
          }, t("scenario.jump"))
        : null);
  }

  function draw() {
    el.hidden = !view;
    if (!view) return;
    const cur = view.current === null ? null : view.items[view.current];
    const next = view.next === null ? null : view.items[view.next];
    const buttons = runs
      ? h("div", { class: "row" },
          h("button", {
            type: "button", class: "secondary", id: "scenario-prev", disabled: !cur || view.current === 0,
            onclick: () => stepTo({ to: "previous" }, t("scenario.stepped", { title: view.items[view.current - 1].title })),
          }, t("scenario.previous")),
          h("button", {
            type: "button", id: "scenario-next", disabled: !next,
            onclick: () => stepTo({ to: "next" }, t("scenario.stepped", { title: next.title })),
          }, t("scenario.next")))
      : null;
    replace(el,
      h("h2", {}, t("scenario.heading")),
      h("p", { id: "scenario-current" }, cur ? t("scenario.current", { title: cur.title }) : t("scenario.not_started")),
      h("p", { class: "muted", id: "scenario-next-item" }, next ? t("scenario.next_item", { title: next.title }) : t("scenario.last")),
      buttons,
      h("ol", { class: "scenario" }, view.items.map(row)));
  }

  read();
  const timer = setInterval(() => (Date.now() - readAt > READ_MS ? read() : draw()), 1000);
  return { el, stop: () => clearInterval(timer) };
}
