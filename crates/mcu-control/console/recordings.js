// Recordings (R17): the list of MP4 files (admins, operators) with a
// download link each — every download is audited by the API — and the
// record / stop button of the live view.

import { get, post } from "./api.js";
import { h, replace, attempt, when } from "./dom.js";
import { t, locale } from "./i18n.js";

function size(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} kB`;
}

function duration(ms) {
  if (ms === null || ms === undefined) return t("rec.running");
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function row(r) {
  const link = r.deleted_at !== null
    ? h("span", { class: "muted" }, t("rec.deleted"))
    : h("a", { href: `/api/v1/recordings/${r.id}/download`, download: r.file_name, class: "rec-download" }, t("rec.download"));
  return h("tr", { "data-id": r.id },
    h("td", {}, h("a", { href: `#/conference/${encodeURIComponent(r.conference_id)}` }, r.conference_id)),
    h("td", {}, when(r.started_at, locale())),
    h("td", {}, duration(r.duration_ms)),
    h("td", {}, size(r.bytes)),
    h("td", {}, h("code", {}, r.file_name), " ", link));
}

/** The recordings view (#/recordings). */
export async function render(ctx, root) {
  const list = await get("/recordings");
  const body = h("tbody", { id: "recordings" });
  body.append(...list.map(row));
  if (!list.length) body.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("rec.none"))));
  replace(root,
    h("h1", {}, t("rec.heading")),
    h("p", { class: "muted" }, t("rec.audited")),
    h("table", {},
      h("thead", {}, h("tr", {},
        h("th", {}, t("rec.conference")), h("th", {}, t("rec.started")), h("th", {}, t("rec.duration")),
        h("th", {}, t("rec.size")), h("th", {}, t("rec.file")))),
      body));
}

/** The live view's record / stop button: `el` to place, `refresh()` to re-read the state. */
export function recordButton(base) {
  const el = h("button", { type: "button", id: "live-record", class: "secondary" }, t("rec.start"));
  let file = null;
  const show = () => {
    el.textContent = file ? t("rec.stop") : t("rec.start");
    el.className = file ? "danger" : "secondary";
    el.title = file || "";
  };
  const refresh = async () => {
    try {
      file = (await get(`${base}/recording`)).file_name;
    } catch (_) {
      file = null;
    }
    show();
  };
  el.addEventListener("click", async () => {
    el.disabled = true;
    await attempt(() => post(`${base}/recording/${file ? "stop" : "start"}`), file ? t("rec.stopped") : t("rec.started_ok"));
    el.disabled = false;
    await refresh();
  });
  return { el, refresh };
}
