// Bookings (Lịch họp, R2, R8): a day/week calendar of every booking, each
// booking's details with the decisions the user's role allows, and the
// request form.
//
// Every time on this page is Vietnam time (UTC+7, no daylight saving),
// whatever the browser's time zone: times are computed from Unix ms with a
// fixed offset, and the form's date-time inputs are read the same way. The
// notice rule counts from the server's clock, which GET /api/v1/booking-rules
// gives with the rules in force; the API checks every rule again.

import { get, post, put, seg } from "./api.js";
import { h, replace, flash } from "./dom.js";
import { t, errorText } from "./i18n.js";

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Vietnam's offset from UTC: +7 h all year. */
const VN_OFFSET = 7 * HOUR;
/** Height of one hour in the calendar, in CSS pixels (kept in step with bookings.css). */
const HOUR_PX = 28;
const STATUSES = ["requested", "approved", "rejected", "cancelled"];
const LEVELS = ["central", "province", "district", "commune"];

// --- Vietnam time -----------------------------------------------------------

const pad = (n) => String(n).padStart(2, "0");

/** Wall-clock fields in Vietnam of `ms`; `dow` 0 is Monday. */
function vn(ms) {
  const d = new Date(ms + VN_OFFSET);
  return {
    y: d.getUTCFullYear(),
    m: d.getUTCMonth() + 1,
    d: d.getUTCDate(),
    hh: d.getUTCHours(),
    mm: d.getUTCMinutes(),
    dow: (d.getUTCDay() + 6) % 7,
  };
}

/** Midnight (Vietnam) of the day holding `ms`. */
const dayStart = (ms) => Math.floor((ms + VN_OFFSET) / DAY) * DAY - VN_OFFSET;
/** Monday 00:00 (Vietnam) of the week holding `ms`. */
const weekStart = (ms) => dayStart(ms) - vn(dayStart(ms)).dow * DAY;

const fmtTime = (ms) => {
  const p = vn(ms);
  return `${pad(p.hh)}:${pad(p.mm)}`;
};
const fmtDate = (ms) => {
  const p = vn(ms);
  return `${pad(p.d)}/${pad(p.m)}/${p.y}`;
};
/** "14:30 25/11/2026 (UTC+7)". */
const fmtWhen = (ms) => `${fmtTime(ms)} ${fmtDate(ms)} (UTC+7)`;

/** The value of a datetime-local input for `ms`, in Vietnam time. */
function toInput(ms) {
  const p = vn(ms);
  return `${p.y}-${pad(p.m)}-${pad(p.d)}T${pad(p.hh)}:${pad(p.mm)}`;
}

/** Unix ms of a datetime-local value read as Vietnam time; NaN if empty or malformed. */
function fromInput(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || "");
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) - VN_OFFSET;
}

/** A duration for people: "2 ngày", "2 giờ", "30 phút". */
function duration(ms) {
  if (ms % DAY === 0) return t("booking.days", { n: ms / DAY });
  if (ms % HOUR === 0) return t("booking.hours", { n: ms / HOUR });
  return t("booking.minutes", { n: Math.round(ms / MINUTE) });
}

/** Folds case and Vietnamese diacritics, for the endpoint filter. */
function fold(text) {
  return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/gi, "d").toLowerCase();
}

// --- page state, kept across re-renders (language switch, reloads) ----------

const view = { mode: "week", anchor: null, selected: null };

function statusBadge(status) {
  return h("span", { class: "badge booking-status status-" + status }, t("booking.status_" + status));
}

