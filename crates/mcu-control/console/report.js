// A conference's quality report (đánh giá chất lượng, R13): per endpoint the
// time connected, drops, freezes, loss / jitter / RTT (mean and p95) and the
// estimated MOS with its band, a summary, and the CSV / printable HTML
// exports. Any role that may see the conference reads it.

import { get, seg } from "./api.js";
import { h, replace, when } from "./dom.js";
import { t, locale } from "./i18n.js";

function fixed(v, digits) {
  return v === null || v === undefined ? "—" : Number(v).toFixed(digits);
}

function stat(s, digits) {
  return s ? `${fixed(s.mean, digits)} / ${fixed(s.p95, digits)}` : "—";
}

function duration(ms) {
  const s = Math.round(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  return hh > 0 ? t("report.hours_minutes", { h: hh, m: mm }) : t("report.minutes_seconds", { m: mm, s: ss });
}

function band(b) {
  return b
    ? h("span", { class: "badge mos-" + b, "data-band": b }, t("report.band_" + b))
    : h("span", { class: "muted" }, t("report.no_data"));
}

function endpointRow(e) {
  return h("tr", { "data-endpoint": e.endpoint },
    h("td", {}, e.name || e.endpoint, h("div", { class: "muted" }, e.endpoint)),
    h("td", {}, duration(e.connected_ms)),
    h("td", {}, String(e.drops)),
    h("td", {}, t("report.freezes_value", { n: e.freezes, s: fixed(e.freeze_ms / 1000, 1) })),
    h("td", {}, stat(e.loss_percent, 2)),
    h("td", {}, stat(e.jitter_ms, 1)),
    h("td", {}, stat(e.rtt_ms, 1)),
    h("td", {}, fixed(e.mos, 2)),
    h("td", {}, band(e.band)));
}

export async function render(ctx, root, id) {
  const base = `/conferences/${seg(id)}`;
  const r = await get(`${base}/report`);
  const s = r.summary;
  const worst = s.worst_endpoint ? r.endpoints.find((e) => e.endpoint === s.worst_endpoint) : null;
  replace(root,
    h("h1", {}, t("report.heading"), ": ", r.title),
    h("div", { class: "row" },
      h("a", { href: "#/conference/" + seg(id), class: "button secondary" }, t("report.back")),
      h("a", { href: `/api/v1${base}/report.csv`, class: "button secondary", id: "report-csv", download: "" }, t("report.export_csv")),
      h("a", { href: `/api/v1${base}/report.html`, class: "button secondary", id: "report-html", target: "_blank", rel: "noopener" }, t("report.export_html"))),
    r.state === "live" ? h("p", { class: "muted", id: "report-provisional" }, t("report.provisional")) : null,
    h("div", { class: "card", id: "report-summary" },
      h("p", {}, t("report.compiled", { at: when(r.compiled_at, locale()), period: fixed(r.record_period_ms / 1000, 1) })),
      h("p", {}, t("report.summary_endpoints", { n: s.endpoints }), " — ", t("report.mean_mos"), ": ",
        fixed(s.mean_mos, 2), " ", band(s.band)),
      worst ? h("p", {}, t("report.worst", { name: worst.name || worst.endpoint, mos: fixed(s.worst_mos, 2) })) : null,
      h("p", {}, t("report.totals", { drops: s.drops, freezes: s.freezes }))),
    h("table", { id: "report" },
      h("thead", {}, h("tr", {},
        h("th", {}, t("report.endpoint")), h("th", {}, t("report.connected")), h("th", {}, t("report.drops")),
        h("th", {}, t("report.freezes")), h("th", {}, t("report.loss")), h("th", {}, t("report.jitter")),
        h("th", {}, t("report.rtt")), h("th", {}, t("report.mos")), h("th", {}, t("report.band")))),
      h("tbody", { id: "report-rows" },
        r.endpoints.length
          ? r.endpoints.map(endpointRow)
          : h("tr", {}, h("td", { colspan: 9, class: "muted" }, t("report.none"))))),
    h("p", { class: "muted" }, t("report.method")));
}
