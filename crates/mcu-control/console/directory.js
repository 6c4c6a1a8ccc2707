// The endpoint directory (điểm cầu) by level with technical contacts (R14)
// and the contacts CSV. Admins add and edit endpoints and issue dial-in
// tokens (shown once, with the join URL); site operators edit their own
// endpoints' contacts.

import { get, post, put, seg } from "./api.js";
import { h, replace, attempt } from "./dom.js";
import { t } from "./i18n.js";

const LEVELS = ["central", "province", "district", "commune"];
const CONTACT_FIELDS = ["name", "title", "unit", "phone", "email"];

/** Editable rows of contacts; `read()` gives them back without empty rows. */
function contactsEditor(contacts) {
  const list = h("div", { class: "contacts" });
  const rows = [];
  const addRow = (c = {}) => {
    const inputs = CONTACT_FIELDS.map((f) => h("input", { name: "contact-" + f, value: c[f] || "", placeholder: t("contact." + f), "aria-label": t("contact." + f) }));
    const row = h("div", { class: "row" }, inputs);
    const entry = { row, inputs };
    row.append(h("button", {
      type: "button", class: "secondary",
      onclick: () => {
        rows.splice(rows.indexOf(entry), 1);
        row.remove();
      },
    }, t("contact.remove")));
    rows.push(entry);
    list.append(row);
  };
  (contacts.length ? contacts : [{}]).forEach(addRow);
  const el = h("div", {}, h("h3", {}, t("dir.contacts")), list,
    h("button", { type: "button", class: "secondary", onclick: () => addRow() }, t("contact.add")));
  const read = () =>
    rows
      .map(({ inputs }) => Object.fromEntries(CONTACT_FIELDS.map((f, i) => [f, inputs[i].value.trim()])))
      .filter((c) => CONTACT_FIELDS.some((f) => c[f]));
  return { el, read };
}

/** The add/edit form of an endpoint (admins). */
function endpointForm(existing, done) {
  const e = existing || { id: "", name: "", unit: "", level: "district", chair_capable: false, owner_mcu: "", contacts: [] };
  const id = h("input", { name: "id", value: e.id, required: true, readonly: existing ? true : null });
  const name = h("input", { name: "name", value: e.name, required: true, size: 36 });
  const unit = h("input", { name: "unit", value: e.unit, size: 30 });
  const level = h("select", { name: "level" }, LEVELS.map((l) => h("option", { value: l, selected: l === e.level }, t("level." + l))));
  const chair = h("input", { type: "checkbox", name: "chair_capable", checked: e.chair_capable });
  const owner = h("input", { name: "owner_mcu", value: e.owner_mcu, required: true });
  const contacts = contactsEditor(e.contacts || []);
  const form = h(
    "form",
    { class: "card", id: "endpoint-form" },
    h("h2", {}, existing ? t("dir.edit") + ": " + e.name : t("dir.add")),
    h("div", { class: "row" },
      h("label", {}, t("dir.id"), id),
      h("label", {}, t("dir.name"), name),
      h("label", {}, t("dir.unit"), unit),
      h("label", {}, t("dir.level"), level),
      h("label", {}, t("dir.owner_mcu"), owner),
      h("label", { class: "inline" }, chair, t("dir.chair_capable"))),
    contacts.el,
    h("div", { class: "row" },
      h("button", { type: "submit" }, t("form.save")),
      h("button", { type: "button", class: "secondary", onclick: () => done(false) }, t("form.cancel"))),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      id: id.value.trim(),
      name: name.value.trim(),
      unit: unit.value.trim(),
      level: level.value,
      chair_capable: chair.checked,
      owner_mcu: owner.value.trim(),
      contacts: contacts.read(),
    };
    const call = existing ? () => put(`/endpoints/${seg(e.id)}`, body) : () => post("/endpoints", body);
    if (await attempt(call, t("form.saved"))) done(true);
  });
  return form;
}

/** The contacts-only form (site operators, their own endpoints). */
function contactsForm(e, done) {
  const contacts = contactsEditor(e.contacts || []);
  const form = h("form", { class: "card" },
    h("h2", {}, t("dir.edit_contacts") + ": " + e.name),
    contacts.el,
    h("div", { class: "row" },
      h("button", { type: "submit" }, t("form.save")),
      h("button", { type: "button", class: "secondary", onclick: () => done(false) }, t("form.cancel"))));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (await attempt(() => put(`/endpoints/${seg(e.id)}/contacts`, contacts.read()), t("form.saved"))) done(true);
  });
  return form;
}