export async function render(ctx, root) {
  const [endpoints, rules] = await Promise.all([get("/endpoints"), get("/booking-rules")]);
  // The notice rule counts from the server's clock, not this computer's.
  const skew = rules.now - Date.now();
  const serverNow = () => Date.now() + skew;
  const byId = new Map(endpoints.map((e) => [e.id, e]));
  const nameOf = (id) => (byId.has(id) ? byId.get(id).name : id);
  const canRequest = ctx.can("request_bookings");
  const canDecide = ctx.can("decide_bookings");
  if (view.anchor === null) view.anchor = dayStart(serverNow());

  const period = h("strong", { id: "booking-period" });
  const calendar = h("div", { id: "booking-calendar", class: "calendar" });
  const details = h("section", { id: "booking-details", class: "card", hidden: true, tabindex: "-1" });
  const formCard = h("section", { id: "booking-form-card", class: "card", hidden: true });
  /** Refreshes the form's earliest allowed start as the clock moves. */
  let formTimer = null;

  const modeButton = (mode) =>
    h("button", {
      type: "button",
      id: "booking-view-" + mode,
      class: "secondary",
      "aria-pressed": String(view.mode === mode),
      onclick: () => {
        view.mode = mode;
        draw();
      },
    }, t("booking.view_" + mode));
  const step = (sign) => () => {
    view.anchor = view.mode === "week" ? view.anchor + sign * 7 * DAY : view.anchor + sign * DAY;
    // Whole days in Vietnam time; no daylight saving to correct for.
    view.anchor = dayStart(view.anchor + HOUR);
    draw();
  };
  const modeButtons = [modeButton("day"), modeButton("week")];

  replace(
    root,
    h("h1", {}, t("booking.heading")),
    h("p", { class: "muted", id: "booking-tz" }, t("booking.tz_note")),
    h("div", { class: "row booking-toolbar" },
      h("button", { type: "button", id: "booking-today", class: "secondary", onclick: () => {
        view.anchor = dayStart(serverNow());
        draw();
      } }, t("booking.today")),
      h("button", { type: "button", id: "booking-prev", class: "secondary", onclick: step(-1) }, t("booking.prev")),
      h("button", { type: "button", id: "booking-next", class: "secondary", onclick: step(1) }, t("booking.next")),
      period,
      h("span", { class: "spacer" }),
      modeButtons,
      canRequest ? h("button", { type: "button", id: "booking-new", onclick: () => openForm(null) }, t("booking.new")) : null),
    h("div", { class: "booking-legend muted" },
      STATUSES.map((s) => statusBadge(s)),
      h("span", { class: "legend-rehearsal" }, t("booking.rehearsal_legend"))),
    calendar,
    details,
    formCard,
  );

  /** Loads the shown period and draws it. */
  async function draw() {
    for (const b of modeButtons) b.setAttribute("aria-pressed", String(b.id === "booking-view-" + view.mode));
    const from = view.mode === "week" ? weekStart(view.anchor) : view.anchor;
    const days = view.mode === "week" ? 7 : 1;
    const to = from + days * DAY;
    period.textContent = view.mode === "week"
      ? t("booking.week_of", { from: fmtDate(from), to: fmtDate(to - DAY) })
      : `${t("booking.dow_" + (vn(from).dow + 1))} ${fmtDate(from)}`;
    let bookings;
    try {
      bookings = await get(`/bookings?from=${from}&to=${to}`);
    } catch (e) {
      flash(errorText(e));
      return;
    }
    drawCalendar(from, days, bookings);
  }

  function drawCalendar(from, days, bookings) {
    calendar.className = "calendar " + view.mode;
    calendar.dataset.from = String(from);
    calendar.style.setProperty("--days", String(days));
    const heads = [h("div", { class: "cal-corner" }, "UTC+7")];
    const cols = [h("div", { class: "cal-hours", "aria-hidden": "true" },
      Array.from({ length: 24 }, (_, i) => h("div", { class: "cal-hour" }, pad(i) + ":00")))];
    const today = dayStart(serverNow());
    for (let i = 0; i < days; i++) {
      const day = from + i * DAY;
      heads.push(h("button", {
        type: "button",
        class: "cal-day-head" + (day === today ? " today" : ""),
        "data-day": toInput(day).slice(0, 10),
        title: t("booking.view_day"),
        onclick: () => {
          view.mode = "day";
          view.anchor = day;
          draw();
        },
      }, h("span", {}, t("booking.dow_" + (vn(day).dow + 1))), " ", fmtDate(day)));
      cols.push(dayColumn(day, bookings));
    }
    const body = h("div", { class: "cal-body" }, cols);
    replace(calendar, h("div", { class: "cal-head" }, heads), body,
      bookings.length ? null : h("p", { class: "muted cal-empty" }, t("booking.none_in_range")));
    // Start the view at 07:00, or earlier when a booking is earlier.
    const firstTop = Math.min(7 * HOUR_PX, ...Array.from(body.querySelectorAll(".booking-block"), (b) => parseFloat(b.style.top)));
    body.scrollTop = Math.max(0, firstTop - 4);
  }

  /** One day's column with the bookings whose window meets it, side by side when they overlap. */
  function dayColumn(day, bookings) {
    const end = day + DAY;
    const pieces = bookings
      .filter((b) => b.rehearsal_at < end && b.end_at > day)
      .map((b) => ({ b, top: Math.max(b.rehearsal_at, day), bottom: Math.min(b.end_at, end) }))
      .sort((x, y) => x.top - y.top || x.b.id - y.b.id);
    const lanes = [];
    for (const p of pieces) {
      let lane = lanes.findIndex((last) => last <= p.top);
      if (lane < 0) lane = lanes.push(0) - 1;
      lanes[lane] = p.bottom;
      p.lane = lane;
    }
    const col = h("div", { class: "cal-col", "data-day": toInput(day).slice(0, 10) });
    for (const p of pieces) col.append(block(p, day, Math.max(1, lanes.length)));
    return col;
  }

  function block({ b, top, bottom, lane }, day, laneCount) {
    const px = (ms) => ((ms - day) / HOUR) * HOUR_PX;
    const rehearsalEnd = Math.min(b.start_at, bottom);
    const names = b.participants.map(nameOf).join(", ");
    const label = `${b.title} — ${fmtTime(b.start_at)}–${fmtTime(b.end_at)} ${fmtDate(b.start_at)} — ${t("booking.status_" + b.status)} — ${t("booking.endpoints_count", { n: b.participants.length })}`;
    const el = h("button", {
      type: "button",
      class: "booking-block status-" + b.status + (view.selected === b.id ? " selected" : ""),
      "data-booking": b.id,
      "aria-label": label,
      title: `${label}\n${names}`,
      onclick: () => showDetails(b.id),
    },
    rehearsalEnd > top
      ? h("span", { class: "rehearsal", "aria-hidden": "true", title: t("booking.rehearsal_legend") })
      : null,
    h("span", { class: "block-body" },
      h("strong", { class: "block-title" }, b.title),
      h("span", { class: "block-time" }, `${fmtTime(b.start_at)}–${fmtTime(b.end_at)}`),
      statusBadge(b.status),
      h("span", { class: "block-count" }, t("booking.endpoints_count", { n: b.participants.length }))));
    el.style.top = px(top) + "px";
    el.style.height = Math.max(px(bottom) - px(top), 18) + "px";
    el.style.left = (lane / laneCount) * 100 + "%";
    el.style.width = `calc(${100 / laneCount}% - 3px)`;
    const shade = el.querySelector(".rehearsal");
    if (shade) shade.style.height = px(rehearsalEnd) - px(top) + "px";
    return el;
  }

  // --- details ----------------------------------------------------------------

  async function showDetails(id) {
    let b;
    try {
      b = await get("/bookings/" + seg(id));
    } catch (e) {
      flash(errorText(e));
      return;
    }
    view.selected = b.id;
    for (const el of calendar.querySelectorAll(".booking-block")) {
      el.classList.toggle("selected", el.dataset.booking === String(b.id));
    }
    const endpointItem = (id) => {
      const e = byId.get(id);
      return h("li", {}, nameOf(id), e ? h("span", { class: "muted" }, ` · ${t("level." + e.level)} · ${e.unit}`) : null);
    };
    const row = (label, ...value) => [h("dt", {}, label), h("dd", {}, value)];
    const decided = b.decided_by
      ? [
          row(t("booking.decided"), t("booking.by_at", { who: b.decided_by, at: fmtWhen(b.decided_at) })),
          b.reason ? row(t("booking.reason"), h("span", { id: "booking-reason-text" }, b.reason)) : null,
        ]
      : null;
    const actions = h("div", { class: "row booking-actions" });
    const reasonSlot = h("div");
    const reload = async (message) => {
      flash(message, true);
      await draw();
      await showDetails(b.id);
    };
    const act = async (button, run, message) => {
      button.disabled = true;
      try {
        const res = await run();
        await reload(message(res));
      } catch (e) {
        flash(errorText(e));
        button.disabled = false;
      }
    };
    const askReason = (label, path, okKey) => {
      const input = h("input", { id: "booking-reason", required: true, maxlength: 200, size: 50 });
      const submit = h("button", { type: "submit", id: "booking-reason-submit", class: "danger" }, t("booking.confirm"));
      const form = h("form", { class: "row", id: "booking-reason-form" },
        h("label", {}, label, input),
        submit,
        h("button", { type: "button", class: "secondary", onclick: () => replace(reasonSlot) }, t("form.cancel")));
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        act(submit, () => post(path, { reason: input.value.trim() }), () => t(okKey));
      });
      replace(reasonSlot, form);
      input.focus();
    };
    const base = "/bookings/" + seg(b.id);
    if (canDecide && b.status === "requested") {
      const approve = h("button", { type: "button", id: "booking-approve" }, t("booking.approve"));
      approve.addEventListener("click", () =>
        act(approve, () => post(base + "/approve"), (res) => t("booking.approved", { conference: res.conference_id })));
      actions.append(
        approve,
        h("button", { type: "button", id: "booking-reject", class: "danger", onclick: () =>
          askReason(t("booking.reject_reason"), base + "/reject", "booking.rejected") }, t("booking.reject")),
      );
    }
    const ownsChair = ctx.me.role !== "site_operator" || (ctx.me.endpoints || []).includes(b.chair);
    // A booking changes until its rehearsal opens: a requested one by whoever
    // may request it, an approved one only by an operator (the API decides;
    // an operator who opened the conference early gets its refusal).
    const beforeRehearsal = serverNow() < b.rehearsal_at;
    const mayChange = beforeRehearsal && (
      (b.status === "requested" && canRequest && ownsChair) || (b.status === "approved" && canDecide));
    if (mayChange) {
      actions.append(h("button", { type: "button", id: "booking-change", class: "secondary", onclick: () => openForm(b) }, t("booking.change")));
    }
    if (canRequest && ownsChair && (b.status === "requested" || b.status === "approved")) {
      actions.append(h("button", { type: "button", id: "booking-cancel", class: "danger", onclick: () =>
        askReason(t("booking.cancel_reason"), base + "/cancel", "booking.cancelled") }, t("booking.cancel")));
    }
    actions.append(h("button", { type: "button", class: "secondary", onclick: () => {
      details.hidden = true;
      view.selected = null;
    } }, t("form.close")));

    replace(
      details,
      h("h2", {}, t("booking.details", { id: b.id }), " ", statusBadge(b.status)),
      h("p", { class: "booking-details-title" }, h("strong", {}, b.title)),
      h("dl", { class: "booking-facts" },
        row(t("booking.unit"), b.organising_unit),
        row(t("booking.kind"), t("booking.kind_" + b.kind)),
        row(t("booking.chair"), h("span", { id: "booking-chair-name" }, nameOf(b.chair))),
        row(t("booking.participants"), h("ul", { id: "booking-participant-names", class: "plain" }, b.participants.map(endpointItem))),
        row(t("booking.recording"), b.recording ? t("form.yes") : t("form.no")),
        row(t("booking.rehearsal_at"), fmtWhen(b.rehearsal_at)),
        row(t("booking.ready_check_at"), fmtWhen(b.ready_check_at)),
        row(t("booking.start_at"), fmtWhen(b.start_at)),
        row(t("booking.end_at"), fmtWhen(b.end_at)),
        row(t("booking.requested"), t("booking.by_at", { who: b.requested_by, at: fmtWhen(b.requested_at) })),
        decided,
        b.conference_id
          ? row(t("booking.conference"), h("a", { href: "#/conference/" + seg(b.conference_id) }, b.conference_id))
          : null),
      h("h3", {}, t("booking.scenario")),
      b.scenario.length
        ? h("table", { id: "booking-scenario" },
            h("thead", {}, h("tr", {},
              h("th", {}, "#"),
              h("th", {}, t("booking.item_title")),
              h("th", {}, t("booking.item_speaker")),
              h("th", {}, t("booking.item_layout")),
              h("th", {}, t("booking.item_minutes")))),
            h("tbody", {}, b.scenario.map((item, i) => h("tr", {},
              h("td", {}, String(i + 1)),
              h("td", {}, item.title),
              h("td", {}, item.speaker ? nameOf(item.speaker) : t("booking.no_speaker")),
              h("td", {}, item.layout),
              h("td", {}, String(item.planned_minutes))))))
        : h("p", { class: "muted" }, t("booking.scenario_none")),
      actions,
      reasonSlot,
    );
    details.hidden = false;
    details.focus();
  }

  // --- the request form -----------------------------------------------------------

  /** Opens the form: a new request (`existing` null) or a change of a requested or approved booking. */
  function openForm(existing) {
    const sorted = [...endpoints].sort((a, b) =>
      LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level) || a.name.localeCompare(b.name, "vi"));
    const mine = (e) => ctx.me.role !== "site_operator" || (ctx.me.endpoints || []).includes(e.id);
    const input = (id, attrs = {}) => h("input", { id, name: id, ...attrs });

    const title = input("booking-title", { required: true, maxlength: 200, size: 50, value: existing ? existing.title : "" });
    const unit = input("booking-unit", { required: true, maxlength: 200, size: 40, value: existing ? existing.organising_unit : "" });
    const kind = h("select", { id: "booking-kind", name: "booking-kind" },
      ["scheduled", "emergency"].map((k) => h("option", { value: k, selected: existing ? existing.kind === k : k === "scheduled" }, t("booking.kind_" + k))));
    const earliestText = h("p", { id: "booking-earliest", class: "hint", "aria-live": "polite" });
    const notice = () => (kind.value === "emergency" ? rules.emergency_notice_ms : rules.scheduled_notice_ms);
    const earliest = () => serverNow() + notice();
    // A newcomer's default: the first whole hour allowed, for two hours.
    const defaultStart = Math.ceil(earliest() / HOUR) * HOUR;
    const start = input("booking-start", { type: "datetime-local", required: true, value: toInput(existing ? existing.start_at : defaultStart) });
    const end = input("booking-end", { type: "datetime-local", required: true, value: toInput(existing ? existing.end_at : defaultStart + 2 * HOUR) });
    const tooSoon = h("p", { id: "booking-too-soon", class: "warning", hidden: true }, t("booking.too_soon_hint"));
    const recording = input("booking-recording", { type: "checkbox", checked: existing ? existing.recording : false });

    const chair = h("select", { id: "booking-chair", name: "booking-chair", required: true },
      h("option", { value: "" }, t("booking.choose_chair")),
      sorted.filter((e) => e.chair_capable && mine(e)).map((e) =>
        h("option", { value: e.id, selected: existing && existing.chair === e.id }, `${e.name} (${t("level." + e.level)})`)));

    const filter = input("booking-filter", { type: "search", placeholder: t("booking.filter_hint"), autocomplete: "off" });
    const chosen = new Set(existing ? existing.participants.filter((p) => p !== existing.chair) : []);
    const selectedCount = h("span", { id: "booking-selected-count", class: "muted", "aria-live": "polite" });
    const boxes = sorted.map((e) => {
      const box = h("input", { type: "checkbox", name: "booking-participant", value: e.id, checked: chosen.has(e.id) });
      const label = h("label", { class: "inline endpoint-choice", "data-endpoint": e.id, "data-search": fold(`${e.name} ${e.unit} ${e.id} ${t("level." + e.level)}`) },
        box,
        h("span", {}, e.name),
        h("span", { class: "muted" }, `${t("level." + e.level)} · ${e.unit}`));
      return { e, box, label };
    });
    const list = h("div", { id: "booking-participants", class: "endpoint-list", role: "group", "aria-label": t("booking.participants") },
      boxes.map((x) => x.label));

    const agendaBody = h("tbody", { id: "booking-agenda" });
    const agendaRows = [];
    const speakers = () => {
      const ids = boxes.filter((x) => x.box.checked).map((x) => x.e.id);
      if (chair.value && !ids.includes(chair.value)) ids.unshift(chair.value);
      return ids;
    };
    const fillSpeakers = (select, keep) => {
      replace(select, h("option", { value: "" }, t("booking.no_speaker")),
        speakers().map((id) => h("option", { value: id, selected: id === keep }, nameOf(id))));
      if (!speakers().includes(keep)) select.value = "";
    };
    const drawAgenda = () => {
      replace(agendaBody, agendaRows.map((r, i) => {
        r.tr.dataset.index = String(i);
        r.up.disabled = i === 0;
        r.down.disabled = i === agendaRows.length - 1;
        r.number.textContent = String(i + 1);
        return r.tr;
      }));
    };
    const addItem = (item) => {
      const r = {};
      r.number = h("td", { class: "item-number" });
      r.title = h("input", { class: "item-title", required: true, maxlength: 200, value: item ? item.title : "", "aria-label": t("booking.item_title") });
      r.speaker = h("select", { class: "item-speaker", "aria-label": t("booking.item_speaker") });
      fillSpeakers(r.speaker, item ? item.speaker : "");
      r.layout = h("select", { class: "item-layout", "aria-label": t("booking.item_layout") },
        rules.layouts.map((n) => h("option", { value: n, selected: item ? item.layout === n : n === "2x2" }, n)));
      r.minutes = h("input", { class: "item-minutes", type: "number", min: 1, max: 1440, required: true, value: item ? item.planned_minutes : 15, "aria-label": t("booking.item_minutes") });
      const move = (by) => () => {
        const i = agendaRows.indexOf(r);
        agendaRows.splice(i, 1);
        agendaRows.splice(i + by, 0, r);
        drawAgenda();
        const same = by < 0 ? r.up : r.down;
        if (same.disabled) r.title.focus();
        else same.focus();
      };
      r.up = h("button", { type: "button", class: "secondary item-up", "aria-label": t("booking.move_up"), title: t("booking.move_up"), onclick: move(-1) }, "↑");
      r.down = h("button", { type: "button", class: "secondary item-down", "aria-label": t("booking.move_down"), title: t("booking.move_down"), onclick: move(1) }, "↓");
      const remove = h("button", { type: "button", class: "danger item-remove", "aria-label": t("booking.remove_item"), title: t("booking.remove_item"), onclick: () => {
        agendaRows.splice(agendaRows.indexOf(r), 1);
        drawAgenda();
        addButton.focus();
      } }, "✕");
      r.tr = h("tr", { class: "agenda-item" }, r.number,
        h("td", {}, r.title), h("td", {}, r.speaker), h("td", {}, r.layout), h("td", {}, r.minutes),
        h("td", { class: "actions" }, r.up, r.down, remove));
      agendaRows.push(r);
      drawAgenda();
      return r;
    };
    const addButton = h("button", { type: "button", id: "booking-agenda-add", class: "secondary", onclick: () => addItem(null).title.focus() }, t("booking.agenda_add"));
    for (const item of existing ? existing.scenario : []) addItem(item);

    const refreshSpeakers = () => {
      for (const r of agendaRows) fillSpeakers(r.speaker, r.speaker.value);
      selectedCount.textContent = t("booking.selected", { n: boxes.filter((x) => x.box.checked && x.e.id !== chair.value).length });
    };
    const refreshEarliest = () => {
      const kindName = t("booking.kind_" + kind.value).toLowerCase();
      earliestText.textContent = t("booking.earliest", { kind: kindName, notice: duration(notice()), at: fmtWhen(earliest()) });
      const s = fromInput(start.value);
      // A change may keep or postpone the booked start inside the notice period.
      tooSoon.hidden = !(s < earliest()) || (existing !== null && s >= existing.start_at);
    };
    list.addEventListener("change", refreshSpeakers);
    chair.addEventListener("change", () => {
      const e = byId.get(chair.value);
      if (e && !unit.value.trim()) unit.value = e.unit;
      refreshSpeakers();
    });
    filter.addEventListener("input", () => {
      const q = fold(filter.value.trim());
      for (const x of boxes) x.label.hidden = q !== "" && !x.label.dataset.search.includes(q);
    });
    kind.addEventListener("change", refreshEarliest);
    let lastStart = fromInput(start.value);
    start.addEventListener("input", refreshEarliest);
    start.addEventListener("change", () => {
      // Moving the start keeps the session's length.
      const s = fromInput(start.value);
      const e = fromInput(end.value);
      if (Number.isFinite(s) && Number.isFinite(lastStart) && Number.isFinite(e)) end.value = toInput(e + s - lastStart);
      if (Number.isFinite(s)) lastStart = s;
    });
    clearInterval(formTimer);
    formTimer = setInterval(refreshEarliest, 15000);
    refreshSpeakers();
    refreshEarliest();

    const errorBox = h("div", { id: "booking-form-error", class: "form-error", role: "alert", tabindex: "-1", hidden: true });
    const submit = h("button", { type: "submit", id: "booking-submit" }, existing ? t("booking.save_change") : t("booking.submit"));
    const form = h("form", { id: "booking-form" },
      h("h2", {}, existing ? t("booking.form_change", { id: existing.id }) : t("booking.form_new")),
      h("div", { class: "row" },
        h("label", { for: "booking-title" }, t("booking.title"), title),
        h("label", { for: "booking-unit" }, t("booking.unit"), unit)),
      h("div", { class: "row" },
        h("label", { for: "booking-chair" }, t("booking.chair"), chair),
        h("label", { for: "booking-kind" }, t("booking.kind"), kind)),
      h("div", { class: "row" },
        h("label", { for: "booking-start" }, t("booking.start_at") + " (UTC+7)", start),
        h("label", { for: "booking-end" }, t("booking.end_at") + " (UTC+7)", end),
        h("label", { class: "inline", for: "booking-recording" }, recording, t("booking.recording"))),
      h("p", { class: "muted" }, t("booking.time_hint")),
      earliestText,
      existing ? h("p", { id: "booking-change-hint", class: "hint" }, t("booking.change_notice_hint")) : null,
      existing && existing.status === "approved"
        ? h("p", { id: "booking-change-approved", class: "warning" }, t("booking.change_approved_note"))
        : null,
      tooSoon,
      h("fieldset", {},
        h("legend", {}, t("booking.participants")),
        h("div", { class: "row" }, h("label", { for: "booking-filter" }, t("booking.filter"), filter), selectedCount),
        list),
      h("fieldset", {},
        h("legend", {}, t("booking.scenario")),
        h("table", { class: "agenda" },
          h("thead", {}, h("tr", {},
            h("th", {}, "#"),
            h("th", {}, t("booking.item_title")),
            h("th", {}, t("booking.item_speaker")),
            h("th", {}, t("booking.item_layout")),
            h("th", {}, t("booking.item_minutes")),
            h("th", {}, ""))),
          agendaBody),
        addButton),
      errorBox,
      h("div", { class: "row" },
        submit,
        h("button", { type: "button", class: "secondary", id: "booking-form-close", onclick: () => {
          formCard.hidden = true;
          clearInterval(formTimer);
        } }, t("form.cancel"))),
    );

    const fieldElement = (field) => {
      const m = /^scenario\[(\d+)\]\.(\w+)$/.exec(field);
      if (m && agendaRows[+m[1]]) {
        const r = agendaRows[+m[1]];
        return { title: r.title, speaker: r.speaker, layout: r.layout, planned_minutes: r.minutes }[m[2]] || r.title;
      }
      return { title, organising_unit: unit, chair, participants: filter, start_at: start, end_at: end, kind }[field] || null;
    };
    const fieldLabel = (field) => {
      const m = /^scenario\[(\d+)\]\.(\w+)$/.exec(field);
      if (m) {
        const key = { title: "booking.item_title", speaker: "booking.item_speaker", layout: "booking.item_layout", planned_minutes: "booking.item_minutes" }[m[2]];
        return t("booking.agenda_field", { n: +m[1] + 1, field: key ? t(key) : m[2] });
      }
      const key = { title: "booking.title", organising_unit: "booking.unit", chair: "booking.chair", participants: "booking.participants",
        start_at: "booking.start_at", end_at: "booking.end_at", kind: "booking.kind", scenario: "booking.scenario" }[field];
      return key ? t(key) : field;
    };
    const showFormError = (e) => {
      for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
      errorBox.className = "form-error error-" + e.code;
      const d = e.details || {};
      if (e.code === "booking_too_late") {
        replace(errorBox, h("p", {}, t("booking.err_too_late", {
          kind: t("booking.kind_" + d.rule).toLowerCase(),
          notice: duration(d.notice_ms),
          earliest: fmtWhen(d.earliest_start),
        })));
        start.setAttribute("aria-invalid", "true");
      } else if (e.code === "booking_state" && existing) {
        replace(errorBox,
          h("p", {}, t("booking.err_state_change")),
          h("p", { class: "muted" }, t("booking.err_details", { message: e.message })));
      } else if (e.code === "booking_conflict") {
        replace(errorBox,
          h("p", {}, t("booking.err_conflict")),
          h("ul", { class: "clashes" }, (d.clashes || []).map((c) => h("li", { "data-endpoint": c.endpoint, "data-booking": c.booking },
            t("booking.err_clash", { endpoint: nameOf(c.endpoint), title: c.title, booking: c.booking, from: fmtWhen(c.window_start), to: fmtWhen(c.window_end) })))));
      } else if (e.code === "invalid_field" && d.field) {
        replace(errorBox,
          h("p", {}, t("booking.err_invalid", { field: fieldLabel(d.field) })),
          h("p", { class: "muted" }, t("booking.err_details", { message: e.message })));
        const el = fieldElement(d.field);
        if (el) el.setAttribute("aria-invalid", "true");
      } else {
        replace(errorBox, h("p", {}, errorText(e)));
      }
      errorBox.hidden = false;
      errorBox.focus();
    };

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      errorBox.hidden = true;
      const body = {
        title: title.value.trim(),
        organising_unit: unit.value.trim(),
        chair: chair.value,
        participants: boxes.filter((x) => x.box.checked && x.e.id !== chair.value).map((x) => x.e.id),
        start_at: fromInput(start.value),
        end_at: fromInput(end.value),
        kind: kind.value,
        scenario: agendaRows.map((r) => ({
          title: r.title.value.trim(),
          speaker: r.speaker.value || null,
          layout: r.layout.value,
          planned_minutes: parseInt(r.minutes.value, 10) || 0,
        })),
        recording: recording.checked,
      };
      submit.disabled = true;
      try {
        const b = existing ? await put("/bookings/" + seg(existing.id), body) : await post("/bookings", body);
        formCard.hidden = true;
        const saved = !existing
          ? t("booking.created", { id: b.id, title: b.title })
          : existing.status === "approved" ? t("booking.changed_notified") : t("booking.changed");
        flash(saved, true);
        // Show the week of the booking, with its details open.
        view.mode = "week";
        view.anchor = dayStart(b.start_at);
        await draw();
        await showDetails(b.id);
      } catch (e) {
        showFormError(e);
      } finally {
        submit.disabled = false;
      }
    });

    replace(formCard, form);
    formCard.hidden = false;
    title.focus();
  }

  await draw();
  if (view.selected !== null) await showDetails(view.selected).catch(() => {});
  return () => clearInterval(formTimer);
}
