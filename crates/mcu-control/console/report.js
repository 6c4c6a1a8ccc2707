// A conference's quality report (đánh giá chất lượng, R13): per endpoint the
// time connected, drops, freezes, loss / jitter / RTT (mean and p95) and the
// estimated MOS with its band, a summary, and the CSV / printable HTML
// exports. Any role that may see the conference reads it.

import { get, seg } from "./api.js";
import { h, svg, replace, when } from "./dom.js";
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

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
const W = 640;
const H = 150;
const PAD = 36;

/**
 * One metric over time, a line per endpoint: `pick(point)` gives the value
 * (null: no figure, the line breaks). Points are `[at_ms, loss, jitter, rtt]`.
 */
function chart(id, title, unit, series, pick) {
  const all = series.flatMap((e) => e.points);
  const values = all.map(pick).filter((v) => v !== null && v !== undefined);
  if (!all.length || !values.length) return null;
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const top = Math.max(...values) * 1.1 || 1;
  const x = (t) => PAD + ((t - t0) / (t1 - t0)) * (W - PAD - 8);
  const y = (v) => H - 18 - (v / top) * (H - 28);
  const lines = series.map((e, i) => {
    const parts = [];
    let run = [];
    for (const p of e.points) {
      const v = pick(p);
      if (v === null || v === undefined) {
        if (run.length) parts.push(run);
        run = [];
      } else {
        run.push(`${x(p[0]).toFixed(1)},${y(v).toFixed(1)}`);
      }
    }
    if (run.length) parts.push(run);
    return parts.map((pts) => svg("polyline", {
      points: pts.join(" "), fill: "none", stroke: COLOURS[i % COLOURS.length], "stroke-width": 1.5,
      "data-endpoint": e.endpoint,
    }));
  });
  return h("figure", { class: "chart", id },
    h("figcaption", {}, `${title} (${unit})`),
    svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": title },
      svg("line", { x1: PAD, y1: H - 18, x2: W - 8, y2: H - 18, stroke: "#9aa7b4" }),
      svg("line", { x1: PAD, y1: 10, x2: PAD, y2: H - 18, stroke: "#9aa7b4" }),
      svg("text", { x: PAD - 4, y: 14, "text-anchor": "end", "font-size": 10 }, top.toFixed(1)),
      svg("text", { x: PAD - 4, y: H - 18, "text-anchor": "end", "font-size": 10 }, "0"),
      svg("text", { x: PAD, y: H - 4, "font-size": 10 }, when(t0, locale())),
      svg("text", { x: W - 8, y: H - 4, "text-anchor": "end", "font-size": 10 }, when(t1, locale())),
      lines));
}

function charts(series) {
  if (!series.length) return null;
  const legend = h("ul", { class: "legend" }, series.map((e, i) =>
    h("li", {},
      svg("svg", { class: "swatch", width: 14, height: 6 }, svg("rect", { width: 14, height: 6, fill: COLOURS[i % COLOURS.length] })),
      e.name || e.endpoint)));
  return h("section", { class: "card", id: "report-charts" },
    h("h2", {}, t("report.charts")),
    legend,
    chart("chart-loss", t("report.loss_chart"), "%", series, (p) => p[1]),
    chart("chart-jitter", t("report.jitter_chart"), "ms", series, (p) => p[2]),
    chart("chart-rtt", t("report.rtt_chart"), "ms", series, (p) => p[3]));
}

export async function render(ctx, root, id) {
  const base = `/conferences/${seg(id)}`;
  const [r, series] = await Promise.all([get(`${base}/report`), get(`${base}/report/series`)]);
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
    charts(series),
    h("p", { class: "muted" }, t("report.method")));
}
