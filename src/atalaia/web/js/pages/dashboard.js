// Dashboard: every camera's live view with its state and rates, under a strip that answers
// "is everything working?" at a glance (cameras online, alerts today, sinks, processing).
import { api, seg } from "../api.js";
import { h, replace } from "../dom.js";
import { num, millis, startOfToday } from "../format.js";
import { icon } from "../icons.js";
import { badge, cameraState } from "../status.js";
import { emptyState, every, linkButton, notice, pageHeader } from "../ui.js";

export const title = "Dashboard";

// Each MJPEG stream holds one of the browser's ~6 connections to this host; past this many
// cameras the others show their latest frame, refreshed, so API calls are never starved.
const LIVE_STREAMS = 4;
const LIVE_FPS = 2;
const STILL_REFRESH_MS = 2000;

export function mount(root) {
  const strip = h("section", { class: "summary", "aria-label": "Summary" });
  const grid = h("section", { class: "camera-grid", "aria-label": "Cameras" });
  const problem = h("div");
  replace(
    root,
    pageHeader("Dashboard", "Live view of every camera", linkButton("Alerts", "#/alerts", { icon: "alerts" })),
    problem,
    strip,
    grid,
  );

  const tiles = new Map(); // camera id -> tile
  let cameras = [];
  let stats = null;
  let alertsToday = null;
  let paused = document.hidden;

  const stopCameras = every(10000, async () => {
    cameras = await api("/api/cameras");
    render();
  });
  const stopStats = every(3000, async () => {
    try {
      stats = await api("/api/stats");
      replace(problem);
    } catch (error) {
      if (error.status !== 401) replace(problem, notice(error.message));
    }
    render();
  });
  const stopAlerts = every(5000, async () => {
    const since = startOfToday().toISOString();
    const page = await api(`/api/events?limit=1&since=${encodeURIComponent(since)}`);
    alertsToday = page.total;
    renderStrip();
  });
  const stopStills = every(STILL_REFRESH_MS, () => {
    for (const tile of tiles.values()) tile.refreshStill();
  });

  const onVisibility = () => {
    paused = document.hidden;
    for (const tile of tiles.values()) tile.setLive(tile.wantsLive && !paused);
  };
  document.addEventListener("visibilitychange", onVisibility);

  function render() {
    renderStrip();
    renderGrid();
  }

  function processingState() {
    return stats ? stats.status.alert_processing.status : null;
  }

  function renderStrip() {
    const processing = processingState();
    const pipeline = (stats && stats.pipeline.cameras) || {};
    const states = cameras.map((c) => cameraState(c, pipeline[c.id], processing).state);
    const enabled = cameras.filter((c) => c.enabled).length;
    const online = states.filter((s) => s === "online").length;
    const troubled = states.filter((s) => ["offline", "failed", "reconnecting"].includes(s)).length;
    const active = Object.values(pipeline).reduce((n, p) => n + ((p.stats && p.stats.analytics && p.stats.analytics.alerts_active) || 0), 0);
    const sinks = Object.entries((stats && stats.sinks) || {});
    const healthy = sinks.filter(([, s]) => s.healthy).length;
    const dead = sinks.reduce((n, [, s]) => n + (s.dead || 0), 0);
    const pending = sinks.reduce((n, [, s]) => n + (s.pending || 0), 0);
    const detector = Object.values((stats && stats.pipeline.detectors) || {})[0];
    const infer = detector && detector.stats && detector.stats.infer_ms ? detector.stats.infer_ms.p50 : null;

    replace(
      strip,
      summaryCard("Cameras online", `${online} / ${enabled}`, troubled ? `${troubled} need attention` : enabled ? "All cameras reporting" : "No camera enabled", troubled ? "bad" : online ? "ok" : "off", "cameras", "#/cameras"),
      summaryCard("Alerts today", alertsToday === null ? "—" : h("span", { dataset: { count: alertsToday } }, num(alertsToday, 0)), active ? `${active} active now` : "None active now", active ? "warn" : "off", "alerts", "#/alerts"),
      summaryCard("Alert delivery", sinks.length ? `${healthy} / ${sinks.length} healthy` : "—", dead ? `${dead} dead · ${pending} pending` : `${pending} pending`, dead || healthy < sinks.length ? "bad" : "ok", "check", "#/system"),
      summaryCard("Detection", processing ? badge(processing) : "—", infer !== null ? `Model ${millis(infer)} per batch (p50)` : "Model not loaded", processing === "running" ? "ok" : processing === "error" ? "bad" : "off", "system", "#/system"),
    );
  }

  function renderGrid() {
    if (!cameras.length) {
      for (const tile of tiles.values()) tile.dispose();
      tiles.clear();
      replace(grid, emptyState("cameras", "No cameras yet", "Add a camera to see it live here.", linkButton("Add a camera", "#/cameras/new", { icon: "plus", kind: "primary" })));
      return;
    }
    const seen = new Set();
    const processing = processingState();
    const pipeline = (stats && stats.pipeline.cameras) || {};
    let liveSlots = LIVE_STREAMS;
    cameras.forEach((camera, index) => {
      seen.add(camera.id);
      let tile = tiles.get(camera.id);
      if (!tile) {
        tile = cameraTile(camera);
        tiles.set(camera.id, tile);
      }
      if (grid.children[index] !== tile.el) grid.insertBefore(tile.el, grid.children[index] || null);
      const state = cameraState(camera, pipeline[camera.id], processing);
      const streaming = state.state === "online" && liveSlots > 0;
      if (streaming) liveSlots -= 1;
      tile.update(camera, pipeline[camera.id], state, streaming, paused);
    });
    for (const [id, tile] of tiles) {
      if (!seen.has(id)) {
        tile.dispose();
        tile.el.remove();
        tiles.delete(id);
      }
    }
    for (const child of [...grid.children]) if (!child.classList.contains("tile")) child.remove();
  }

  return () => {
    stopCameras();
    stopStats();
    stopAlerts();
    stopStills();
    document.removeEventListener("visibilitychange", onVisibility);
    for (const tile of tiles.values()) tile.dispose();
  };
}

