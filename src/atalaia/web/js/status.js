// One vocabulary of states and colours for the whole console:
// ok (green) online/running/delivered, warn (amber) reconnecting/starting/pending,
// bad (red) offline/failed/dead, off (grey) stopped/disabled.
import { h } from "./dom.js";

const TONES = {
  online: "ok",
  running: "ok",
  healthy: "ok",
  delivered: "ok",
  active: "ok",
  alerting: "warn",
  reachable: "ok",
  ended: "off",
  starting: "warn",
  connecting: "warn",
  connected: "ok",
  restarting: "warn",
  reconnecting: "warn",
  stopping: "warn",
  pending: "warn",
  in_flight: "warn",
  degraded: "warn",
  failed: "bad",
  offline: "bad",
  dead: "bad",
  error: "bad",
  unreachable: "bad",
  unhealthy: "bad",
  stopped: "off",
  disabled: "off",
  unknown: "off",
};

export function toneOf(state) {
  return TONES[state] || "off";
}

/** A coloured pill with a dot: badge("online"), badge("dead", "Dead after 8 tries"). */
export function badge(state, label, { pulse = false } = {}) {
  const text = label || (state ? state.charAt(0).toUpperCase() + state.slice(1).replace(/_/g, " ") : "Unknown");
  return h(
    "span",
    { class: ["badge", `tone-${toneOf(state)}`, pulse && "pulse"], dataset: { state: state || "unknown" } },
    h("span", { class: "dot", "aria-hidden": "true" }),
    text,
  );
}

/**
 * What a person wants to know about a camera, from its configuration (`/api/cameras`), its
 * process and reader (`/api/stats` pipeline entry) and whether alert processing runs.
 * Returns {state, label, detail}.
 */
export function cameraState(camera, proc, processing) {
  if (camera && camera.enabled === false) return { state: "disabled", label: "Disabled", detail: "Turned off in its settings" };
  if (processing && processing !== "running") {
    return { state: "stopped", label: "Stopped", detail: `Alert processing is ${processing}` };
  }
  if (!proc) return { state: "starting", label: "Starting", detail: "Waiting for its process" };
  if (proc.state === "failed") {
    return { state: "failed", label: "Failed", detail: proc.reason || "Too many restarts; restarts stopped" };
  }
  if (proc.state === "starting" || proc.state === "restarting") {
    return { state: proc.state, label: proc.state === "starting" ? "Starting" : "Restarting", detail: proc.reason || "" };
  }
  if (proc.state === "stopped") return { state: "stopped", label: "Stopped", detail: proc.reason || "" };
  const reader = (proc.stats && proc.stats.reader) || {};
  switch (reader.state) {
    case "online":
      return { state: "online", label: "Online", detail: "" };
    case "reconnecting":
      return { state: "reconnecting", label: "Reconnecting", detail: reader.last_error || "" };
    case "offline":
      return { state: "offline", label: "Offline", detail: reader.last_error || "No frames from the camera" };
    case "stopped":
      return { state: "stopped", label: "Stopped", detail: "" };
    default:
      return { state: "starting", label: "Connecting", detail: "" };
  }
}
