// The readiness panel of a conference (R10): "26 / 28 sẵn sàng", the
// endpoints that are not ready with their reasons and measured figures, who
// is being measured now, re-test buttons (operators: any endpoint or all; a
// site operator: their own room) and the summary form's CSV / printable
// exports. It reads `GET …/readiness` when drawn and every 2 s while the
// conference's media runs; a conference never measured and not running
// shows no panel.

import { get, post } from "./api.js";
import { h, replace, when } from "./dom.js";
import { t, locale } from "./i18n.js";

const READ_MS = 2000;

function fixed(v, digits) {
  return v === null || v === undefined ? "—" : Number(v).toFixed(digits);
}

function figures(f) {
  const size = f.video_width ? `${f.video_width}×${f.video_height}` : "—";
  return t("ready.figures", {
    audio: fixed(f.audio_level_dbov, 0),
    fps: fixed(f.video_fps, 0),
    size,
    rtt: fixed(f.rtt_ms, 0),
    loss: fixed(f.loss_percent, 1),
    jitter: fixed(f.jitter_ms, 0),
    decoded: fixed(f.decoded_fps, 0),
  });
}

/**
 * The panel. `base` is the conference's API path, `runs` whether the user
 * runs conferences, `mine(endpoint)` whether a site operator looks after
 * it, `running()` whether the media runs now, `act(run, okMessage)` runs an
 * action and shows its outcome. Returns `{ el, stop() }`.
 */
export function readinessPanel({ base, runs, mine, running, act }) {
  const el = h("section", { class: "card", id: "readiness-panel", hidden: true });
  let view = null;

  async function read() {
    try {
      view = await get(`${base}/readiness`);
    } catch (_) {
      view = null;
    }
    draw();
  }

  async function retest(endpoints, message) {
    await act(() => post(`${base}/readiness`, { endpoints }), message);
    await read();
  }

  function row(e) {
    const canRetest = running() && e.status !== "measuring" && (runs || mine(e.endpoint));
    const status = e.status === "measuring"
      ? t("ready.measuring_since", { at: when(e.measuring_since, locale()) })
      : t("ready.status_" + e.status);
    return h("tr", { "data-endpoint": e.endpoint, "data-status": e.status },
      h("td", {}, e.name, h("div", { class: "muted" }, e.unit)),
      h("td", {}, h("span", { class: "badge ready-" + e.status }, status),
        e.attempts > 1 ? h("div", { class: "muted" }, t("ready.attempts", { n: e.attempts })) : null),
      h("td", { class: "reasons" },
        e.reasons.length ? h("ul", {}, e.reasons.map((r) => h("li", { "data-code": r.code }, r.message))) : "—"),
      h("td", { class: "muted" }, e.measured_at ? figures(e.figures) : "—"),
      h("td", {}, canRetest
        ? h("button", {
            type: "button", class: "secondary ready-retest",
            onclick: () => retest([e.endpoint], t("ready.retest_started", { name: e.name })),
          }, t("ready.retest"))
        : null));
  }

  /** The cascade links (R7: up at least 2 hours before the session), if any. */
  function links() {
    if (!view.links || !view.links.length) return null;
    return h("div", { id: "readiness-links" },
      h("h3", {}, t("ready.links")),
      h("ul", {}, view.links.map((l) => h("li", { "data-mcu": l.link.mcu.id, "data-state": l.link.state },
        t(l.role === "parent" ? (l.link.standby ? "cascade.standby" : "cascade.parent") : "cascade.child"),
        " ", h("strong", {}, l.link.mcu.name), " — ",
        h("span", { class: "badge " + (l.ready ? "ready-ready" : "ready-not_ready") }, t("cascade.link_" + l.link.state)),
        l.link.since_ms ? h("span", { class: "muted" }, " " + t("cascade.since", { at: new Date(l.link.since_ms).toLocaleString("vi-VN") })) : null,
        deadline(l)))));
  }

  /** Whether the link met its R7 deadline (booked conferences only). */
  function deadline(l) {
    if (!l.deadline_ms) return null;
    const at = new Date(l.deadline_ms).toLocaleString("vi-VN");
    const [key, cls] = l.on_time === true ? ["ready.on_time", "ready-ready"]
      : l.on_time === false ? ["ready.late", "ready-not_ready"] : ["ready.due", "muted"];
    return h("span", { class: "badge link-deadline " + cls, "data-on-time": String(l.on_time) }, " " + t(key, { at }));
  }

  function draw() {
    const measuredOnce = view && view.endpoints.some((e) => e.status !== "not_measured");
    el.hidden = !view || (!running() && !measuredOnce);
    if (el.hidden) return;
    replace(el,
      h("h2", {}, t("ready.heading")),
      h("p", { class: "ready-count" + (view.all_ready ? " all" : "") },
        h("strong", { id: "readiness-count" }, t("ready.count", { ready: view.ready, total: view.total })),
        view.measuring ? h("span", { class: "muted" }, " · " + t("ready.measuring", { n: view.measuring })) : null,
        view.all_ready ? h("span", { class: "badge yes" }, t("ready.all")) : null),
      h("div", { class: "row" },
        runs && running()
          ? h("button", {
              type: "button", id: "readiness-all",
              onclick: () => retest([], t("ready.all_started")),
            }, t("ready.retest_all"))
          : null,
        h("a", { href: `/api/v1${base}/readiness.csv`, class: "button secondary", id: "readiness-csv", download: "" }, t("report.export_csv")),
        h("a", { href: `/api/v1${base}/readiness.html`, class: "button secondary", id: "readiness-html", target: "_blank", rel: "noopener" }, t("ready.print"))),
      h("table", { class: "readiness" },
        h("thead", {}, h("tr", {},
          h("th", {}, t("live.endpoint")), h("th", {}, t("ready.result")), h("th", {}, t("ready.reasons")),
          h("th", {}, t("ready.measured")), h("th", {}, ""))),
        h("tbody", { id: "readiness-rows" }, view.endpoints.map(row))),
      links(),
      h("p", { class: "muted" }, t("ready.rules", {
        window: view.rules.window_seconds,
        audio: view.rules.audio_floor_dbov,
        fps: view.rules.min_video_fps,
        size: `${view.rules.min_video_width}×${view.rules.min_video_height}`,
        rtt: view.rules.max_rtt_ms,
        loss: view.rules.max_loss_percent,
        jitter: view.rules.max_jitter_ms,
        decoded: view.rules.min_decoded_fps,
      })));
  }

  read();
  const timer = setInterval(() => running() && read(), READ_MS);
  return { el, stop: () => clearInterval(timer) };
}
