// The conference list: state, title, participants; operators create,
// start and end conferences here.

import { get, post, put, seg } from "./api.js";
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

/** Checkboxes for the cascade links a conference names (R7), prefilled. */
function linkPicker(neighbours, links) {
  const named = new Map((links || []).map((l) => [l.mcu, l]));
  const rows = neighbours.map((n) => {
    const box = h("input", { type: "checkbox", value: n.mcu.id, name: "link", checked: named.has(n.mcu.id) });
    const remote = n.role === "parent"
      ? h("input", { name: "remote-conference", size: 24, pattern: "[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
          placeholder: t("conf.link_remote"), value: (named.get(n.mcu.id) || {}).conference || "" })
      : null;
    const label = t(n.role === "parent" ? "cascade.parent" : "cascade.child") + ": " + n.mcu.name
      + (n.standby ? " (" + t("cascade.standby") + ": " + n.standby.name + ")" : "");
    return { box, remote, el: h("label", { class: "inline", "data-mcu": n.mcu.id }, box, label, remote) };
  });
  return {
    el: h("fieldset", { class: "conference-links" }, h("legend", {}, t("conf.links")),
      h("p", { class: "muted" }, t("conf.links_hint")), rows.map((r) => r.el)),
    value: () => rows.filter((r) => r.box.checked).map((r) => {
      const conference = r.remote && r.remote.value.trim();
      return conference ? { mcu: r.box.value, conference } : { mcu: r.box.value };
    }),
  };
}

function linksText(c, neighbours) {
  if (!c.links || !c.links.length) return neighbours.length ? t("conf.links_none") : "";
  return c.links.map((l) => {
    const n = neighbours.find((x) => x.mcu.id === l.mcu);
    return (n ? n.mcu.name : l.mcu) + (l.conference ? " › " + l.conference : "");
  }).join(", ");
}

/** "Opened by the parent MCU" on a counterpart the parent's booking opened. */
function counterpartNote(c, neighbours) {
  if (!c.created_by || !c.created_by.startsWith("cascade:")) return null;
  const id = c.created_by.slice("cascade:".length);
  const n = neighbours.find((x) => x.mcu.id === id);
  return h("div", { class: "muted counterpart-of" }, t("conf.counterpart_of", { mcu: n ? n.mcu.name : id }));
}

function conferenceRow(ctx, c, reload, neighbours) {
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
  const linkCell = h("div", { class: "muted conference-links-text" }, linksText(c, neighbours));
  if (ctx.can("run_conferences") && neighbours.length && c.state !== "ended" && c.state !== "reported") {
    actions.push(h("button", {
      type: "button", class: "secondary edit-links", "data-conference": c.id,
      onclick: () => {
        const picker = linkPicker(neighbours, c.links);
        const save = h("button", { type: "button", class: "save-links",
          onclick: async () => {
            if (await attempt(() => put(`/conferences/${seg(c.id)}/links`, { links: picker.value() }), t("conf.links_saved"))) reload();
          } }, t("conf.links_save"));
        replace(linkCell, picker.el, save);
      },
    }, t("conf.links_edit")));
  }
  return h(
    "tr",
    { "data-conference": c.id },
    h("td", {}, stateBadge(c.state)),
    h("td", {}, h("strong", {}, c.title), h("div", { class: "muted" }, c.id), linkCell,
      counterpartNote(c, neighbours)),
    h("td", {}, `${connected} / ${c.participants.length}`),
    h("td", {}, c.layout),
    h("td", {}, when(c.started_at || c.created_at, locale())),
    h("td", { class: "actions" }, actions),
  );
}

function createForm(endpoints, neighbours, reload) {
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
  const links = neighbours.length ? linkPicker(neighbours, []) : null;
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
    links ? links.el : null,
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
      links: links ? links.value() : [],
    };
    if (await attempt(() => post("/conferences", body), t("conf.created"))) reload();
  });
  return form;
}

export async function render(ctx, root) {
  const list = h("tbody");
  const neighbours = await get("/cascade/neighbours");
  const reload = async () => {
    const all = await get("/conferences");
    replace(list, all.length ? all.map((c) => conferenceRow(ctx, c, reload, neighbours)) : h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("conf.none"))));
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
    root.append(createForm(endpoints, neighbours, () => reload().catch(() => {})));
  }
}
