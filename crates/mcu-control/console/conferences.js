// The conference list: state, title, participants; operators create,
// start and end conferences here.

import { get, post, seg } from "./api.js";
import { h, replace, when, attempt } from "./dom.js";
import { t, locale } from "./i18n.js";
import { LAYOUT_NAMES } from "./layouts.js";

const LEVELS = ["central", "province", "district", "commune"];

/** Media runs (endpoints may join): rehearsal, readiness check, live. */
export function running(state) {
  return state === "rehearsal" || state === "ready_check" || state === "live";
}

/** The official session can still be opened (before it went live). */
export function openable(state) {
  return state === "created" || state === "rehearsal" || state === "ready_check";
}

function stateBadge(state) {
  return h("span", { class: "badge " + state }, t("state." + state));
}

function conferenceRow(ctx, c, reload) {
  const connected = c.participants.filter((p) => p.connected).length;
  const actions = [h("a", { class: "button", href: "#/conference/" + seg(c.id) }, t("conf.open"))];
  if (ctx.can("read_logbook")) {
    actions.push(h("a", { class: "button secondary logbook", href: "#/conference/" + seg(c.id) + "/logbook" }, t("logbook.open")));
  }
  // The quality report: any role that sees the conference (R13).
  actions.push(h("a", { class: "button secondary report", href: "#/conference/" + seg(c.id) + "/report" }, t("report.open")));
  if (ctx.can("run_conferences") && openable(c.state)) {
    actions.push(
      h("button", {
        type: "button",
        class: "start",
        "data-conference": c.id,
        onclick: async () => {
          if (await attempt(() => post(`/conferences/${seg(c.id)}/start`), t("conf.started"))) reload();
        },
      }, t("conf.start")),
    );
  }
  if (ctx.can("run_conferences") && running(c.state)) {
    actions.push(
      h("button", {
        type: "button",
        class: "danger end",
        "data-conference": c.id,
        onclick: async () => {
          if (!confirm(t("conf.end_confirm"))) return;
          if (await attempt(() => post(`/conferences/${seg(c.id)}/end`), t("conf.ended"))) reload();
        },
      }, t("conf.end")),
    );
  }
  return h(
    "tr",
    { "data-conference": c.id },
    h("td", {}, stateBadge(c.state)),
    h("td", {}, h("strong", {}, c.title), h("div", { class: "muted" }, c.id)),
    h("td", {}, `${connected} / ${c.participants.length}`),
    h("td", {}, c.layout),
    h("td", {}, when(c.started_at || c.created_at, locale())),
    h("td", { class: "actions" }, actions),
  );
}

function createForm(endpoints, reload) {
  const id = h("input", { name: "id", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9._-]{0,63}", placeholder: "giao-ban-thang-5" });
  const title = h("input", { name: "title", required: true, size: 40 });
  const layout = h("select", { name: "layout" }, LAYOUT_NAMES.map((n) => h("option", { value: n, selected: n === "2x2" }, n)));
  const chair = h(
    "select",
    { name: "chair" },
    h("option", { value: "" }, t("conf.no_chair")),
    endpoints.filter((e) => e.chair_capable).map((e) => h("option", { value: e.id }, e.name)),
  );
  const boxes = [];
  const groups = LEVELS.map((level) => {
    const members = endpoints.filter((e) => e.level === level);
    if (!members.length) return null;
    return h(
      "fieldset",
      {},
      h("legend", {}, t("level." + level)),
      members.map((e) => {
        const box = h("input", { type: "checkbox", value: e.id, name: "participant" });
        boxes.push(box);
        return h("label", { class: "inline" }, box, e.name);
      }),
    );
  });
  const form = h(
    "form",
    { class: "card", id: "create-conference" },
    h("h2", {}, t("conf.create")),
    h("div", { class: "row" },
      h("label", {}, t("conf.id"), id),
      h("label", {}, t("conf.title"), title),
      h("label", {}, t("conf.chair"), chair),
      h("label", {}, t("conf.layout"), layout)),
    h("p", { class: "muted" }, t("conf.participants_hint")),
    h("div", { class: "row" }, groups),
    h("button", { type: "submit" }, t("conf.create_submit")),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const participants = boxes.filter((b) => b.checked).map((b) => b.value);
    if (chair.value && !participants.includes(chair.value)) participants.push(chair.value);
    const body = {
      id: id.value.trim(),
      title: title.value.trim(),
      chair: chair.value || null,
      layout: layout.value,
      participants,
    };
    if (await attempt(() => post("/conferences", body), t("conf.created"))) reload();
  });
  return form;
}

export async function render(ctx, root) {
  const list = h("tbody");
  const reload = async () => {
    const all = await get("/conferences");
    replace(list, all.length ? all.map((c) => conferenceRow(ctx, c, reload)) : h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("conf.none"))));
  };
  replace(
    root,
    h("h1", {}, t("conf.heading")),
    h(
      "table",
      { id: "conference-list" },
      h("thead", {}, h("tr", {},
        h("th", {}, t("conf.state")),
        h("th", {}, t("conf.title")),
        h("th", {}, t("conf.participants")),
        h("th", {}, t("conf.layout")),
        h("th", {}, t("conf.time")),
        h("th", {}, ""))),
      list,
    ),
  );
  await reload();
  if (ctx.can("run_conferences")) {
    const endpoints = await get("/endpoints");
    root.append(createForm(endpoints, () => reload().catch(() => {})));
  }
}
