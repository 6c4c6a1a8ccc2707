// A live conference: the roster with per-endpoint controls (mute, call to
// chair, request the floor, camera-preset recall), the floor-request queue
// with grant/dismiss, a camera-preset editor for one endpoint, a layout
// picker per view (chair, participants) drawn from the templates' geometry,
// and a pin board (pick an endpoint for a tile, or drag a roster row onto a
// tile), a quality badge per endpoint, the alarms panel and the composite
// preview (quality.js), and, on an MCU with cascade links, the tree below it
// (cascade.js). The roster, the floor queue, the audio levels, the
// quality figures and the alarms arrive on the conference's events
// WebSocket (`/api/v1/conferences/{id}/events`); if it
// cannot be opened or drops, the view polls `fetchConference` every second
// instead, and it reads once more after each action for immediate feedback.
//
// A site operator sees the roster and the queue but only their own rooms'
// controls (mute, request the floor, presets); the layout pickers and the pin
// board are not shown to them. The API enforces all of it by itself.

import { del, get, post, put, seg } from "./api.js";
import { h, replace, attempt, showError, when } from "./dom.js";
import { t, locale } from "./i18n.js";
import { LAYOUTS, LAYOUT_NAMES, thumbnail } from "./layouts.js";
import { floorPanel } from "./floor.js";
import { fetchPresets, presetEditor, presetPath, recallButtons } from "./presets.js";
import { alarmsPanel, previewPanel, qualityCell } from "./quality.js";
import { openable, running } from "./conferences.js";
import { scenarioPanel } from "./scenario.js";
import { readinessPanel } from "./readiness.js";
import { cascadePanel } from "./cascade.js";
import { recordButton } from "./recordings.js";

const POLL_MS = 1000;
const VIEWS = ["chair", "participants"];

/**
 * The conference with its participants' live state, and `floor`: its
 * pending floor requests, oldest first.
 */
export async function fetchConference(id) {
  const path = `/conferences/${seg(id)}`;
  const [conf, floor] = await Promise.all([get(path), get(`${path}/floor`)]);
  conf.floor = floor || [];
  return conf;
}

