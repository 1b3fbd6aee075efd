// System: the machine, the monitors, the alert sinks and every process the supervisor runs,
// with the controls that start, stop and restart alert processing. In a cluster, the site's
// nodes too: live or not, heartbeat, version, URL and the cameras each runs.
import { api, clusterMembership, nodes } from "../api.js";
import { h, replace } from "../dom.js";
import { ago, bytes, duration, humanize, millis, num, percent } from "../format.js";
import { badge } from "../status.js";
import { busy, button, confirmDialog, defs, every, meter, nodeName, notice, pageHeader, toast } from "../ui.js";

export const title = "System";

/** In a cluster: this node's id and the site's nodes, by id; null outside a cluster. */
async function clusterNodes(membership) {
  const self = await membership();
  if (!self.cluster) return null;
  const list = await nodes.list();
  return { selfId: self.node_id, nodes: list.sort((a, b) => a.id.localeCompare(b.id)) };
}

export function mount(root) {
  const membership = clusterMembership();
  const problem = h("div");
  const processing = h("section", { class: "card span-2", "aria-labelledby": "processing-title" });
  const site = h("section", { class: "card span-2", "aria-labelledby": "nodes-title" });
  const host = h("section", { class: "card", "aria-labelledby": "host-title" });
  const detectors = h("section", { class: "card", "aria-labelledby": "detectors-title" });
  const sinks = h("section", { class: "card span-2", "aria-labelledby": "sinks-title" });
  const processes = h("section", { class: "card span-2", "aria-labelledby": "processes-title" });
  const reach = h("section", { class: "card", "aria-labelledby": "reach-title" });
  const serial = h("section", { class: "card", "aria-labelledby": "serial-title" });
  replace(
    root,
    pageHeader("System", "Health of the service and of everything it runs"),
    problem,
    h("div", { class: "system-grid" }, processing, host, detectors, sinks, processes, reach, serial),
  );

  const control = (action, text, iconName, kind) =>
    button(text, {
      icon: iconName,
      kind,
      dataset: { action },
      onclick: (event) =>
        busy(event.currentTarget, async () => {
          const self = await membership();
          if (action === "stop") {
            const yes = await confirmDialog({
              title: self.cluster ? "Stop alert processing on every node?" : "Stop alert processing?",
              text: self.cluster
                ? "Cameras and detectors stop on every node of the site, so no alerts are raised until it starts again. Monitors keep running."
                : "Cameras and the detector stop, so no alerts are raised until it starts again. Monitors keep running.",
              confirm: "Stop processing",
              danger: true,
            });
            if (!yes) return;
          }
          if (self.cluster) {
            const result = await api(`/api/nodes/background/${action}`, { method: "POST" });
            toast(siteOutcome(action, result.nodes));
          } else {
            const result = await api(`/background/${action}`, { method: "POST" });
            toast(result.changed ? `Alert processing: ${result.status.alert_processing.status}` : "Nothing to change");
          }
          await refresh();
        }),
    });
  const controls = [control("start", "Start", "play", "secondary"), control("restart", "Restart", "refresh", "secondary"), control("stop", "Stop", "stop", "danger-ghost")];

  async function refresh() {
    let stats;
    let cluster;
    try {
      [stats, cluster] = await Promise.all([api("/api/stats"), clusterNodes(membership)]);
      replace(problem);
    } catch (error) {
      if (error.status !== 401) replace(problem, notice(error.message));
      return;
    }
    renderProcessing(stats.status);
    if (cluster) renderNodes(cluster);
    renderHost(stats.monitors.host);
    renderDetectors(stats.pipeline.detectors || {});
    renderSinks(stats.sinks || {});
    renderProcesses(stats.pipeline);
    renderReach(stats.monitors.camera);
    renderSerial(stats.monitors.serial);
  }

  function renderProcessing(status) {
    const ap = status.alert_processing;
    const running = ap.status === "running";
    controls[0].disabled = running || ap.status === "starting";
    controls[1].disabled = ap.status === "starting" || ap.status === "stopping";
    controls[2].disabled = !running;
    const monitors = status.basic_monitors;
    replace(
      processing,
      h(
        "div",
        { class: "card-head" },
        h("h2", { class: "card-title", id: "processing-title" }, "Alert processing"),
        h("div", { class: "actions" }, controls),
      ),
      h(
        "div",
        { class: "kpis" },
        kpi("State", badge(ap.status)),
        kpi("Cameras processing", num(ap.cameras_processing, 0)),
        kpi("Alert events since start", num(ap.total_alerts_processed, 0)),
        kpi("Monitors", badge(monitors.status)),
      ),
      h(
        "div",
        { class: "chips" },
        h("span", { class: "muted small" }, "Handlers"),
        Object.entries(ap.handlers_status).map(([name, state]) => h("span", { class: "chip" }, name, " ", badge(state))),
        h("span", { class: "muted small" }, "Monitors"),
        [["Host", monitors.host_monitor], ["Serial", monitors.serial_monitor], ["Camera", monitors.camera_monitor]].map(([name, on]) =>
          h("span", { class: "chip" }, name, " ", badge(on ? "running" : "stopped")),
        ),
      ),
    );
  }

  function renderNodes({ selfId, nodes: list }) {
    if (!site.isConnected) processing.after(site);
    const live = list.filter((n) => n.live).length;
    replace(
      site,
      h("div", { class: "card-head" }, h("h2", { class: "card-title", id: "nodes-title" }, "Nodes"), h("span", { class: "muted small" }, `${live} of ${list.length} live`)),
      table(
        ["Node", "State", "Heartbeat", "Version", "URL", "Cameras"],
        list.map((n) => [
          h("span", {}, nodeName(n.id, n.url, "system"), n.id === selfId ? h("div", { class: "muted small" }, "This node") : null),
          nodeState(n),
          n.heartbeat_age_s < 60 ? `${num(n.heartbeat_age_s, 1)} s ago` : `${duration(n.heartbeat_age_s)} ago`,
          n.version || "—",
          n.url ? h("span", { class: "mono small" }, n.url) : "—",
          n.cameras.length ? h("span", {}, h("strong", {}, String(n.cameras.length)), " ", h("span", { class: "mono small" }, n.cameras.join(", "))) : "None",
        ]),
        [],
        "No node has joined yet.",
      ),
    );
  }

  function renderHost(monitor) {
    const s = (monitor && monitor.sample) || null;
    const rows = s
      ? [
          meter("CPU", s.cpu_percent / 100, `${percent(s.cpu_percent)} of ${s.cpu_count} cores`),
          meter("Memory", s.memory_percent / 100, `${bytes(s.memory_used)} of ${bytes(s.memory_total)}`),
          meter("Disk (data)", s.disk_percent / 100, `${bytes(s.disk_free)} free of ${bytes(s.disk_total)}`),
          defs([
            ["Temperature", s.temperature_c !== null && s.temperature_c !== undefined ? `${num(s.temperature_c)} °C` : "No sensor"],
            ["Load average", (s.load_average || []).map((v) => num(v, 2)).join(" · ")],
            ["Uptime", duration(s.uptime_s)],
            ["atalaia", `${percent(s.service_cpu_percent)} CPU · ${bytes(s.service_rss)} · ${s.service_threads} threads`],
          ]),
        ]
      : [h("p", { class: "muted" }, monitor ? `Host monitor ${monitor.state}` : "No host monitor")];
    replace(host, h("div", { class: "card-head" }, h("h2", { class: "card-title", id: "host-title" }, "Host"), monitor ? badge(monitor.state) : null), rows);
  }

  function renderDetectors(list) {
    const entries = Object.entries(list);
    replace(
      detectors,
      h("h2", { class: "card-title", id: "detectors-title" }, "Detector"),
      entries.length
        ? entries.map(([name, d]) => {
            const s = d.stats || {};
            const infer = s.infer_ms || {};
            return h(
              "div",
              { class: "detector" },
              h("div", { class: "card-head" }, h("strong", {}, name), badge(d.state)),
              defs([
                ["Model call", infer.p50 !== undefined ? `${millis(infer.p50)} p50 · ${millis(infer.p95)} p95` : "—"],
                ["Frames inferred", num(s.frames || 0, 0)],
                ["Mean batch", num(s.mean_batch || 0, 2)],
                ["Waiting", num(s.pending || 0, 0)],
                ["Connections", num(s.connections || 0, 0)],
              ]),
            );
          })
        : h("p", { class: "muted" }, "No detector running (alert processing is stopped)."),
    );
  }

  function renderSinks(list) {
    const entries = Object.entries(list);
    replace(
      sinks,
      h("h2", { class: "card-title", id: "sinks-title" }, "Alert delivery"),
      table(
        ["Sink", "State", "Delivered", "Pending", "Failed tries", "Dead", "Last delivered", "Last error"],
        entries.map(([name, s]) => [
          h("strong", {}, name, s.type && s.type !== name ? h("span", { class: "muted small" }, ` ${s.type}`) : null),
          badge(s.healthy ? "healthy" : s.state === "running" ? "unhealthy" : s.state, s.healthy ? "Healthy" : humanize(s.state === "running" ? "unhealthy" : s.state)),
          num(s.delivered || 0, 0),
          num(s.pending || 0, 0),
          num(s.failed || 0, 0),
          s.dead ? h("span", { class: "tone-text-bad" }, num(s.dead, 0)) : "0",
          s.last_delivered_at ? ago(s.last_delivered_at) : "never",
          s.last_error ? h("span", { class: "tone-text-bad clamp", title: s.last_error }, `${s.last_error} (${ago(s.last_error_at)})`) : "—",
        ]),
        [2, 3, 4, 5],
        "No sinks configured.",
      ),
      entries.some(([, s]) => s.dead) ? h("p", { class: "muted small" }, "Dead deliveries can be retried from the alert's page.") : null,
    );
  }

  function renderProcesses(pipeline) {
    const all = [...Object.values(pipeline.detectors || {}), ...Object.values(pipeline.cameras || {})];
    replace(
      processes,
      h("h2", { class: "card-title", id: "processes-title" }, "Processes"),
      table(
        ["Process", "State", "PID", "Restarts", "In window", "Heartbeat", "Reason"],
        all.map((p) => [
          h("span", { class: "mono" }, p.name),
          badge(p.state),
          p.pid ?? "—",
          p.restarts ? h("span", { class: "tone-text-warn" }, String(p.restarts)) : "0",
          String(p.restarts_in_window ?? 0),
          p.last_heartbeat_age_s !== null && p.last_heartbeat_age_s !== undefined ? `${num(p.last_heartbeat_age_s, 1)} s ago` : "—",
          p.reason ? h("span", { class: "clamp", title: p.reason }, p.reason) : "—",
        ]),
        [2, 3, 4],
        "No process running (alert processing is stopped).",
      ),
    );
  }

  function renderReach(monitor) {
    const cams = Object.values((monitor && monitor.cameras) || {});
    replace(
      reach,
      h(
        "div",
        { class: "card-head" },
        h("h2", { class: "card-title", id: "reach-title" }, "Camera reachability"),
        monitor && monitor.total !== undefined ? h("span", { class: "muted small" }, `${monitor.reachable} of ${monitor.total} reachable`) : null,
      ),
      table(
        ["Camera", "Target", "Reachable", "Checked"],
        cams.map((c) => [
          h("strong", {}, c.camera_id),
          h("span", { class: "mono small" }, c.target || c.url),
          h("span", {}, badge(c.reachable ? "reachable" : "unreachable", c.reachable ? (c.latency_ms ? `Yes · ${millis(c.latency_ms)}` : "Yes") : "No"), c.reachable ? null : h("div", { class: "muted small" }, c.reason)),
          ago(c.checked_at),
        ]),
        [],
        "No camera checked yet.",
      ),
    );
  }

  function renderSerial(monitor) {
    const m = monitor || { state: "disabled" };
    const board = m.board || {};
    replace(
      serial,
      h("div", { class: "card-head" }, h("h2", { class: "card-title", id: "serial-title" }, "Serial board"), badge(m.state === "disabled" ? "disabled" : m.online ? "online" : "offline", m.state === "disabled" ? "Not configured" : m.online ? "Online" : "Offline")),
      defs([
        ["Port", m.port || "—"],
        ["Board", Object.keys(board).length ? Object.entries(board).map(([k, v]) => `${k} ${v}`).join(" · ") : "—"],
        ["Last heartbeat", m.last_heartbeat_at ? ago(m.last_heartbeat_at) : "—"],
        ["Readings", Object.keys(m.readings || {}).length ? Object.entries(m.readings).map(([k, v]) => `${k}: ${typeof v === "object" && v !== null ? v.value ?? JSON.stringify(v) : v}`).join(" · ") : "—"],
        m.reason ? ["Note", m.reason] : null,
        m.last_error ? ["Last error", h("span", { class: "tone-text-bad" }, m.last_error)] : null,
      ]),
    );
  }

  return every(3000, refresh);
}

