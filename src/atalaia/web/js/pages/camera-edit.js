// One camera: its settings (add or edit), its zones drawn on a picture from it, its rules.
import { api, seg } from "../api.js";
import { checkbox, field, h, replace, select } from "../dom.js";
import { icon } from "../icons.js";
import { badge, cameraState } from "../status.js";
import { busy, button, emptyState, notice, pageHeader, toast } from "../ui.js";
import { deleteCamera } from "./cameras.js";
import { mountRulesEditor } from "./rules-editor.js";
import { mountZoneEditor } from "./zone-editor.js";

export const title = "Camera";

const TABS = [
  ["settings", "Settings", "edit"],
  ["zones", "Zones", "zone"],
  ["rules", "Rules", "rule"],
];
const CAMERA_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function mount(root, ctx) {
  const isNew = ctx.id === null;
  let tab = isNew ? "settings" : ctx.query.get("tab") || "settings";
  let camera = null;
  let cleanupTab = null;

  const back = h("a", { class: "back-link", href: "#/cameras" }, icon("back", { size: 16 }), "All cameras");
  const header = h("div");
  const tabBar = h("div", { class: "tabs", role: "tablist", "aria-label": "Camera sections" });
  const panel = h("div", { class: "tab-panel", role: "tabpanel", tabindex: "-1" });
  replace(root, back, header, isNew ? null : tabBar, panel);

  function renderHeader() {
    if (isNew) {
      replace(header, pageHeader("Add camera", "Any RTSP or HTTP camera, a video file or a local device"));
      return;
    }
    const name = camera.name || camera.id;
    const status = camera.status || {};
    const proc = status.running ? { state: status.process, restarts: status.restarts, stats: { reader: { state: status.reader } } } : null;
    const state = cameraState(camera, proc, status.running ? "running" : null);
    const del = button("Delete", {
      icon: "trash",
      kind: "danger-ghost",
      onclick: (event) =>
        busy(event.currentTarget, async () => {
          if (await deleteCamera(camera)) ctx.navigate("#/cameras");
        }),
    });
    replace(header, pageHeader(h("span", { class: "title-with-badge" }, name, badge(state.state, state.label)), camera.id, del));
  }

  function renderTabs() {
    replace(
      tabBar,
      TABS.map(([key, text, iconName]) =>
        h(
          "button",
          {
            type: "button",
            role: "tab",
            class: "tab",
            id: `tab-${key}`,
            "aria-selected": key === tab ? "true" : "false",
            "aria-controls": "camera-panel",
            onclick: () => selectTab(key),
          },
          icon(iconName, { size: 16 }),
          text,
        ),
      ),
    );
    panel.id = "camera-panel";
    panel.setAttribute("aria-labelledby", `tab-${tab}`);
  }

  function selectTab(key) {
    tab = key;
    ctx.setQuery({ tab: key === "settings" ? "" : key });
    renderTabs();
    showTab();
  }

  function showTab() {
    if (cleanupTab) cleanupTab();
    cleanupTab = null;
    replace(panel);
    if (tab === "zones") cleanupTab = mountZoneEditor(panel, camera, onSaved);
    else if (tab === "rules") cleanupTab = mountRulesEditor(panel, camera, onSaved);
    else settingsForm(panel, camera, isNew, onSaved);
  }

  function onSaved(updated) {
    camera = updated;
    renderHeader();
  }

  async function load() {
    if (isNew) {
      renderHeader();
      showTab();
      return;
    }
    try {
      camera = await api(`/api/cameras/${seg(ctx.id)}`);
    } catch (error) {
      replace(root, back, error.status === 404 ? emptyState("cameras", "Camera not found", `There is no camera “${ctx.id}”.`) : notice(error.message));
      return;
    }
    renderHeader();
    renderTabs();
    showTab();
  }
  load();

  return () => {
    if (cleanupTab) cleanupTab();
  };

  function settingsForm(container, existing, creating, saved) {
    const c = existing || { enabled: true, source: { url: "", transport: "tcp" }, detect: { enabled: true, fps: 5, min_score: 0.4, classes: null, motion: { enabled: false } } };
    const idInput = h("input", { name: "id", value: c.id || "", required: true, readOnly: !creating, pattern: CAMERA_ID.source, maxLength: 64, spellcheck: false, autocomplete: "off" });
    const nameInput = h("input", { name: "name", value: c.name || "", maxLength: 200, autocomplete: "off" });
    const urlInput = h("input", { name: "url", value: c.source.url || "", required: true, spellcheck: false, autocomplete: "off", class: "mono" });
    const transport = select([["tcp", "TCP (reliable)"], ["udp", "UDP (lower latency)"]], c.source.transport || "tcp", { name: "transport" });
    const enabled = checkbox("Enabled: capture and analyse this camera", c.enabled !== false, { name: "enabled" });
    const targetFps = h("input", { name: "target_fps", type: "number", min: 0.1, max: 240, step: "any", value: c.target_fps ?? "", placeholder: "Camera's own rate" });
    const detectOn = checkbox("Run object detection", c.detect.enabled !== false, { name: "detect_enabled" });
    const detectFps = h("input", { name: "detect_fps", type: "number", min: 0.1, max: 120, step: "any", value: c.detect.fps ?? 5, required: true });
    const minScore = h("input", { name: "min_score", type: "number", min: 0, max: 1, step: 0.05, value: c.detect.min_score ?? 0.4, required: true });
    const classes = h("input", { name: "classes", value: (c.detect.classes || []).join(", "), placeholder: "All classes", autocomplete: "off" });
    const motion = checkbox("Only detect when something moves (motion gating)", Boolean(c.detect.motion && c.detect.motion.enabled), { name: "motion" });
    const feedback = h("div", { "aria-live": "polite" });
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, icon("check"), h("span", {}, creating ? "Add camera" : "Save settings"));

    const form = h(
      "form",
      { class: "card form-card", novalidate: true },
      h(
        "fieldset",
        {},
        h("legend", {}, "Camera"),
        h("div", { class: "form-grid" }, field("Camera id", idInput, creating ? "Letters, digits, _ and -; it cannot change later." : "The id cannot change."), field("Name", nameInput, "Shown in the console and in alerts.")),
        field("Source URL", urlInput, "rtsp://user:password@host:554/stream, http://host/video.mjpeg, an HLS .m3u8, a video file, /dev/video0 or demo://people. A stored password shows as *** and is kept when left as is."),
        h("div", { class: "form-grid" }, field("RTSP transport", transport), field("Capture limit (fps)", targetFps, "Empty: as fast as the camera sends.")),
        enabled.el,
      ),
      h(
        "fieldset",
        {},
        h("legend", {}, "Detection"),
        detectOn.el,
        h("div", { class: "form-grid three" }, field("Detections per second", detectFps), field("Minimum score", minScore, "0 to 1"), field("Classes", classes, "Comma-separated, e.g. person, car")),
        motion.el,
      ),
      feedback,
      h("div", { class: "form-actions" }, submit),
    );

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(feedback);
      const id = idInput.value.trim();
      if (creating && !CAMERA_ID.test(id)) {
        replace(feedback, notice("The camera id must start with a letter or digit and use only letters, digits, _ and - (at most 64)."));
        idInput.focus();
        return;
      }
      if (!urlInput.value.trim()) {
        replace(feedback, notice("Enter the camera's source URL."));
        urlInput.focus();
        return;
      }
      const body = structuredClone(existing || {});
      delete body.status;
      body.id = id;
      body.name = nameInput.value.trim() || null;
      body.enabled = enabled.input.checked;
      body.source = { ...(body.source || {}), url: urlInput.value.trim(), transport: transport.value };
      body.target_fps = targetFps.value === "" ? null : Number(targetFps.value);
      const classList = classes.value.split(",").map((s) => s.trim()).filter(Boolean);
      body.detect = {
        ...(body.detect || {}),
        enabled: detectOn.input.checked,
        fps: Number(detectFps.value),
        min_score: Number(minScore.value),
        classes: classList.length ? classList : null,
        motion: { ...((body.detect && body.detect.motion) || {}), enabled: motion.input.checked },
      };
      await busy(submit, async () => {
        try {
          const result = creating
            ? await api("/api/cameras", { method: "POST", body })
            : await api(`/api/cameras/${seg(id)}`, { method: "PUT", body });
          toast(creating ? `${result.name || result.id} added` : "Settings saved; the camera restarts with them");
          if (creating) ctx.navigate(`#/cameras/${seg(result.id)}?tab=zones`);
          else {
            existing = result;
            saved(result);
          }
        } catch (error) {
          if (error.status !== 401) replace(feedback, notice(error.message));
        }
      });
    });
    replace(container, form);
  }
}