/**
 * Shows a freshly issued dial-in token once, with the join URL for a
 * conference the endpoint is in (picked from a list).
 */
function tokenBox(endpoint, token, conferences) {
  const mine = conferences.filter((c) => c.participants.some((p) => p.endpoint === endpoint) && c.state !== "ended" && c.state !== "reported");
  const pick = h("select", { id: "join-conference" }, mine.map((c) => h("option", { value: c.id }, `${c.title} (${c.id})`)));
  const url = h("p", { class: "token", id: "join-url" });
  const show = () => {
    url.textContent = `${location.origin}/join?conference=${seg(pick.value)}&endpoint=${seg(endpoint)}&token=${seg(token)}`;
  };
  pick.addEventListener("change", show);
  show();
  return h("div", { class: "card", id: "issued-token" },
    h("h2", {}, t("dir.token_issued")),
    h("p", {}, t("dir.token_once")),
    h("p", { class: "token", id: "token-value" }, token),
    mine.length ? h("label", {}, t("dir.join_conference"), pick) : h("p", { class: "muted" }, t("dir.join_no_conference")),
    mine.length ? [h("p", {}, t("dir.join_url")), url] : null,
    h("button", { type: "button", class: "secondary", onclick: (ev) => ev.target.closest("#issued-token").remove() }, t("form.close")));
}

export async function render(ctx, root) {
  const editor = h("div", { id: "endpoint-editor" });
  const tables = h("div");
  const admin = ctx.can("manage_endpoints");
  const own = (id) => ctx.me.role === "site_operator" && (ctx.me.endpoints || []).includes(id);

  const reload = async () => {
    const endpoints = await get("/endpoints");
    const close = (changed) => {
      replace(editor);
      if (changed) reload().catch(() => {});
    };
    replace(tables, LEVELS.map((level) => {
      const members = endpoints.filter((e) => e.level === level);
      if (!members.length) return null;
      return h("section", {},
        h("h2", {}, t("level." + level), ` (${members.length})`),
        h("table", { class: "directory", "data-level": level },
          h("thead", {}, h("tr", {},
            h("th", {}, t("dir.name")), h("th", {}, t("dir.unit")), h("th", {}, t("dir.chair_capable")),
            h("th", {}, t("dir.owner_mcu")), h("th", {}, t("dir.contacts")), h("th", {}, ""))),
          h("tbody", {}, members.map((e) => h("tr", { "data-endpoint": e.id },
            h("td", {}, h("strong", { class: "name" }, e.name), h("div", { class: "muted" }, e.id)),
            h("td", {}, e.unit),
            h("td", {}, e.chair_capable ? t("form.yes") : t("form.no")),
            h("td", {}, e.owner_mcu),
            h("td", {}, (e.contacts || []).map((c) => h("div", {},
              h("strong", {}, c.name), c.title ? `, ${c.title}` : "", c.unit ? ` — ${c.unit}` : "",
              h("div", { class: "muted" }, [c.phone, c.email].filter(Boolean).join(" · "))))),
            h("td", { class: "actions" },
              admin ? h("button", { type: "button", class: "edit", onclick: () => replace(editor, endpointForm(e, close)) }, t("dir.edit")) : null,
              admin ? h("button", {
                type: "button", class: "secondary token-issue",
                onclick: async () => {
                  if (!confirm(t("dir.token_confirm"))) return;
                  let res = null;
                  if (await attempt(async () => { res = await post(`/endpoints/${seg(e.id)}/token`); })) {
                    const conferences = await get("/conferences").catch(() => []);
                    replace(editor, tokenBox(e.id, res.token, conferences));
                  }
                },
              }, t("dir.issue_token")) : null,
              !admin && own(e.id) ? h("button", { type: "button", onclick: () => replace(editor, contactsForm(e, close)) }, t("dir.edit_contacts")) : null))))));
    }));
  };

  replace(
    root,
    h("h1", {}, t("dir.heading")),
    h("div", { class: "row" },
      h("a", { class: "button", href: "/api/v1/contacts.csv", download: "danh-ba-ky-thuat.csv", id: "contacts-csv" }, t("dir.download_csv")),
      admin ? h("button", { type: "button", id: "endpoint-add", onclick: () => replace(editor, endpointForm(null, (c) => { replace(editor); if (c) reload(); })) }, t("dir.add")) : null),
    editor,
    tables,
  );
  await reload();
}
