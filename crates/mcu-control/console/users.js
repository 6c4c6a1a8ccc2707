// Accounts (admins only): list, create with a role, disable/enable, reset a
// password. The API refuses everyone else whatever this page shows.

import { get, post, patch } from "./api.js";
import { h, replace, attempt, when } from "./dom.js";
import { t, locale } from "./i18n.js";

const ROLES = ["admin", "operator", "site_operator", "auditor"];

function createForm(reload) {
  const username = h("input", { name: "username", required: true, autocomplete: "off" });
  const displayName = h("input", { name: "display_name", required: true, size: 28 });
  const role = h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r, selected: r === "operator" }, t("role." + r))));
  const password = h("input", { name: "password", type: "password", required: true, minlength: 12, autocomplete: "new-password" });
  const endpoints = h("input", { name: "endpoints", size: 28, placeholder: "son-duong, ham-yen" });
  const form = h("form", { class: "card", id: "user-create" },
    h("h2", {}, t("users.create")),
    h("div", { class: "row" },
      h("label", {}, t("users.username"), username),
      h("label", {}, t("users.display_name"), displayName),
      h("label", {}, t("users.role"), role),
      h("label", {}, t("users.password"), password),
      h("label", {}, t("users.endpoints"), endpoints)),
    h("p", { class: "muted" }, t("users.password_hint"), " ", t("users.endpoints_hint")),
    h("button", { type: "submit" }, t("users.create_submit")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      username: username.value.trim(),
      display_name: displayName.value.trim(),
      role: role.value,
      password: password.value,
      endpoints: endpoints.value.split(",").map((s) => s.trim()).filter(Boolean),
    };
    if (await attempt(() => post("/users", body), t("users.created"))) {
      form.reset();
      reload();
    }
  });
  return form;
}

function userRow(ctx, u, reload) {
  const self = ctx.me && ctx.me.id === u.id;
  const newPassword = h("input", { type: "password", minlength: 12, placeholder: t("users.new_password"), autocomplete: "new-password", "aria-label": t("users.new_password") });
  const locked = u.locked_until && u.locked_until > Date.now();
  return h("tr", { "data-user": u.username },
    h("td", {}, h("strong", {}, u.username)),
    h("td", {}, u.display_name),
    h("td", {}, t("role." + u.role), u.endpoints.length ? h("div", { class: "muted" }, u.endpoints.join(", ")) : null),
    h("td", {},
      h("span", { class: "badge " + (u.disabled ? "no" : "yes") }, u.disabled ? t("users.disabled") : t("users.enabled")),
      locked ? h("div", { class: "muted" }, t("users.locked_until") + " " + when(u.locked_until, locale())) : null),
    h("td", { class: "actions" },
      h("button", {
        type: "button", class: u.disabled ? "" : "danger", disabled: self,
        onclick: async () => {
          if (await attempt(() => patch(`/users/${u.id}`, { disabled: !u.disabled }), t("form.saved"))) reload();
        },
      }, u.disabled ? t("users.enable") : t("users.disable")),
      newPassword,
      h("button", {
        type: "button", class: "secondary",
        onclick: async () => {
          if (await attempt(() => patch(`/users/${u.id}`, { password: newPassword.value }), t("users.password_reset"))) reload();
        },
      }, t("users.reset_password"))));
}

export async function render(ctx, root) {
  const body = h("tbody");
  const reload = async () => {
    const list = await get("/users");
    replace(body, list.map((u) => userRow(ctx, u, () => reload().catch(() => {}))));
  };
  replace(root,
    h("h1", {}, t("users.heading")),
    h("table", { id: "users" },
      h("thead", {}, h("tr", {},
        h("th", {}, t("users.username")), h("th", {}, t("users.display_name")), h("th", {}, t("users.role")),
        h("th", {}, t("users.status")), h("th", {}, ""))),
      body),
    createForm(() => reload().catch(() => {})));
  await reload();
}