function summaryCard(label, value, sub, tone, iconName, href) {
  return h(
    "a",
    { class: ["summary-card", `tone-${tone}`], href },
    h("span", { class: "summary-icon" }, icon(iconName, { size: 20 })),
    h("span", { class: "summary-text" }, h("span", { class: "summary-label" }, label), h("span", { class: "summary-value" }, value), h("span", { class: "summary-sub" }, sub)),
  );
}

function cameraTile(camera) {
  const img = h("img", { class: "live", alt: "", decoding: "async" });
  const overlay = h("div", { class: "tile-overlay" });
  const badgeSlot = h("div", { class: "tile-badges" });
  const liveTag = h("span", { class: "live-tag", hidden: true }, "LIVE");
  const nameEl = h("h2", {});
  const idEl = h("span", { class: "mono muted" });
  const values = {
    captured: h("dd", {}),
    detected: h("dd", {}),
    latency: h("dd", {}),
    restarts: h("dd", {}),
  };
  const tracking = h("p", { class: "tile-tracking" });
  const stat = (label, dd) => h("div", {}, h("dt", {}, label), dd);
  const el = h(
    "article",
    { class: "tile", dataset: { camera: camera.id } },
    h("div", { class: "tile-media" }, img, overlay, liveTag),
    h(
      "div",
      { class: "tile-body" },
      h(
        "div",
        { class: "tile-title" },
        h("div", { class: "tile-name" }, h("div", { class: "tile-name-row" }, nameEl, badgeSlot), idEl),
        h(
          "div",
          { class: "tile-actions" },
          h("a", { class: "btn btn-ghost btn-icon", href: `#/alerts?camera=${seg(camera.id)}`, title: "Alerts of this camera", "aria-label": `Alerts of ${camera.name || camera.id}` }, icon("alerts")),
          h("a", { class: "btn btn-ghost btn-icon", href: `#/cameras/${seg(camera.id)}`, title: "Camera settings", "aria-label": `Settings of ${camera.name || camera.id}` }, icon("edit")),
        ),
      ),
      h("dl", { class: "tile-stats" }, stat("Captured", values.captured), stat("Detected", values.detected), stat("Latency", values.latency), stat("Restarts", values.restarts)),
      tracking,
    ),
  );

  let liveOn = false;
  let mode = "none"; // "stream" | "still" | "none"
  let lastKey = "";
  img.addEventListener("load", () => {
    if (mode !== "none") el.classList.add("has-frame");
  });
  img.addEventListener("error", () => {
    if (mode !== "none") el.classList.remove("has-frame");
  });

  const tile = {
    el,
    wantsLive: false,
    setLive(on) {
      if (on === liveOn) return;
      liveOn = on;
      if (on) {
        mode = "stream";
        img.src = `/api/cameras/${seg(camera.id)}/live.mjpeg?fps=${LIVE_FPS}`;
      } else stopImage();
    },
    refreshStill() {
      if (mode === "still" && !document.hidden) img.src = `/api/cameras/${seg(camera.id)}/latest.jpg?t=${Date.now()}`;
    },
    update(cam, proc, state, streaming, paused) {
      camera = cam;
      const name = cam.name || cam.id;
      nameEl.textContent = name;
      idEl.textContent = cam.id;
      img.alt = `Live view of ${name}`;
      const online = state.state === "online";
      const key = `${state.state}|${state.label}`;
      if (key !== lastKey) {
        replace(badgeSlot, badge(state.state, state.label, { pulse: state.state === "reconnecting" }));
        lastKey = key;
      }
      el.dataset.state = state.state;
      replace(
        overlay,
        online ? null : h("div", { class: "no-signal" }, icon("signal", { size: 30 }), h("strong", {}, noSignalTitle(state.state)), state.detail ? h("span", {}, state.detail) : null),
      );
      overlay.hidden = online;
      tile.wantsLive = streaming;
      if (streaming) tile.setLive(!paused);
      else {
        if (liveOn) tile.setLive(false);
        if (online && mode !== "still") {
          mode = "still";
          tile.refreshStill();
        } else if (!online && mode === "still") stopImage();
      }
      liveTag.hidden = !(online && mode === "stream");
      const s = (proc && proc.stats) || {};
      values.captured.textContent = online ? `${num(s.fps_captured)} fps` : "—";
      values.detected.textContent = online ? `${num(s.fps_detected)} fps` : "—";
      const latency = s.latency_ms || {};
      values.latency.textContent = online && latency.p50 !== undefined ? millis(latency.p50) : "—";
      values.latency.title = latency.p95 !== undefined ? `capture to result: p50 ${millis(latency.p50)}, p95 ${millis(latency.p95)}` : "";
      values.restarts.textContent = proc ? String(proc.restarts ?? 0) : "—";
      values.restarts.classList.toggle("tone-text-warn", Boolean(proc && proc.restarts));
      tracking.replaceChildren(...trackingSummary(s.analytics, online));
    },
    dispose() {
      stopImage();
    },
  };

  function stopImage() {
    liveOn = false;
    mode = "none";
    img.removeAttribute("src");
    // Dropping the attribute alone can leave an MJPEG response open; an empty image ends it.
    img.src = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==";
    el.classList.remove("has-frame");
  }
  return tile;
}

function noSignalTitle(state) {
  return { offline: "No signal", failed: "Camera process failed", reconnecting: "Reconnecting", disabled: "Disabled", stopped: "Processing stopped" }[state] || "Connecting";
}

function trackingSummary(analytics, online) {
  if (!online || !analytics) return [];
  const counts = {};
  for (const track of analytics.track_table || []) {
    if (track.status === "tracked") counts[track.label] = (counts[track.label] || 0) + 1;
  }
  const parts = Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([label, n]) => h("span", { class: "chip" }, `${n} ${label}`));
  const active = analytics.alerts_active || 0;
  return [
    active ? h("span", { class: "chip chip-alert" }, icon("alerts", { size: 13 }), `${active} active alert${active === 1 ? "" : "s"}`) : null,
    ...parts,
  ].filter(Boolean);
}
