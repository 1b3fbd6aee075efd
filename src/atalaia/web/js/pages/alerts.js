// Alerts: a timeline, newest first, grouped by day, with filters kept in the URL so a filtered
// view can be bookmarked or shared. Page one refreshes itself while it shows the latest alerts.
import { api, seg } from "../api.js";
import { field, h, replace, select } from "../dom.js";
import { clock, dateTime, dayTitle, duration, humanize, num, sameDay, score, toDate } from "../format.js";
import { icon } from "../icons.js";
import { badge } from "../status.js";
import { button, emptyState, every, notice, pageHeader } from "../ui.js";
import { rememberList } from "./alert-detail.js";

export const title = "Alerts";

const PAGE_SIZE = 24;
const RANGES = [
  ["", "Any time"],
  ["1h", "Last hour"],
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
  ["custom", "Custom range"],
];
const RANGE_SECONDS = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
const COMMON_LABELS = ["person", "car", "truck", "bicycle", "motorcycle", "bus", "dog", "cat", "backpack"];

/** The name alerts carry for a rule: its own, or its type and zone. */
export function ruleName(rule) {
  return rule.name || (rule.zone ? `${rule.type}:${rule.zone}` : rule.type);
}

function readFilters(query) {
  return {
    camera: query.get("camera") || "",
    label: query.get("label") || "",
    rule: query.get("rule") || "",
    zone: query.get("zone") || "",
    range: query.get("range") || "",
    from: query.get("from") || "",
    to: query.get("to") || "",
    page: Math.max(1, parseInt(query.get("page") || "1", 10) || 1),
  };
}

function apiQuery(filters) {
  const params = new URLSearchParams();
  for (const key of ["camera", "label", "rule", "zone"]) if (filters[key]) params.set(key, filters[key]);
  if (RANGE_SECONDS[filters.range]) {
    params.set("since", new Date(Date.now() - RANGE_SECONDS[filters.range] * 1000).toISOString());
  } else if (filters.range === "custom") {
    if (filters.from) params.set("since", new Date(filters.from).toISOString());
    if (filters.to) params.set("until", new Date(filters.to).toISOString());
  }
  params.set("limit", String(PAGE_SIZE));
  params.set("offset", String((filters.page - 1) * PAGE_SIZE));
  return params.toString();
}

