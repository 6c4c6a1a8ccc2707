// A conference's logbook (sổ ghi biên bản, R12): the entries oldest first,
// an incident or note form, the duty officer's sign-off, the hash-chain
// verification, and the CSV / printable HTML exports. Admins and operators
// write and sign; auditors read. Nothing is edited in place: a correction is
// a new entry that names the corrected one.

import { get, post, seg } from "./api.js";
import { h, replace, attempt, when } from "./dom.js";
import { t, locale } from "./i18n.js";

const PAGE = 200;

function entryRow(e) {
  const remedy = e.details && typeof e.details.remedy === "string" ? e.details.remedy : null;
  return h("tr", { "data-seq": e.seq, "data-kind": e.kind },
    h("td", {}, String(e.seq)),
    h("td", {}, when(e.at, locale())),
    h("td", {}, t("logbook.kind_" + e.kind), h("div", { class: "muted" }, t("logbook.category_" + e.category))),
    h("td", { class: "logbook-text" }, e.text,
      remedy ? h("div", { class: "muted" }, t("logbook.remedy"), ": ", remedy) : null,
      e.refers_to ? h("div", { class: "muted" }, t("logbook.corrects", { seq: e.refers_to })) : null),
    h("td", {}, e.actor));
}

function verifyText(v) {
  return v.intact
    ? t("logbook.intact", { entries: v.entries, hash: v.last_hash })
    : t("logbook.broken", { seq: v.broken_seq, reason: v.reason });
}

function entryForm(base, reload) {
  const category = h("select", { name: "category", id: "logbook-category" },
    h("option", { value: "incident" }, t("logbook.category_incident")),
    h("option", { value: "note" }, t("logbook.category_note")));
  const text = h("textarea", { name: "text", id: "logbook-text", rows: 3, cols: 60, maxlength: 4000, required: true });
  const remedy = h("textarea", { name: "remedy", id: "logbook-remedy", rows: 2, cols: 60, maxlength: 4000 });
  const refersTo = h("input", { name: "refers_to", id: "logbook-refers-to", type: "number", min: 1, size: 5 });
  const form = h("form", { class: "card", id: "logbook-entry" },
    h("h2", {}, t("logbook.add")),
    h("div", { class: "row" },
      h("label", {}, t("logbook.category"), category),
      h("label", {}, t("logbook.refers_to"), refersTo)),
    h("div", { class: "row" },
      h("label", {}, t("logbook.text"), text),
      h("label", {}, t("logbook.remedy"), remedy)),
    h("button", { type: "submit" }, t("logbook.add_submit")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { category: category.value, text: text.value };
    if (remedy.value.trim()) body.remedy = remedy.value;
    if (refersTo.value) body.refers_to = Number(refersTo.value);
    if (await attempt(() => post(`${base}/logbook`, body), t("logbook.added"))) {
      form.reset();
      reload();
    }
  });
  return form;
}

function signForm(base, reload) {
  const name = h("input", { name: "signer_name", id: "logbook-signer-name", required: true, size: 30 });
  const title = h("input", { name: "signer_title", id: "logbook-signer-title", required: true, size: 30 });
  const remark = h("input", { name: "remark", id: "logbook-remark", size: 50 });
  const form = h("form", { class: "card", id: "logbook-sign-off" },
    h("h2", {}, t("logbook.sign_off")),
    h("p", { class: "muted" }, t("logbook.sign_off_hint")),
    h("div", { class: "row" },
      h("label", {}, t("logbook.signer_name"), name),
      h("label", {}, t("logbook.signer_title"), title),
      h("label", {}, t("logbook.remark"), remark)),
    h("button", { type: "submit", class: "danger" }, t("logbook.sign_off_submit")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!confirm(t("logbook.sign_off_confirm"))) return;
    const body = { signer_name: name.value.trim(), signer_title: title.value.trim() };
    if (remark.value.trim()) body.remark = remark.value.trim();
    if (await attempt(() => post(`${base}/logbook/sign-off`, body), t("logbook.signed"))) reload();
  });
  return form;
}

export async function render(ctx, root, id) {
  const base = `/conferences/${seg(id)}`;
  const c = await get(base);
  const rows = h("tbody", { id: "logbook-rows" });
  const status = h("p", { id: "logbook-verify" });
  const forms = h("div", { id: "logbook-forms" });
  const reload = async () => {
    let entries = [];
    for (;;) {
      const after = entries.length ? `&after=${entries[entries.length - 1].seq}` : "";
      const page = await get(`${base}/logbook?limit=${PAGE}${after}`);
      entries = entries.concat(page);
      if (page.length < PAGE) break;
    }
    replace(rows, entries.length ? entries.map(entryRow) : h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("logbook.none"))));
    const v = await get(`${base}/logbook/verify`);
    status.className = "badge " + (v.intact ? "yes" : "no");
    replace(status, verifyText(v));
    const signed = entries.length > 0 && entries[entries.length - 1].kind === "sign_off";
    replace(forms,
      signed ? h("p", { class: "muted", id: "logbook-closed" }, t("logbook.closed")) : null,
      !signed && ctx.can("write_logbook") ? entryForm(base, reload) : null,
      !signed && ctx.can("write_logbook") && c.state !== "live" ? signForm(base, reload) : null);
  };
  replace(root,
    h("h1", {}, t("logbook.heading"), ": ", c.title),
    h("div", { class: "row" },
      h("a", { href: "#/conference/" + seg(id), class: "button secondary" }, t("logbook.back")),
      h("a", { href: `/api/v1${base}/logbook.csv`, class: "button secondary", id: "logbook-csv", download: "" }, t("logbook.export_csv")),
      h("a", { href: `/api/v1${base}/logbook.html`, class: "button secondary", id: "logbook-html", target: "_blank", rel: "noopener" }, t("logbook.export_html")),
      h("button", { type: "button", id: "logbook-reverify", onclick: () => attempt(reload) }, t("logbook.verify"))),
    status,
    h("table", { id: "logbook" },
      h("thead", {}, h("tr", {},
        h("th", {}, t("logbook.seq")), h("th", {}, t("logbook.at")), h("th", {}, t("logbook.kind")),
        h("th", {}, t("logbook.text")), h("th", {}, t("logbook.actor")))),
      rows),
    forms);
  await reload();
}