/** What a site-wide start, stop or restart did: how many nodes changed, and who failed why. */
function siteOutcome(action, answers) {
  const entries = Object.entries(answers);
  const changed = entries.filter(([, answer]) => answer.changed).length;
  const failed = entries.filter(([, answer]) => answer.error).map(([node, answer]) => `${node}: ${answer.error}`);
  const done = { start: "started", stop: "stopped", restart: "restarted" }[action];
  const summary = `Alert processing ${done} on ${changed} of ${entries.length} nodes`;
  return failed.length ? `${summary}; ${failed.join("; ")}` : summary;
}

/** A node is live while its heartbeat is younger than one lease; a stopped node said so. */
function nodeState(node) {
  if (node.live) return badge("online", "Live");
  if (node.state === "stopped") return badge("stopped", "Stopped");
  return badge("offline", "Not live");
}

function kpi(label, value) {
  return h("div", { class: "kpi" }, h("span", { class: "kpi-label" }, label), h("span", { class: "kpi-value" }, value));
}

function table(headings, rows, numeric, empty) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table" },
      h("thead", {}, h("tr", {}, headings.map((t, i) => h("th", { scope: "col", class: numeric.includes(i) ? "num" : null }, t)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell, i) => h("td", { class: numeric.includes(i) ? "num" : null }, cell))))),
    ),
  );
}
