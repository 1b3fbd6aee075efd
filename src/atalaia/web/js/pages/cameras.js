// Cameras: the configured cameras with their state; add, edit and delete. In a cluster, each
// row also names the node that runs the camera (the node holding its lease).
import { api, clusterMembership, nodes, seg } from "../api.js";
import { h, replace } from "../dom.js";
import { num } from "../format.js";
import { icon } from "../icons.js";
import { badge, cameraState } from "../status.js";
import { busy, button, confirmDialog, emptyState, every, linkButton, nodeName, notice, pageHeader, toast } from "../ui.js";

export const title = "Cameras";

/** Ask, then delete a camera; resolves true when it was deleted. */
export async function deleteCamera(camera) {
  const name = camera.name || camera.id;
  const yes = await confirmDialog({
    title: `Delete ${name}?`,
    text: "The camera stops at once and its zones and rules are removed. Its past alerts, snapshots and clips are kept.",
    confirm: "Delete camera",
    danger: true,
  });
  if (!yes) return false;
  await api(`/api/cameras/${seg(camera.id)}`, { method: "DELETE" });
  toast(`${name} deleted`);
  return true;
}

/**
 * Who runs each camera of a cluster: this node's id and, by camera id, the camera's entry in
 * `/api/nodes/cameras` (node, node_url). Null outside a cluster.
 */
async function clusterHolders(membership) {
  const self = await membership();
  if (!self.cluster) return null;
  const list = await nodes.cameras();
  return { selfId: self.node_id, byCamera: new Map(list.map((entry) => [entry.camera, entry])) };
}

/** The node cell of a camera's row: the node that runs it, or why none does. */
function nodeCell(camera, holder, selfId) {
  if (camera.enabled === false) return h("td", { class: "node-cell muted", dataset: { node: "" } }, "—");
  if (!holder || !holder.node) {
    return h("td", { class: "node-cell", dataset: { node: "" } }, badge("pending", "None"), h("div", { class: "muted small" }, "Waiting for a node"));
  }
  return h(
    "td",
    { class: "node-cell", dataset: { node: holder.node } },
    nodeName(holder.node, holder.node_url, "cameras"),
    holder.node === selfId ? h("div", { class: "muted small" }, "This node") : null,
  );
}

/** A camera that another node runs: its process and state are on that node, not here. */
function remoteState(holder) {
  return { state: "remote", label: "Other node", detail: `Runs on ${holder.node}; its state is on that node's console` };
}

export function mount(root) {
  const membership = clusterMembership();
  const body = h("div");
  const problem = h("div");
  replace(root, pageHeader("Cameras", "Sources, detection settings, zones and rules", linkButton("Add camera", "#/cameras/new", { icon: "plus", kind: "primary" })), problem, body);

  async function load() {
    let cameras;
    let stats;
    let cluster;
    try {
      [cameras, stats, cluster] = await Promise.all([api("/api/cameras"), api("/api/stats"), clusterHolders(membership)]);
      replace(problem);
    } catch (error) {
      if (error.status !== 401) replace(problem, notice(error.message));
      return;
    }
    if (!cameras.length) {
      replace(body, emptyState("cameras", "No cameras yet", "Add an RTSP, HTTP (MJPEG/HLS) camera, a video file or a local device.", linkButton("Add camera", "#/cameras/new", { icon: "plus", kind: "primary" })));
      return;
    }
    const processing = stats.status.alert_processing.status;
    const rows = cameras.map((camera) => {
      const proc = stats.pipeline.cameras[camera.id];
      const holder = cluster ? cluster.byCamera.get(camera.id) : null;
      const elsewhere = cluster && camera.enabled !== false && holder && holder.node && holder.node !== cluster.selfId && !proc;
      const state = elsewhere ? remoteState(holder) : cameraState(camera, proc, processing);
      const name = camera.name || camera.id;
      const del = button("", {
        icon: "trash",
        kind: "ghost",
        label: `Delete ${name}`,
        onclick: (event) =>
          busy(event.currentTarget, async () => {
            if (await deleteCamera(camera)) load();
          }),
      });
      return h(
        "tr",
        { dataset: { camera: camera.id } },
        h("td", {}, h("a", { class: "row-title", href: `#/cameras/${seg(camera.id)}` }, name), h("div", { class: "mono muted small" }, camera.id)),
        h("td", {}, badge(state.state, state.label), state.detail ? h("div", { class: "muted small clamp", title: state.detail }, state.detail) : null),
        cluster ? nodeCell(camera, holder, cluster.selfId) : null,
        h("td", { class: "mono small url-cell", title: camera.source.url }, camera.source.url),
        h("td", { class: "num" }, camera.detect.enabled ? `${num(camera.detect.fps)} fps` : "Off"),
        h("td", { class: "num" }, String(camera.zones.length)),
        h("td", { class: "num" }, String(camera.rules.length)),
        h(
          "td",
          { class: "row-actions" },
          h("a", { class: "btn btn-ghost btn-icon", href: `#/cameras/${seg(camera.id)}?tab=zones`, title: "Zones", "aria-label": `Zones of ${name}` }, icon("zone")),
          h("a", { class: "btn btn-ghost btn-icon", href: `#/cameras/${seg(camera.id)}`, title: "Edit", "aria-label": `Edit ${name}` }, icon("edit")),
          del,
        ),
      );
    });
    replace(
      body,
      h(
        "div",
        { class: "card table-card" },
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "table" },
            h("thead", {}, h("tr", {}, ["Camera", "State", cluster ? "Node" : null, "Source", "Detection", "Zones", "Rules", h("span", { class: "sr-only" }, "Actions")].filter(Boolean).map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, rows),
          ),
        ),
      ),
    );
  }

  return every(5000, load);
}
