// The cascade panel of a running conference ("Sơ đồ liên kết"): this MCU,
// its parent link and its child links with their state, the topology
// warnings, and every endpoint of the tree below with its path by names,
// its state, its quality figures and a mark on the one on screen. Operators
// call a reachable endpoint of another MCU to the chair, mute it or recall
// one of its camera presets by name (the
// daemon sends the command down the tree); a failure shows here, naming the
// MCU where it happened. It reads `GET …/cascade` when drawn and every 2 s
// while the conference's media runs; a conference without a cascade on this
// MCU (`404 no_cascade`) shows no panel.

import { get, post, seg } from "./api.js";
import { h, replace, when } from "./dom.js";
import { t, locale, errorText } from "./i18n.js";

const READ_MS = 2000;

const fixed = (v, digits) => (typeof v === "number" ? v.toFixed(digits) : "—");

/** An API error in words, with the MCU where a remote command failed. */
function failure(e) {
  const text = errorText(e);
  const mcu = e && e.details && e.details.mcu;
  return mcu && !text.includes(mcu) ? `${text} ${t("cascade.at_mcu", { mcu })}` : text;
}

/**
 * The panel. `base` is the conference's API path, `runs` whether the user
 * runs conferences (only they command endpoints of other MCUs), `running()`
 * whether the media runs now. Returns `{ el, stop() }`.
 */
export function cascadePanel({ base, runs, running }) {
  const el = h("section", { class: "card", id: "cascade-panel", hidden: true });
  let view = null;
  let message = null; // { ok, text } of the last command
  let drawn = "";

  async function read() {
    try {
      view = await get(`${base}/cascade`);
    } catch (e) {
      // No cascade here (or the conference stopped): no panel. Another
      // failure keeps the last tree and says why.
      if (!e || e.code === "no_cascade" || e.code === "conference_not_running" || !view) view = null;
      else message = { ok: false, text: failure(e) };
    }
    draw();
  }

  async function command(run, okText) {
    try {
      await run();
      message = { ok: true, text: okText };
    } catch (e) {
      message = { ok: false, text: failure(e) };
    }
    await read();
  }

  function mcuLabel(m) {
    return [h("strong", {}, m.name), " ", h("span", { class: "muted" }, `${t("level." + m.level)} · ${m.id}`)];
  }

  function linkItem(role, l) {
    return h("li", { "data-mcu": l.mcu.id, "data-state": l.state },
      h("span", { class: "muted" }, role, ": "), mcuLabel(l.mcu), " ",
      h("span", { class: "badge link-" + l.state }, t("cascade.link_" + l.state)),
      l.standby ? h("span", { class: "badge" }, t("cascade.standby")) : null,
      l.since_ms ? h("span", { class: "muted" }, " " + t("cascade.since", { at: when(l.since_ms, locale()) })) : null);
  }

  function flag(on, yes, no) {
    return h("span", { class: "badge " + (on ? "yes" : "no") }, on ? yes : no);
  }

  /** One button per camera preset its own MCU stores (R6), recalled down the tree. */
  function presetButtons(e) {
    return (e.presets || []).map((name) => h("button", {
      type: "button", class: "secondary cascade-preset", "data-preset": name,
      onclick: () => command(
        () => post(`${base}/participants/${seg(e.endpoint)}/presets/${seg(name)}/recall`),
        t("cascade.preset_sent", { preset: name, name: e.name })),
    }, "📷 " + name));
  }

  function row(e) {
    const remote = e.mcu !== view.me.id;
    const path = `${base}/participants/${seg(e.endpoint)}/mute`;
    const buttons = runs && remote && e.reachable && running()
      ? [
          h("button", {
            type: "button", class: "cascade-call",
            onclick: () => command(() => post(`${base}/call-to-chair`, { endpoint: e.endpoint }), t("cascade.called", { name: e.name })),
          }, t("cascade.call")),
          h("button", {
            type: "button", class: "cascade-mute-audio" + (e.audio_muted ? " on" : ""),
            onclick: () => command(() => post(path, { audio: !e.audio_muted }), t("cascade.mute_sent", { name: e.name })),
          }, e.audio_muted ? t("live.unmute_audio") : t("live.mute_audio")),
          h("button", {
            type: "button", class: "cascade-mute-video" + (e.video_muted ? " on" : ""),
            onclick: () => command(() => post(path, { video: !e.video_muted }), t("cascade.mute_sent", { name: e.name })),
          }, e.video_muted ? t("live.unmute_video") : t("live.mute_video")),
          ...presetButtons(e),
        ]
      : null;
    return h("tr", { "data-endpoint": e.endpoint, class: e.selected ? "selected" : null },
      h("td", {}, h("span", { class: "name" }, e.name), h("div", { class: "muted" }, e.endpoint),
        e.selected ? h("span", { class: "badge cascade-selected" }, "★ " + t("cascade.selected")) : null),
      h("td", { class: "cascade-path" }, e.display_path),
      h("td", {},
        e.reachable ? null : h("span", { class: "badge no" }, t("cascade.unreachable")),
        flag(e.connected, t("live.connected"), t("live.not_connected")), " ",
        flag(!e.audio_muted, t("live.audio_on"), t("live.audio_muted")), " ",
        flag(!e.video_muted, t("live.video_on"), t("live.video_muted")),
        e.floor_requested ? h("span", { class: "badge floor-waiting" }, t("cascade.floor")) : null),
      h("td", { class: "muted" }, t("cascade.figures", {
        rtt: fixed(e.rtt_ms, 0), loss: fixed(e.loss_percent, 1), jitter: fixed(e.jitter_ms, 0),
      })),
      h("td", { class: "actions" }, buttons));
  }

  function draw() {
    el.hidden = !view;
    if (!view) return;
    // Redraw only on a change, so a button is never replaced under the pointer.
    const key = JSON.stringify([view, message, running()]);
    if (key === drawn) return;
    drawn = key;
    replace(el,
      h("h2", {}, t("cascade.heading")),
      message ? h("p", { id: "cascade-message", class: message.ok ? "cascade-ok" : "cascade-error", role: "status" }, message.text) : null,
      h("ul", { class: "cascade-links" },
        h("li", { "data-mcu": view.me.id }, h("span", { class: "muted" }, t("cascade.me"), ": "), mcuLabel(view.me)),
        view.parent ? linkItem(t("cascade.parent"), view.parent) : h("li", { class: "muted" }, t("cascade.master")),
        view.children.length
          ? view.children.map((l) => linkItem(t("cascade.child"), l))
          : h("li", { class: "muted" }, t("cascade.no_children"))),
      view.warnings.length
        ? h("div", { class: "cascade-warnings" }, h("strong", {}, t("cascade.warnings")),
            h("ul", {}, view.warnings.map((w) => h("li", {}, w))))
        : null,
      h("table", { class: "cascade" },
        h("thead", {}, h("tr", {},
          h("th", {}, t("live.endpoint")), h("th", {}, t("cascade.path")), h("th", {}, t("cascade.state")),
          h("th", {}, t("live.quality")), h("th", {}, ""))),
        h("tbody", { id: "cascade-rows" }, view.endpoints.map(row))));
  }

  read();
  const timer = setInterval(() => {
    if (running()) read();
    else if (view) {
      view = null;
      draw();
    }
  }, READ_MS);
  return { el, stop: () => clearInterval(timer) };
}