export async function render(ctx, root, id) {
  const s = {
    conf: await fetchConference(id),
    // The API reports the chair view's layout; the participants' view's is
    // the one last set from this console (unknown until then).
    layouts: { chair: null, participants: null },
    // Pins set from this console, per view: slot → endpoint id.
    pins: { chair: {}, participants: {} },
    pinView: "chair",
    rosterKey: "",
    // Camera presets per endpoint, read at the start and after each change.
    presets: {},
    // The endpoint whose presets the editor shows (null: closed).
    presetEndpoint: null,
  };
  s.layouts.chair = s.conf.layout;

  const runs = ctx.can("run_conferences");
  const siteOperator = !!ctx.me && ctx.me.role === "site_operator";
  const mine = (endpoint) => siteOperator && (ctx.me.endpoints || []).includes(endpoint);
  // Recall goes through the conference (operators; site operators, own room);
  // saving and deleting is on the endpoint (admins too).
  const canRecall = (endpoint) => runs || mine(endpoint);
  const canEditPresets = (endpoint) => ctx.can("edit_presets") || mine(endpoint);
  const waiting = (endpoint) => s.conf.floor.some((r) => r.endpoint === endpoint);
  const base = `/conferences/${seg(id)}`;
  const nameOf = (endpoint) => (s.conf.participants.find((p) => p.endpoint === endpoint) || {}).name || endpoint;

  const headEl = h("div", { id: "live-head" });
  const rosterBody = h("tbody", { id: "roster" });
  const pickersEl = h("div", { id: "layout-pickers" });
  const pinEl = h("div", { id: "pin-board", class: "pinboard" });
  const editorEl = h("div", { id: "preset-editor-slot" });
  const floor = floorPanel({ base, runs, act });
  const alarms = alarmsPanel();
  const preview = previewPanel(base, () => running(s.conf.state));
  const scenario = scenarioPanel({ base, runs, act: (run, message) => act(run, message) });
  const readiness = readinessPanel({
    base, runs, mine, running: () => running(s.conf.state), act: (run, message) => act(run, message),
  });
  const cascade = cascadePanel({ base, runs, running: () => running(s.conf.state) });
  const record = recordButton(base);

  // --- header -------------------------------------------------------------
  function renderHead() {
    const c = s.conf;
    const chairName = c.chair ? nameOf(c.chair) : t("conf.no_chair");
    const buttons = [];
    if (runs && openable(c.state)) {
      buttons.push(h("button", { type: "button", id: "live-start", onclick: () => act(() => post(`${base}/start`), t("conf.started")) }, t("conf.start")));
    }
    if (runs && running(c.state)) {
      buttons.push(h("button", {
        type: "button", class: "danger", id: "live-end",
        onclick: () => confirm(t("conf.end_confirm")) && act(() => post(`${base}/end`), t("conf.ended")),
      }, t("conf.end")), record.el);
      record.refresh();
    }
    replace(
      headEl,
      h("h1", {}, c.title, " ", h("span", { class: "badge " + c.state, id: "live-state" }, t("state." + c.state))),
      h("p", { class: "muted" }, `${c.id} · ${t("conf.chair")}: ${chairName} · ${t("conf.started_at")}: ${when(c.started_at, locale()) || "—"}`),
      h("div", { class: "row" }, h("a", { href: "#/conferences", class: "button secondary" }, t("live.back")),
        ctx.can("read_logbook") ? h("a", { href: `#/conference/${seg(id)}/logbook`, class: "button secondary", id: "live-logbook" }, t("logbook.open")) : null,
        buttons),
    );
  }

  // --- roster -------------------------------------------------------------
  function flag(on, yes, no) {
    return h("span", { class: "badge " + (on ? "yes" : "no") }, on ? yes : no);
  }

  function rosterRow(p) {
    const live = running(s.conf.state);
    const actions = [];
    if (runs || mine(p.endpoint)) {
      actions.push(
        h("button", {
          type: "button", class: "mute-audio" + (p.audio_muted ? " on" : ""), disabled: !live,
          onclick: () => act(() => post(`${base}/participants/${seg(p.endpoint)}/mute`, { audio: !p.audio_muted })),
        }, p.audio_muted ? t("live.unmute_audio") : t("live.mute_audio")),
        h("button", {
          type: "button", class: "mute-video" + (p.video_muted ? " on" : ""), disabled: !live,
          onclick: () => act(() => post(`${base}/participants/${seg(p.endpoint)}/mute`, { video: !p.video_muted })),
        }, p.video_muted ? t("live.unmute_video") : t("live.mute_video")),
      );
    }
    if (mine(p.endpoint)) {
      actions.push(
        h("button", {
          type: "button", class: "floor-request", disabled: !live || !p.connected || waiting(p.endpoint),
          onclick: () => act(() => post(`${base}/participants/${seg(p.endpoint)}/floor-request`), t("live.floor_requested")),
        }, t("live.request_floor")),
      );
    }
    if (runs) {
      actions.push(
        h("button", {
          type: "button", class: "call-to-chair", disabled: !live,
          onclick: () => act(() => post(`${base}/call-to-chair`, { endpoint: p.endpoint }), t("live.called")),
        }, t("live.call_to_chair")),
        h("button", {
          type: "button", class: "danger disconnect", disabled: !live || !p.connected,
          onclick: () => confirm(t("live.disconnect_confirm")) && act(() => post(`${base}/participants/${seg(p.endpoint)}/disconnect`)),
        }, t("live.disconnect")),
      );
    }
    const row = h(
      "tr",
      { "data-endpoint": p.endpoint, draggable: runs ? "true" : null, title: runs ? t("live.drag_hint") : null },
      h("td", {}, h("span", { class: "name" }, p.name || p.endpoint), h("div", { class: "muted" }, p.endpoint),
        p.endpoint === s.conf.chair ? h("span", { class: "badge" }, t("live.chair_badge")) : null,
        waiting(p.endpoint) ? h("span", { class: "badge floor-waiting" }, t("live.floor_badge")) : null),
      h("td", {}, flag(p.connected, t("live.connected"), t("live.not_connected"))),
      h("td", { class: "quality", dataset: { quality: p.endpoint } }, qualityCell(quality[p.endpoint])),
      h("td", {}, flag(!p.audio_muted, t("live.audio_on"), t("live.audio_muted")),
        h("meter", { class: "level", min: "-60", max: "0", low: "-45", high: "-12", optimum: "-20",
          value: "-60", title: t("live.level"), dataset: { level: p.endpoint } })),
      h("td", {}, flag(!p.video_muted, t("live.video_on"), t("live.video_muted"))),
      h("td", { class: "presets" }, presetCell(p)),
      h("td", { class: "actions" }, actions),
    );
    row.addEventListener("dragstart", (ev) => {
      ev.dataTransfer.setData("text/plain", p.endpoint);
      ev.dataTransfer.effectAllowed = "copy";
    });
    return row;
  }

  function presetCell(p) {
    const list = s.presets[p.endpoint] || [];
    const cell = [];
    if (canRecall(p.endpoint)) {
      cell.push(recallButtons(list, {
        enabled: running(s.conf.state) && p.connected,
        onRecall: (name) => act(
          () => post(`${base}/participants/${seg(p.endpoint)}/presets/${seg(name)}/recall`),
          t("preset.recalled", { name }),
        ),
      }));
    } else if (list.length) {
      cell.push(h("span", { class: "muted" }, list.map((q) => q.name).join(", ")));
    }
    if (canEditPresets(p.endpoint)) {
      cell.push(h("button", {
        type: "button", class: "secondary presets-manage",
        "aria-pressed": s.presetEndpoint === p.endpoint ? "true" : "false",
        onclick: () => openEditor(p.endpoint),
      }, t("preset.manage")));
    }
    return cell;
  }

  function renderRoster(force) {
    const key = JSON.stringify([s.conf.state, s.conf.participants, s.conf.floor.map((r) => r.endpoint), s.presets, s.presetEndpoint]);
    if (!force && key === s.rosterKey) return;
    s.rosterKey = key;
    replace(rosterBody, s.conf.participants.map(rosterRow));
  }

  // --- camera presets -----------------------------------------------------
  async function loadPresets(endpoint) {
    try {
      s.presets[endpoint] = await fetchPresets(endpoint);
    } catch (e) {
      showError(e);
    }
  }

  function renderEditor() {
    const endpoint = s.presetEndpoint;
    if (!endpoint) {
      replace(editorEl);
      return;
    }
    replace(editorEl, presetEditor({
      endpoint,
      endpointName: nameOf(endpoint),
      presets: s.presets[endpoint] || [],
      onSave: async (name, body) => {
        const ok = await attempt(() => put(presetPath(endpoint, name), body), t("preset.saved", { name }));
        if (ok) await presetsChanged(endpoint);
        return ok;
      },
      onDelete: async (name) => {
        const ok = await attempt(() => del(presetPath(endpoint, name)), t("preset.deleted"));
        if (ok) await presetsChanged(endpoint);
        return ok;
      },
      onClose: () => {
        s.presetEndpoint = null;
        renderEditor();
        renderRoster(false);
      },
    }));
  }

  async function openEditor(endpoint) {
    s.presetEndpoint = endpoint;
    await loadPresets(endpoint);
    renderEditor();
    renderRoster(false);
    editorEl.scrollIntoView({ block: "nearest" });
  }

  async function presetsChanged(endpoint) {
    await loadPresets(endpoint);
    if (s.presetEndpoint === endpoint) renderEditor();
    renderRoster(false);
  }

  // --- layout pickers -----------------------------------------------------
  function renderPickers() {
    const live = running(s.conf.state);
    replace(
      pickersEl,
      VIEWS.map((view) =>
        h(
          "section",
          { class: "card" },
          h("h2", {}, t("live.layout_" + view)),
          view === "participants" && !s.layouts.participants ? h("p", { class: "muted" }, t("live.participants_layout_unknown")) : null,
          h(
            "div",
            { class: "picker", id: view + "-layouts" },
            LAYOUT_NAMES.map((name) =>
              h("button", {
                type: "button",
                class: "layout" + (s.layouts[view] === name ? " selected" : ""),
                "data-view": view,
                "data-layout": name,
                "aria-pressed": s.layouts[view] === name ? "true" : "false",
                disabled: !runs || !live,
                title: name,
                onclick: () => setLayout(view, name),
              }, thumbnail(name), name),
            ),
          ),
        ),
      ),
    );
  }

  async function setLayout(view, name) {
    const ok = await act(() => put(`${base}/layout`, { view, layout: name }), t("live.layout_set"));
    if (ok) {
      s.layouts[view] = name;
      s.pins[view] = {};
      renderPickers();
      renderPinBoard();
    }
  }

  // --- pin board ----------------------------------------------------------
  function renderPinBoard() {
    const view = s.pinView;
    const layout = s.layouts[view] || s.layouts.chair;
    const slots = (LAYOUTS[layout] || []).length;
    const labels = [];
    for (const [slot, endpoint] of Object.entries(s.pins[view])) labels[slot] = `${Number(slot) + 1}: ${nameOf(endpoint)}`;
    const pic = thumbnail(layout, { numbers: true, labels });
    const live = running(s.conf.state);
    if (runs && live) {
      for (const tile of pic.querySelectorAll(".tile")) {
        const slot = Number(tile.getAttribute("data-slot"));
        tile.addEventListener("dragover", (ev) => {
          ev.preventDefault();
          tile.classList.add("over");
        });
        tile.addEventListener("dragleave", () => tile.classList.remove("over"));
        tile.addEventListener("drop", (ev) => {
          ev.preventDefault();
          tile.classList.remove("over");
          const endpoint = ev.dataTransfer.getData("text/plain");
          if (endpoint) pin(view, slot, endpoint);
        });
      }
    }
    const viewSel = h("select", { id: "pin-view" }, VIEWS.map((v) => h("option", { value: v, selected: v === view }, t("live.view_" + v))));
    viewSel.addEventListener("change", () => {
      s.pinView = viewSel.value;
      renderPinBoard();
    });
    const slotSel = h("select", { id: "pin-slot" }, Array.from({ length: slots }, (_, i) => h("option", { value: i }, String(i + 1))));
    const endpointSel = h("select", { id: "pin-endpoint" }, s.conf.participants.map((p) => h("option", { value: p.endpoint }, p.name || p.endpoint)));
    replace(
      pinEl,
      h("h2", {}, t("live.pin_heading")),
      h("p", { class: "muted" }, t("live.pin_hint"), " ", `(${layout})`),
      pic,
      h("div", { class: "row" },
        h("label", {}, t("live.view"), viewSel),
        h("label", {}, t("live.slot"), slotSel),
        h("label", {}, t("live.endpoint"), endpointSel),
        h("button", { type: "button", id: "pin-set", disabled: !runs || !live, onclick: () => pin(view, Number(slotSel.value), endpointSel.value) }, t("live.pin")),
        h("button", { type: "button", class: "secondary", id: "pin-clear", disabled: !runs || !live, onclick: () => pin(view, Number(slotSel.value), null) }, t("live.unpin"))),
    );
  }

  async function pin(view, slot, endpoint) {
    const ok = await act(() => post(`${base}/pin`, { view, slot, endpoint }), t("live.pinned"));
    if (ok) {
      if (endpoint) s.pins[view][slot] = endpoint;
      else delete s.pins[view][slot];
      renderPinBoard();
    }
  }

  // --- refresh ------------------------------------------------------------
  async function act(run, okMessage) {
    const ok = await attempt(run, okMessage);
    await refresh();
    return ok;
  }

  // A new state of the conference (from the events socket or a fetch).
  function apply(conf) {
    const before = [s.conf.state, s.conf.layout].join(" ");
    s.conf = conf;
    floor.update(s.conf.floor);
    const after = [s.conf.state, s.conf.layout].join(" ");
    if (before !== after) {
      s.layouts.chair = s.conf.layout;
      renderHead();
      renderPickers();
      renderPinBoard();
      renderRoster(true);
    } else {
      renderRoster(false);
    }
    applyLevels();
    applyQuality();
  }

  let failing = false;
  async function refresh() {
    try {
      apply(await fetchConference(id));
      if (running(s.conf.state) && !socket) applyQualityView(await get(`${base}/quality`));
      failing = false;
    } catch (e) {
      if (!failing) showError(e);
      failing = true;
    }
  }

  // Level meters and the active speaker's row, from the latest `levels` event.
  let levels = { active_speaker: null, levels: {} };
  function applyLevels() {
    for (const m of rosterBody.querySelectorAll("meter.level")) {
      const v = levels.levels[m.dataset.level];
      m.value = v === undefined ? -60 : Math.max(-60, v);
    }
    for (const tr of rosterBody.querySelectorAll("tr[data-endpoint]")) {
      tr.classList.toggle("speaking", tr.dataset.endpoint === levels.active_speaker);
    }
  }

  // Quality badges by endpoint, from the latest `quality` event.
  let quality = {};
  function applyQuality() {
    for (const td of rosterBody.querySelectorAll("td[data-quality]")) {
      replace(td, qualityCell(quality[td.dataset.quality]));
    }
  }
  function applyQualityView(view) {
    quality = Object.fromEntries(view.endpoints.map((q) => [q.endpoint, q]));
    applyQuality();
    alarms.update({ active: view.active_alarms, recent: view.recent_alarms });
  }

  let socket = null;
  let timer = null;
  let stopped = false;
  function connectEvents() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(`${scheme}${location.host}/api/v1${base}/events`);
    socket.onopen = () => {
      document.body.dataset.events = "live";
      if (timer) { clearInterval(timer); timer = null; }
    };
    socket.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch (_) { return; }
      if (msg.type === "conference") {
        msg.conference.floor = s.conf.floor;
        apply(msg.conference);
      } else if (msg.type === "floor") {
        apply(Object.assign({}, s.conf, { floor: msg.queue }));
      } else if (msg.type === "levels") {
        levels = msg;
        applyLevels();
      } else if (msg.type === "quality") {
        quality = Object.fromEntries(msg.endpoints.map((q) => [q.endpoint, q]));
        applyQuality();
      } else if (msg.type === "alarms") {
        alarms.update(msg);
      }
    };
    socket.onclose = () => {
      socket = null;
      document.body.dataset.events = "polling";
      if (!stopped && !timer) timer = setInterval(refresh, POLL_MS);
    };
  }

  replace(
    root,
    headEl,
    h("div", { class: "live-grid" },
      h("section", { class: "card" },
        h("h2", {}, t("live.roster")),
        h("table", {},
          h("thead", {}, h("tr", {},
            h("th", {}, t("live.endpoint")),
            h("th", {}, t("live.connection")),
            h("th", {}, t("live.quality")),
            h("th", {}, t("live.audio")),
            h("th", {}, t("live.video")),
            h("th", {}, t("live.presets")),
            h("th", {}, ""))),
          rosterBody)),
      h("div", {}, readiness.el, scenario.el, alarms.el, preview.el, floor.el, editorEl,
        // Layouts and pins are the operators' business; a site operator runs only their room.
        siteOperator ? null : [pickersEl, h("section", { class: "card" }, pinEl)])),
    cascade.el,
  );
  await Promise.all(s.conf.participants.map((p) => loadPresets(p.endpoint)));
  renderHead();
  renderRoster(true);
  floor.update(s.conf.floor);
  renderPickers();
  renderPinBoard();

  connectEvents();
  return () => {
    stopped = true;
    preview.stop();
    scenario.stop();
    readiness.stop();
    cascade.stop();
    if (timer) clearInterval(timer);
    timer = null;
    if (socket) socket.close();
  };
}
