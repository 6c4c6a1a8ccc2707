// Booking notifications (R9), for operators: the outbox — every message to
// a participating endpoint's contact, its status, attempts, last error and
// next attempt; failing messages stand out and can be retried now. The
// panel refreshes itself every few seconds; `badge` puts the count of
// failing messages next to the navigation link.

import { get, post, seg } from "./api.js";
import { h, replace, attempt, when } from "./dom.js";
import { t, locale } from "./i18n.js";

const REFRESH_MS = 5000;

/** Adds the number of failing messages to the navigation link, if any. */
export async function badge() {
  const link = document.querySelector('#nav a[href="#/notifications"]');
  if (!link) return;
  try {
    const o = await get("/outbox?limit=1");
    if (o.failing > 0) link.append(" ", h("span", { class: "badge no", id: "notify-failing-count" }, String(o.failing)));
  } catch (_) {
    // The count is a convenience; the panel itself shows errors.
  }
}

function statusBadge(status) {
  const cls = status === "delivered" ? "yes" : status === "failing" ? "no" : "";
  return h("span", { class: "badge " + cls }, t("notify.status_" + status));
}

function row(m, retry) {
  const failing = m.status === "failing";
  return h("tr", { "data-id": m.id, "data-status": m.status },
    h("td", {}, String(m.id), h("div", { class: "muted" }, when(m.created_at, locale()))),
    h("td", {}, t("notify.event_" + m.event), h("div", { class: "muted" }, "#" + m.booking_id)),
    h("td", {}, m.endpoint_id),
    h("td", {}, m.recipient_name, h("div", { class: "muted" }, m.channel === "email" ? m.recipient_email : m.recipient_phone)),
    h("td", {}, t("notify.channel_" + m.channel)),
    h("td", { title: m.body }, m.subject),
    h("td", {}, statusBadge(m.status)),
    h("td", {}, String(m.attempts)),
    h("td", {}, failing ? h("strong", { class: "notify-error" }, m.last_error || "") : (m.last_error || "")),
    h("td", {}, m.status === "delivered" ? when(m.delivered_at, locale()) : when(m.next_attempt_at, locale())),
    h("td", {}, m.status === "delivered" ? null
      : h("button", { type: "button", class: "secondary", "data-retry": m.id, onclick: () => retry(m.id) }, t("notify.retry"))));
}

export async function render(ctx, root) {
  const filter = h("select", { id: "notify-filter" },
    ["", "failing", "pending", "delivered"].map((s) =>
      h("option", { value: s }, s ? t("notify.status_" + s) : t("notify.all"))));
  const summary = h("p", { id: "notify-summary" });
  const body = h("tbody", { id: "notify-rows" });
  const load = async () => {
    const q = filter.value ? `?status=${seg(filter.value)}` : "";
    const o = await get("/outbox" + q);
    replace(summary,
      t("notify.summary", { pending: o.pending, delivered: o.delivered }), " ",
      h("span", { class: "badge " + (o.failing > 0 ? "no" : "yes"), id: "notify-failing" },
        t("notify.failing_count", { n: o.failing })));
    replace(body, o.messages.length ? o.messages.map((m) => row(m, retry))
      : h("tr", {}, h("td", { colspan: 11, class: "muted" }, t("notify.none"))));
  };
  const retry = (id) => attempt(async () => {
    await post(`/outbox/${seg(id)}/retry`);
    await load();
  }, t("notify.retried"));
  filter.addEventListener("change", () => attempt(load));
  replace(root,
    h("h1", {}, t("notify.heading")),
    h("p", { class: "muted" }, t("notify.about")),
    h("div", { class: "row" }, h("label", {}, t("notify.filter"), filter)),
    summary,
    h("table", { id: "notify" },
      h("thead", {}, h("tr", {},
        h("th", {}, t("notify.id")), h("th", {}, t("notify.event")), h("th", {}, t("notify.endpoint")),
        h("th", {}, t("notify.recipient")), h("th", {}, t("notify.channel")), h("th", {}, t("notify.subject")),
        h("th", {}, t("notify.status")), h("th", {}, t("notify.attempts")), h("th", {}, t("notify.last_error")),
        h("th", {}, t("notify.next_attempt")), h("th", {}, ""))),
      body));
  await load();
  const timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
  return () => clearInterval(timer);
}
