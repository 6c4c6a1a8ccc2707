// The audit log (admins, auditors): who did what, when, from where, with
// what result — newest first, paged back with `before`.

import { get } from "./api.js";
import { h, replace, attempt, when } from "./dom.js";
import { t, locale } from "./i18n.js";

const PAGE = 50;

function row(a) {
  return h("tr", { "data-id": a.id, "data-action": a.action },
    h("td", {}, when(a.at, locale())),
    h("td", {}, a.actor, h("div", { class: "muted" }, a.role)),
    h("td", {}, h("code", {}, a.action)),
    h("td", {}, a.target),
    h("td", {}, a.from_addr),
    h("td", {}, h("span", { class: "badge " + (a.result === "ok" ? "yes" : "no") }, a.result)),
    h("td", {}, h("code", { class: "muted" }, a.details === null ? "" : JSON.stringify(a.details))));
}

export async function render(ctx, root) {
  const body = h("tbody", { id: "audit-rows" });
  let oldest = null;
  const older = h("button", { type: "button", id: "audit-older", class: "secondary" }, t("audit.older"));
  const load = async () => {
    const q = `?limit=${PAGE}` + (oldest === null ? "" : `&before=${oldest}`);
    const entries = await get("/audit" + q);
    body.append(...entries.map(row));
    if (entries.length) oldest = entries[entries.length - 1].id;
    older.disabled = entries.length < PAGE;
    if (!entries.length && oldest === null) body.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, t("audit.none"))));
  };
  older.addEventListener("click", () => attempt(load));
  replace(root,
    h("h1", {}, t("audit.heading")),
    h("table", { id: "audit" },
      h("thead", {}, h("tr", {},
        h("th", {}, t("audit.at")), h("th", {}, t("audit.actor")), h("th", {}, t("audit.action")),
        h("th", {}, t("audit.target")), h("th", {}, t("audit.from")), h("th", {}, t("audit.result")),
        h("th", {}, t("audit.details")))),
      body),
    h("div", { class: "row" }, older));
  await load();
}
