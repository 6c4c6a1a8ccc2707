// The floor-request queue of a live conference (R4): who asked to speak, in
// order, and for how long; operators grant (the API unmutes the endpoint and
// puts it on the chair view's main tile) or dismiss. A hand raised in the
// cascade below shows its path and is answered through the tree. The queue arrives with
// the roster through live.js's `fetchConference`; this module only draws it.

import { post, seg } from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";

/** Time waited since `since` (Unix ms) as "m:ss" or "h:mm:ss", never negative. */
export function waited(since, now) {
  const total = Math.max(0, Math.floor((now - since) / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${two(minutes)}:${two(seconds)}` : `${minutes}:${two(seconds)}`;
}

/**
 * The panel. `base` is the conference's API path, `runs` whether the user
 * may grant and dismiss, `act(run, okMessage)` runs an action and refreshes.
 * Returns `{ el, update(queue) }`; `update` redraws the list only when the
 * queue changed (so a button is never replaced under the pointer) and the
 * waiting times every call.
 */
export function floorPanel({ base, runs, act }) {
  const list = h("ol", { id: "floor-queue", class: "floor-queue" });
  const empty = h("p", { class: "muted", id: "floor-empty" }, t("floor.empty"));
  const el = h("section", { class: "card", id: "floor-panel" }, h("h2", {}, t("floor.heading")), empty, list);
  let key = null;

  function item(r) {
    const name = r.name || r.endpoint;
    const path = `${base}/floor/${seg(r.endpoint)}`;
    const buttons = runs
      ? [
          h("button", {
            type: "button", class: "floor-grant",
            onclick: () => act(() => post(`${path}/grant`), t("floor.granted", { name })),
          }, t("floor.grant")),
          h("button", {
            type: "button", class: "secondary floor-dismiss",
            onclick: () => act(() => post(`${path}/dismiss`), t("floor.dismissed", { name })),
          }, t("floor.dismiss")),
        ]
      : [];
    return h(
      "li",
      { "data-endpoint": r.endpoint, "data-requested-at": r.requested_at },
      h("span", { class: "name" }, name), " ",
      r.path ? h("span", { class: "muted floor-path" }, r.path, " ") : null,
      h("span", { class: "muted waited" }),
      h("span", { class: "buttons" }, buttons),
    );
  }

  function update(queue) {
    const k = JSON.stringify(queue.map((r) => [r.endpoint, r.name, r.path, r.requested_at]));
    if (k !== key) {
      key = k;
      replace(list, queue.map(item));
      empty.hidden = queue.length > 0;
    }
    const now = Date.now();
    for (const li of list.children) {
      const since = Number(li.getAttribute("data-requested-at"));
      li.querySelector(".waited").textContent = t("floor.waiting", { time: waited(since, now) });
    }
  }

  return { el, update };
}