export function mount(root, ctx) {
  const filters = readFilters(ctx.query);
  const cameraNames = new Map();
  const status = h("p", { class: "list-status", "aria-live": "polite" });
  const list = h("div", { class: "alert-timeline" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const problem = h("div");

  // ---- filters ------------------------------------------------------------------------------
  const cameraSelect = select([["", "All cameras"]], filters.camera, { name: "camera" });
  const labelInput = h("input", { type: "search", name: "label", value: filters.label, list: "label-options", placeholder: "Any label", autocomplete: "off" });
  const labelList = h("datalist", { id: "label-options" }, COMMON_LABELS.map((l) => h("option", { value: l })));
  const ruleSelect = select([["", "All rules"]], filters.rule, { name: "rule" });
  const zoneSelect = select([["", "All zones"]], filters.zone, { name: "zone" });
  const rangeSelect = select(RANGES, filters.range, { name: "range" });
  const fromInput = h("input", { type: "datetime-local", name: "from", value: filters.from });
  const toInput = h("input", { type: "datetime-local", name: "to", value: filters.to });
  const customRange = h("div", { class: "filter-custom" }, field("From", fromInput), field("To", toInput));
  const clear = button("Clear", { icon: "close", kind: "ghost", onclick: () => applyFilters({ camera: "", label: "", rule: "", zone: "", range: "", from: "", to: "" }) });
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter alerts" },
    field("Camera", cameraSelect),
    field("Label", labelInput),
    labelList,
    field("Rule", ruleSelect),
    field("Zone", zoneSelect),
    field("Time", rangeSelect),
    customRange,
    h("div", { class: "filter-actions" }, clear),
  );
  form.addEventListener("submit", (event) => event.preventDefault());

  let labelTimer = null;
  const fromForm = () => ({
    camera: cameraSelect.value,
    label: labelInput.value.trim(),
    rule: ruleSelect.value,
    zone: zoneSelect.value,
    range: rangeSelect.value,
    from: fromInput.value,
    to: toInput.value,
  });
  for (const control of [cameraSelect, ruleSelect, zoneSelect, rangeSelect, fromInput, toInput]) {
    control.addEventListener("change", () => applyFilters(fromForm()));
  }
  labelInput.addEventListener("input", () => {
    clearTimeout(labelTimer);
    labelTimer = setTimeout(() => applyFilters(fromForm()), 400);
  });

  function applyFilters(values, page = 1) {
    Object.assign(filters, values, { page });
    cameraSelect.value = filters.camera;
    labelInput.value = filters.label;
    ruleSelect.value = filters.rule;
    zoneSelect.value = filters.zone;
    rangeSelect.value = filters.range;
    fromInput.value = filters.from;
    toInput.value = filters.to;
    customRange.hidden = filters.range !== "custom";
    const { page: p, ...rest } = filters;
    ctx.setQuery({ ...rest, page: p > 1 ? p : "" });
    rememberList(location.hash);
    signature = "";
    load();
  }
  customRange.hidden = filters.range !== "custom";
  rememberList(location.hash);

  replace(root, pageHeader("Alerts", "Everything the rules raised, newest first"), form, problem, status, list, pager);

  // Filter choices come from the cameras' own configuration.
  api("/api/cameras")
    .then((cameras) => {
      const rules = new Set();
      const zones = new Set();
      for (const camera of cameras) {
        cameraNames.set(camera.id, camera.name || camera.id);
        cameraSelect.append(h("option", { value: camera.id }, camera.name || camera.id));
        for (const rule of camera.rules) rules.add(ruleName(rule));
        for (const zone of camera.zones) zones.add(zone.name);
      }
      for (const name of [...rules].sort()) ruleSelect.append(h("option", { value: name }, name));
      for (const name of [...zones].sort()) zoneSelect.append(h("option", { value: name }, name));
      // A filter from the URL for something no longer configured still shows as chosen.
      for (const [control, value] of [[cameraSelect, filters.camera], [ruleSelect, filters.rule], [zoneSelect, filters.zone]]) {
        if (value && ![...control.options].some((o) => o.value === value)) control.append(h("option", { value }, value));
        control.value = value;
      }
      signature = "";
      load();
    })
    .catch(() => {});

  // ---- list ---------------------------------------------------------------------------------
  let signature = "";
  let loading = false;
  async function load() {
    if (loading) return;
    loading = true;
    try {
      const page = await api(`/api/events?${apiQuery(filters)}`);
      replace(problem);
      const next = JSON.stringify([page.total, page.items.map((a) => [a.id, a.state, a.end_time, a.has_snapshot])]);
      if (next !== signature) {
        signature = next;
        render(page);
      }
    } catch (error) {
      if (error.status !== 401) replace(problem, notice(error.message));
    } finally {
      loading = false;
    }
  }

  function render(page) {
    const { total, items } = page;
    const first = total ? (filters.page - 1) * PAGE_SIZE + 1 : 0;
    const last = Math.min(total, filters.page * PAGE_SIZE);
    status.textContent = total ? `Showing ${num(first, 0)}–${num(last, 0)} of ${num(total, 0)} alerts` : "";
    list.dataset.total = String(total);
    if (!items.length) {
      const filtered = Object.entries(filters).some(([k, v]) => k !== "page" && v);
      replace(
        list,
        filtered
          ? emptyState("filter", "No alerts match these filters", "Widen the time range or clear a filter.")
          : emptyState("alerts", "No alerts yet", "Alerts appear here as soon as a camera's rule is met."),
      );
    } else {
      const groups = [];
      for (const alert of items) {
        const day = toDate(alert.start_time);
        const group = groups.at(-1);
        if (group && sameDay(group.day, day)) group.items.push(alert);
        else groups.push({ day, items: [alert] });
      }
      replace(
        list,
        groups.map((group) =>
          h(
            "section",
            { class: "alert-day" },
            h("h2", { class: "day-title" }, dayLabel(group.day)),
            h("ol", { class: "alert-list" }, group.items.map((alert) => h("li", {}, alertRow(alert, cameraNames)))),
          ),
        ),
      );
    }
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    replace(
      pager,
      pages > 1
        ? [
            button("Newer", { icon: "back", disabled: filters.page <= 1, onclick: () => applyFilters({}, filters.page - 1) }),
            h("span", { class: "pager-text" }, `Page ${filters.page} of ${pages}`),
            button("Older", { icon: "next", disabled: filters.page >= pages, onclick: () => applyFilters({}, filters.page + 1) }),
          ]
        : null,
    );
  }

  // Page one of a moving window follows new alerts; other pages stay still while read.
  const stop = every(5000, () => (filters.page === 1 && filters.range !== "custom" ? load() : undefined));
  return () => {
    stop();
    clearTimeout(labelTimer);
  };
}

function dayLabel(day) {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (sameDay(day, today)) return "Today";
  if (sameDay(day, yesterday)) return "Yesterday";
  return dayTitle(day);
}

function alertRow(alert, cameraNames) {
  const cameraName = cameraNames.get(alert.camera) || alert.camera;
  const thumb = alert.has_snapshot
    ? cropToBox(h("img", { src: `/api/events/${seg(alert.id)}/snapshot.jpg`, alt: `Snapshot of ${alert.label} at ${cameraName}`, loading: "lazy", decoding: "async" }), alert.box)
    : h("div", { class: "thumb-empty" }, icon("image", { size: 22 }));
  const active = alert.state === "active";
  const lasted = alert.end_time ? (toDate(alert.end_time) - toDate(alert.start_time)) / 1000 : null;
  return h(
    "a",
    { class: ["alert-row", active && "is-active"], href: `#/alerts/${seg(alert.id)}`, dataset: { alertId: alert.id } },
    h("div", { class: "alert-thumb" }, thumb, alert.has_clip ? h("span", { class: "thumb-tag", title: "Has a clip" }, icon("film", { size: 13 })) : null),
    h(
      "div",
      { class: "alert-main" },
      h("div", { class: "alert-title" }, h("strong", {}, humanize(alert.label)), h("span", { class: "score" }, score(alert.score))),
      h(
        "div",
        { class: "alert-meta" },
        h("span", { class: "alert-camera" }, cameraName),
        h("span", { class: "sep" }, "·"),
        h("span", {}, alert.rule),
        h("span", { class: "sep" }, "·"),
        h("span", {}, alert.zone ? `zone ${alert.zone}` : "whole frame"),
        alert.track_id !== null ? [h("span", { class: "sep" }, "·"), h("span", { class: "muted" }, `track #${alert.track_id}`)] : null,
      ),
    ),
    h(
      "div",
      { class: "alert-side" },
      h("time", { datetime: alert.start_time, title: dateTime(alert.start_time) }, clock(alert.start_time)),
      active ? badge("alerting", "Active", { pulse: true }) : badge("ended", lasted !== null ? `Lasted ${duration(lasted)}` : "Ended"),
    ),
  );
}

/** Once the snapshot loads, show the part of it around the alert's box (x, y, w, h pixels),
 * so a small thumbnail shows the person rather than the whole scene. */
function cropToBox(img, box) {
  const THUMB_ASPECT = 16 / 10;
  img.addEventListener(
    "load",
    () => {
      const W = img.naturalWidth;
      const H = img.naturalHeight;
      if (!W || !H || !Array.isArray(box) || box.length !== 4) return;
      const [bx, by, bw, bh] = box;
      let rh = Math.max(bh * 1.25, H * 0.35);
      let rw = Math.max(bw * 1.25, rh * THUMB_ASPECT);
      rh = rw / THUMB_ASPECT;
      if (rw > W) [rw, rh] = [W, W / THUMB_ASPECT];
      if (rh > H) [rw, rh] = [H * THUMB_ASPECT, H];
      const rx = Math.min(Math.max(0, bx + bw / 2 - rw / 2), W - rw);
      const ry = Math.min(Math.max(0, by + bh / 2 - rh / 2), H - rh);
      Object.assign(img.style, {
        width: `${(W / rw) * 100}%`,
        height: `${(H / rh) * 100}%`,
        left: `${(-rx / rw) * 100}%`,
        top: `${(-ry / rh) * 100}%`,
      });
      img.classList.add("cropped");
    },
    { once: true },
  );
  return img;
}
