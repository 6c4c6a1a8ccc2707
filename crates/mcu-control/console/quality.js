// What the operators watch during a session (R11): a quality badge per
// endpoint in the roster (graded by the API: good / fair / poor, with the
// figures on a second line, and on a third the encode the MCU sends it —
// a room on a slow line gets the low-bitrate one — with the bandwidth
// estimate of its line), the alarms panel (loss, freeze, drop — active
// ones first, the cleared ones folded), and the composite preview of the
// chair or the participants' view, refreshed once a second.

import { h, replace, when } from "./dom.js";
import { t, locale } from "./i18n.js";

const PREVIEW_MS = 1000;

const round = (v, digits = 0) => (typeof v === "number" ? v.toFixed(digits) : "—");

/** The roster cell of one endpoint's quality (`q` absent: not measured). */
export function qualityCell(q) {
  if (!q) return h("span", { class: "badge quality none", dataset: { grade: "none" } }, "—");
  const worstLoss = Math.max(q.video.loss_percent, q.audio.loss_percent);
  const worstJitter = Math.max(q.video.jitter_ms, q.audio.jitter_ms);
  return [
    h("span", { class: "badge quality " + q.grade, dataset: { grade: q.grade } }, t("quality." + q.grade)),
    h("div", { class: "muted quality-figures" },
      t("quality.figures", {
        loss: round(worstLoss, 1),
        jitter: round(worstJitter),
        rtt: round(q.rtt_ms),
        fps: round(q.video.fps),
        kbps: round(q.video.kbps + q.audio.kbps),
      })),
    q.downlink ? h("div", {
      class: "muted quality-downlink" + (q.downlink.class === "low" ? " constrained" : ""),
      dataset: { class: q.downlink.class },
    }, t("quality.downlink", {
      class: t("quality.class." + q.downlink.class),
      kbps: round(q.downlink.estimate_kbps),
    })) : null,
  ];
}

function alarmText(a) {
  switch (a.kind) {
    case "loss":
      return t("alarm.loss_detail", { value: round(a.value, 1), threshold: round(a.threshold, 1) });
    case "freeze":
      return t("alarm.freeze_detail", { value: round(a.value, 1), threshold: round(a.threshold, 1) });
    default:
      return a.detail || "";
  }
}

function alarmItem(a) {
  return h("li", { class: "alarm " + a.kind, dataset: { endpoint: a.endpoint, kind: a.kind } },
    h("strong", {}, t("alarm." + a.kind)), " ",
    h("span", { class: "name" }, a.name || a.endpoint), " — ", alarmText(a),
    h("div", { class: "muted" }, when(a.raised_at, locale()),
      a.cleared_at ? ` → ${when(a.cleared_at, locale())}` : ""));
}

/** The alarms panel; `update` takes an `alarms` event. */
export function alarmsPanel() {
  const active = h("ul", { id: "alarms-active", class: "alarms" });
  const recent = h("ul", { id: "alarms-recent", class: "alarms" });
  const count = h("span", { class: "badge", id: "alarms-count" }, "0");
  const el = h("section", { class: "card", id: "alarms" },
    h("h2", {}, t("alarm.title"), " ", count),
    active,
    h("details", {}, h("summary", {}, t("alarm.recent")), recent));
  function update(msg) {
    replace(active, msg.active.length ? msg.active.map(alarmItem) : h("li", { class: "muted" }, t("alarm.none")));
    replace(recent, msg.recent.map(alarmItem));
    count.textContent = String(msg.active.length);
    el.classList.toggle("raised", msg.active.length > 0);
  }
  update({ active: [], recent: [] });
  return { el, update };
}

/**
 * The composite preview of `base` (`/conferences/<id>`): a picture of the
 * chair or the participants' view, refreshed while `live()` holds. Returns
 * the panel and a function that stops the refresh.
 */
export function previewPanel(base, live) {
  let view = "chair";
  const note = h("p", { class: "muted", id: "preview-note", hidden: true }, t("err.no_picture"));
  const img = h("img", { id: "preview", width: "480", height: "270", alt: t("preview.alt") });
  img.addEventListener("load", () => { note.hidden = true; img.hidden = false; });
  img.addEventListener("error", () => { note.hidden = false; img.hidden = true; });
  const buttons = ["chair", "participants"].map((v) => h("button", {
    type: "button", class: "secondary", dataset: { view: v }, "aria-pressed": v === view ? "true" : "false",
    onclick: () => {
      view = v;
      for (const b of buttons) b.setAttribute("aria-pressed", b.dataset.view === view ? "true" : "false");
      refresh();
    },
  }, t("preview." + v)));
  function refresh() {
    if (!live()) return;
    // A fresh URL each time: the answer is never cached.
    img.src = `/api/v1${base}/preview.jpg?view=${view}&t=${Date.now()}`;
  }
  const timer = setInterval(refresh, PREVIEW_MS);
  refresh();
  const el = h("section", { class: "card", id: "preview-card" },
    h("h2", {}, t("preview.title")), h("div", { class: "row" }, buttons), img, note);
  return { el, refresh, stop: () => clearInterval(timer) };
}
