// The periodic usage report (báo cáo sử dụng; R13 yearly reports, R19 paid
// use): pick a period of whole days (Vietnam time; this year by default),
// read the totals and the tables per unit, per endpoint and per organising
// unit, and export CSV or the printable HTML page (the API audits both
// exports). A site operator sees only their own endpoints and no
// organisations; the API decides that, the view shows what comes back.
//
// Route: #/usage, or #/usage?from=YYYY-MM-DD&to=YYYY-MM-DD (bookmarkable).

import { get } from "./api.js";
import { h, replace, when, showError, flash } from "./dom.js";
import { t, locale } from "./i18n.js";

const VN_OFFSET_MS = 7 * 3600 * 1000;

/** This year in Vietnam time: [1 January, 31 December]. */
export function thisYear(nowMs) {
  const y = new Date(nowMs + VN_OFFSET_MS).getUTCFullYear();
  return { from: `${y}-01-01`, to: `${y}-12-31` };
}

function hours(ms) {
  return (ms / 3600000).toLocaleString(locale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function num(n) {
  return Number(n).toLocaleString(locale());
}

const cell = (v, cls) => h("td", { class: cls || "n" }, v);

function table(id, heads, rows, total, empty) {
  const body = h("tbody", {}, rows);
  if (!rows.length) body.append(h("tr", {}, h("td", { colspan: heads.length, class: "muted" }, empty)));
  if (total) body.append(total);
  return h("table", { id, class: "usage" },
    h("thead", {}, h("tr", {}, heads.map((k) => h("th", {}, t(k))))),
    body);
}

function unitName(unit) {
  return unit === null ? h("span", { class: "muted" }, t("usage.unit_gone")) : unit;
}

function unitsTable(r) {
  const heads = ["usage.unit", "usage.endpoints", "usage.endpoints_used", "usage.sessions", "usage.connected_h",
    "usage.readiness_checks", "usage.readiness_failures", "usage.incidents"];
  const rows = r.units.map((u) => h("tr", { "data-unit": u.unit === null ? "" : u.unit },
    cell(unitName(u.unit), ""), cell(num(u.endpoints)), cell(num(u.endpoints_used)), cell(num(u.sessions)),
    cell(hours(u.connected_ms)), cell(num(u.readiness_checks)), cell(num(u.readiness_failures)),
    cell(num(u.incidents))));
  const s = r.totals;
  const total = h("tr", { class: "total" },
    cell(t("usage.total"), ""), cell(num(s.endpoints)), cell(num(s.endpoints_used)), cell(num(s.sessions)),
    cell(hours(s.connected_ms)), cell(num(s.readiness_checks)), cell(num(s.readiness_failures)),
    cell(num(s.incidents)));
  return table("usage-units", heads, rows, total, t("usage.none"));
}

function endpointsTable(r) {
  const heads = ["usage.endpoint", "usage.unit", "usage.level", "usage.sessions", "usage.connected_h",
    "usage.readiness_checks", "usage.readiness_failures", "usage.incidents"];
  const rows = r.endpoints.map((e) => h("tr", { "data-endpoint": e.endpoint },
    cell([e.name, h("div", { class: "muted" }, e.endpoint)], ""), cell(unitName(e.unit), ""),
    cell(e.level ? t("level." + e.level) : "—", ""), cell(num(e.sessions)), cell(hours(e.connected_ms)),
    cell(num(e.readiness_checks)),
    cell(e.readiness_failures ? h("span", { class: "badge no" }, num(e.readiness_failures)) : "0"),
    cell(num(e.incidents))));
  return table("usage-endpoints", heads, rows, null, t("usage.none"));
}

function organisationsTable(r) {
  const heads = ["usage.organisation", "usage.bookings", "usage.booked_h", "usage.conferences", "usage.actual_h",
    "usage.endpoints", "usage.endpoint_h", "usage.incidents"];
  const rows = r.organisations.map((o) => h("tr", { "data-organisation": o.organisation === null ? "" : o.organisation },
    cell(o.organisation === null ? h("span", { class: "muted" }, t("usage.unbooked")) : o.organisation, ""),
    cell(num(o.bookings)), cell(hours(o.booked_ms)), cell(num(o.conferences)), cell(hours(o.actual_ms)),
    cell(num(o.endpoints)), cell(hours(o.endpoint_ms)), cell(num(o.incidents))));
  const s = r.organisation_totals;
  const total = h("tr", { class: "total" },
    cell(t("usage.total"), ""), cell(num(s.bookings)), cell(hours(s.booked_ms)), cell(num(s.conferences)),
    cell(hours(s.actual_ms)), cell(""), cell(hours(s.endpoint_ms)), cell(num(s.incidents)));
  return table("usage-organisations", heads, rows, total, t("usage.none"));
}

/** The usage report view (#/usage). */
export async function render(ctx, root, from, to) {
  const year = thisYear(Date.now());
  const fromInput = h("input", { type: "date", id: "usage-from", value: from || year.from, required: true });
  const toInput = h("input", { type: "date", id: "usage-to", value: to || year.to, required: true });
  const out = h("div", { id: "usage-report" });
  const form = h("form", { class: "card", id: "usage-form" },
    h("div", { class: "row" },
      h("label", {}, t("usage.from"), fromInput),
      h("label", {}, t("usage.to"), toInput),
      h("button", { type: "submit", id: "usage-show" }, t("usage.show"))),
    h("p", { class: "muted" }, t("usage.period_hint")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    ctx.go(`#/usage?from=${encodeURIComponent(fromInput.value)}&to=${encodeURIComponent(toInput.value)}`);
  });
  replace(root, h("h1", {}, t("usage.heading")), form, out);

  const q = `?from=${encodeURIComponent(fromInput.value)}&to=${encodeURIComponent(toInput.value)}`;
  let r;
  try {
    r = await get("/reports/usage" + q);
  } catch (e) {
    showError(e);
    return;
  }
  flash("");
  const s = r.totals;
  replace(out,
    h("div", { class: "row" },
      h("a", { href: "/api/v1/reports/usage.csv" + q, class: "button secondary", id: "usage-csv", download: "" }, t("usage.export_csv")),
      h("a", { href: "/api/v1/reports/usage.html" + q, class: "button secondary", id: "usage-html", target: "_blank", rel: "noopener" }, t("usage.export_html"))),
    h("div", { class: "card", id: "usage-summary" },
      h("p", {}, t("usage.compiled", { at: when(r.compiled_at, locale()) })),
      r.scope === "own_endpoints" ? h("p", { id: "usage-scope" }, t("usage.scope_own")) : null,
      h("p", {}, t("usage.summary", {
        endpoints: num(s.endpoints), used: num(s.endpoints_used), sessions: num(s.sessions),
        hours: hours(s.connected_ms), failures: num(s.readiness_failures), checks: num(s.readiness_checks),
        incidents: num(s.incidents),
      }))),
    h("h2", {}, t("usage.by_unit")),
    unitsTable(r),
    h("h2", {}, t("usage.by_endpoint")),
    endpointsTable(r),
    r.organisation_totals ? [h("h2", {}, t("usage.by_organisation")), organisationsTable(r)] : null,
    h("p", { class: "muted" }, t("usage.method")));
}
