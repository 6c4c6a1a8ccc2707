// The console's shell: who is logged in, the navigation, hash routing, the
// language toggle, the message bar, and the login view.
//
// Routes: #/login, #/conferences, #/conference/<id>, #/conference/<id>/logbook,
// #/conference/<id>/report,
// #/bookings, #/directory, #/users, #/recordings, #/usage, #/audit, #/notifications. What a role sees follows GET /api/v1/auth/me, but the API
// enforces every right by itself: hiding a button is only a convenience.

import { api, get, post, setUnauthenticatedHandler } from "./api.js";
import { h, replace, when, flash, showError } from "./dom.js";
import { t, lang, setLang, locale, errorText } from "./i18n.js";
import * as conferences from "./conferences.js";
import * as live from "./live.js";
import * as directory from "./directory.js";
import * as users from "./users.js";
import * as audit from "./audit.js";
import * as logbook from "./logbook.js";
import * as report from "./report.js";
import * as bookings from "./bookings.js";
import * as notify from "./notify.js";
import * as recordings from "./recordings.js";
import * as usage from "./usage.js";

const app = {
  me: null,
  /** Cleanup of the current view (e.g. stops the live view's polling). */
  leave: null,
};

/** What each role may do, mirroring the API's rights table (auth.rs `allowed`). */
export function can(me, what) {
  const role = me && me.role;
  switch (what) {
    case "manage_users":
    case "manage_endpoints":
      return role === "admin";
    case "run_conferences":
    case "decide_bookings":
      return role === "operator";
    case "read_audit":
      return role === "admin" || role === "auditor";
    case "read_logbook":
      return role === "admin" || role === "operator" || role === "auditor";
    case "write_logbook":
    case "read_recordings":
      return role === "admin" || role === "operator";
    case "edit_contacts":
      return role === "admin" || role === "site_operator";
    case "request_bookings":
      // Site operators for bookings chaired by their own endpoint (the API checks which).
      return role === "operator" || role === "site_operator";
    case "decide_bookings":
      return role === "operator";
    case "edit_presets":
      // Site operators too, for their own endpoints only (live.js checks which).
      return role === "admin" || role === "operator";
    default:
      return false;
  }
}

const ctx = {
  get me() {
    return app.me;
  },
  can: (what) => can(app.me, what),
  go: (hash) => {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  rerender: () => route(),
};

function navLinks() {
  const links = [
    ["#/conferences", t("nav.conferences"), true],
    ["#/bookings", t("nav.bookings"), true],
    ["#/directory", t("nav.directory"), true],
    ["#/users", t("nav.users"), ctx.can("manage_users")],
    ["#/recordings", t("nav.recordings"), ctx.can("read_recordings")],
    // Every role: a site operator's report holds only their own endpoints.
    ["#/usage", t("nav.usage"), true],
    ["#/audit", t("nav.audit"), ctx.can("read_audit")],
    ["#/notifications", t("nav.notify"), ctx.can("decide_bookings")],
  ];
  return links
    .filter(([, , show]) => show)
    .map(([href, label]) =>
      h("a", { href, class: location.hash.startsWith(href) ? "active" : null }, label),
    );
}

function renderShell() {
  document.documentElement.lang = lang();
  document.title = t("app.title");
  document.getElementById("brand").textContent = t("app.title");
  const langButton = document.getElementById("lang-toggle");
  langButton.textContent = t("lang.switch");
  langButton.setAttribute("aria-label", t("lang.switch_label"));
  const logout = document.getElementById("logout");
  logout.textContent = t("nav.logout");
  logout.hidden = !app.me;
  replace(document.getElementById("nav"), app.me ? navLinks() : []);
  if (ctx.can("decide_bookings")) notify.badge();
  replace(
    document.getElementById("who"),
    app.me ? `${app.me.display_name} (${t("role." + app.me.role)})` : "",
  );
}

function renderLogin(root) {
  const user = h("input", { name: "username", id: "login-username", autocomplete: "username", required: true });
  const pass = h("input", { name: "password", id: "login-password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", id: "login-submit" }, t("login.submit"));
  const error = h("p", { id: "login-error", role: "alert", class: "muted" });
  const form = h(
    "form",
    { class: "card login", id: "login-form" },
    h("h1", {}, t("login.title")),
    h("label", {}, t("login.username"), user),
    h("label", {}, t("login.password"), pass),
    submit,
    error,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    try {
      const res = await post("/auth/login", { username: user.value, password: pass.value });
      app.me = res.user;
      flash("");
      ctx.go("#/conferences");
    } catch (e) {
      error.textContent = errorText(e);
      pass.value = "";
    } finally {
      submit.disabled = false;
    }
  });
  replace(root, form);
  user.focus();
}

const views = [
  [/^#\/conferences$/, (root) => conferences.render(ctx, root)],
  [/^#\/conference\/([^/]+)$/, (root, m) => live.render(ctx, root, decodeURIComponent(m[1]))],
  [/^#\/conference\/([^/]+)\/logbook$/, (root, m) => logbook.render(ctx, root, decodeURIComponent(m[1]))],
  [/^#\/conference\/([^/]+)\/report$/, (root, m) => report.render(ctx, root, decodeURIComponent(m[1]))],
  [/^#\/bookings$/, (root) => bookings.render(ctx, root)],
  [/^#\/directory$/, (root) => directory.render(ctx, root)],
  [/^#\/users$/, (root) => users.render(ctx, root)],
  [/^#\/recordings$/, (root) => recordings.render(ctx, root)],
  [/^#\/usage(?:\?from=([0-9-]*)&to=([0-9-]*))?$/, (root, m) => usage.render(ctx, root, m[1], m[2])],
  [/^#\/audit$/, (root) => audit.render(ctx, root)],
  [/^#\/notifications$/, (root) => notify.render(ctx, root)],
];

async function route() {
  if (app.leave) {
    app.leave();
    app.leave = null;
  }
  const root = document.getElementById("view");
  const hash = location.hash || "#/conferences";
  if (!app.me && hash !== "#/login") {
    try {
      app.me = await get("/auth/me");
    } catch (_) {
      app.me = null;
    }
    if (!app.me) {
      location.hash = "#/login";
      return;
    }
  }
  renderShell();
  if (hash === "#/login") {
    renderLogin(root);
    return;
  }
  for (const [pattern, view] of views) {
    const m = hash.match(pattern);
    if (m) {
      replace(root);
      try {
        app.leave = (await view(root, m)) || null;
      } catch (e) {
        showError(e);
      }
      return;
    }
  }
  location.hash = "#/conferences";
}

function start() {
  setUnauthenticatedHandler(() => {
    app.me = null;
    if (location.hash !== "#/login") location.hash = "#/login";
  });
  document.getElementById("lang-toggle").addEventListener("click", () => {
    setLang(lang() === "vi" ? "en" : "vi");
    route();
  });
  document.getElementById("logout").addEventListener("click", async () => {
    try {
      await api("POST", "/auth/logout");
    } catch (_) {
      // The session may have ended already; either way the user is out.
    }
    app.me = null;
    flash("");
    location.hash = "#/login";
  });
  window.addEventListener("hashchange", route);
  route();
}

// Exposed for end-to-end tests and debugging: no secrets here (the session
// cookie is HTTP-only).
window.mcuConsole = { get me() { return app.me; }, when: (ms) => when(ms, locale()) };

start();
