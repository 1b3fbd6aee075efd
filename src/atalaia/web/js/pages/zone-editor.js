// Zones drawn on the camera's latest frame: click to place points, click the first point (or
// press Enter) to close the shape, drag a point to move it, double-click a point to remove it.
// Zones are saved in coordinates relative to the frame (0..1), so they survive a change of
// the camera's resolution.
import { api, seg } from "../api.js";
import { field, h, replace, select } from "../dom.js";
import { icon } from "../icons.js";
import { busy, button, notice, toast } from "../ui.js";

const COLOURS = ["#5b9cff", "#e8a33d", "#2fbf71", "#c77dff", "#ff6b8b", "#3cc8c8", "#f4d35e", "#ff8c42"];
const ANCHORS = [
  ["bottom_center", "Feet (bottom centre)"],
  ["center", "Centre of the box"],
  ["top_center", "Head (top centre)"],
  ["bottom_left", "Bottom left corner"],
  ["bottom_right", "Bottom right corner"],
];
const HIT_PX = 12;
const round = (v) => Math.round(v * 10000) / 10000;

function isRelative(zone) {
  if (zone.relative === true) return true;
  if (zone.relative === false) return false;
  return zone.points.every(([x, y]) => x <= 1 && y <= 1);
}

export function mountZoneEditor(container, camera, onSaved) {
  let zones = [];
  let selected = -1;
  let drawing = false;
  let hover = null;
  let drag = null;
  let dirty = false;
  let size = null; // the frame's natural size, once the picture loaded

  const picture = h("img", { class: "zone-picture", alt: `Latest frame of ${camera.name || camera.id}` });
  const canvas = h("canvas", {
    class: "zone-canvas",
    tabindex: 0,
    role: "img",
    "aria-label": "Zone drawing area. Click to add points to the selected zone; Enter closes the zone, Backspace removes the last point, Escape stops drawing.",
    dataset: { ready: "false", drawing: "false", zones: "0" },
  });
  const stageMessage = h("div", { class: "stage-message", hidden: true });
  const stage = h("div", { class: "zone-stage" }, picture, canvas, stageMessage);
  const hint = h("p", { class: "zone-hint" });
  const list = h("ul", { class: "zone-list", "aria-label": "Zones" });
  const form = h("div", { class: "zone-form" });
  const feedback = h("div", { "aria-live": "polite" });
  const saveBtn = button("Save zones", { icon: "check", kind: "primary" });
  const revertBtn = button("Revert", { icon: "undo", kind: "ghost" });
  const dirtyNote = h("span", { class: "dirty-note", hidden: true }, "Unsaved changes");

  replace(
    container,
    h(
      "div",
      { class: "zone-editor" },
      h(
        "section",
        { class: "card zone-stage-card", "aria-label": "Picture and zones" },
        h("div", { class: "zone-toolbar" }, hint, button("", { icon: "refresh", kind: "ghost", label: "Take a new picture", onclick: loadPicture })),
        stage,
      ),
      h(
        "aside",
        { class: "card zone-side", "aria-label": "Zone list" },
        h("div", { class: "side-head" }, h("h2", { class: "card-title" }, "Zones"), button("New zone", { icon: "plus", kind: "secondary", onclick: newZone })),
        list,
        form,
        feedback,
        h("div", { class: "form-actions" }, dirtyNote, revertBtn, saveBtn),
      ),
    ),
  );

  // ---- state --------------------------------------------------------------------------------
  function reset(from) {
    zones = from.map((zone) => ({
      name: zone.name,
      anchor: zone.anchor || "bottom_center",
      inertia: zone.inertia ?? 3,
      relative: isRelative(zone),
      raw: zone.points.map((p) => [...p]),
      rel: isRelative(zone) ? zone.points.map((p) => [...p]) : null,
    }));
    convertPixelZones();
    selected = zones.length ? 0 : -1;
    drawing = false;
    setDirty(false);
    refresh();
  }

  function convertPixelZones() {
    if (!size) return;
    for (const zone of zones) {
      if (!zone.rel) zone.rel = zone.raw.map(([x, y]) => [Math.min(1, x / size.w), Math.min(1, y / size.h)]);
    }
  }

  function setDirty(value) {
    dirty = value;
    dirtyNote.hidden = !dirty;
    revertBtn.disabled = !dirty;
  }

  function current() {
    return selected >= 0 ? zones[selected] : null;
  }

  function uniqueName() {
    for (let n = zones.length + 1; ; n += 1) {
      const name = `zone_${n}`;
      if (!zones.some((z) => z.name === name)) return name;
    }
  }

  function newZone() {
    if (drawing) finishDrawing();
    zones.push({ name: uniqueName(), anchor: "bottom_center", inertia: 3, relative: true, raw: [], rel: [] });
    selected = zones.length - 1;
    drawing = true;
    setDirty(true);
    refresh();
    const nameInput = form.querySelector("input[name=zone-name]");
    if (nameInput) {
      nameInput.focus();
      nameInput.select();
    }
  }

  function finishDrawing() {
    const zone = current();
    if (zone && zone.rel && zone.rel.length < 3) {
      replace(feedback, notice(`“${zone.name}” needs at least 3 points; click on the picture to add them.`, "warn"));
      return false;
    }
    drawing = false;
    replace(feedback);
    refresh();
    return true;
  }

  // ---- side panel ---------------------------------------------------------------------------
  function refresh() {
    canvas.dataset.zones = String(zones.length);
    canvas.dataset.drawing = String(drawing);
    hint.textContent = drawing
      ? "Click on the picture to place points. Click the first point or press Enter to close the zone."
      : zones.length
        ? "Drag a point to move it; double-click a point to remove it. Click inside a zone to select it."
        : "No zones: rules watch the whole frame. Add a zone to watch part of it.";
    replace(
      list,
      zones.map((zone, index) =>
        h(
          "li",
          {},
          h(
            "button",
            { type: "button", class: ["zone-item", index === selected && "is-selected"], "aria-pressed": index === selected ? "true" : "false", onclick: () => selectZone(index) },
            h("span", { class: "swatch", style: { background: COLOURS[index % COLOURS.length] } }),
            h("span", { class: "zone-name" }, zone.name || "(unnamed)"),
            h("span", { class: "muted small" }, zone.rel ? `${zone.rel.length} points` : "pixels"),
          ),
        ),
      ),
    );
    renderForm();
    draw();
  }

  function selectZone(index) {
    if (drawing && index !== selected && !finishDrawing()) return;
    selected = index;
    refresh();
  }

  function renderForm() {
    const zone = current();
    if (!zone) {
      replace(form);
      return;
    }
    const name = h("input", { name: "zone-name", value: zone.name, maxLength: 64, required: true, autocomplete: "off" });
    name.addEventListener("input", () => {
      zone.name = name.value.trim();
      setDirty(true);
      const shown = list.querySelector(".is-selected .zone-name");
      if (shown) shown.textContent = zone.name || "(unnamed)";
      draw();
    });
    const anchor = select(ANCHORS, zone.anchor, { name: "zone-anchor" });
    anchor.addEventListener("change", () => {
      zone.anchor = anchor.value;
      setDirty(true);
    });
    const inertia = h("input", { name: "zone-inertia", type: "number", min: 1, max: 100, step: 1, value: zone.inertia });
    inertia.addEventListener("change", () => {
      zone.inertia = Math.max(1, Math.min(100, parseInt(inertia.value, 10) || 1));
      setDirty(true);
    });
    const actions = [
      drawing
        ? button("Finish zone", { icon: "check", kind: "secondary", onclick: finishDrawing })
        : button("Redraw", {
            icon: "edit",
            kind: "secondary",
            onclick: () => {
              zone.rel = [];
              drawing = true;
              setDirty(true);
              refresh();
            },
          }),
      button("Undo point", { icon: "undo", kind: "ghost", disabled: !drawing || !zone.rel || !zone.rel.length, onclick: undoPoint }),
      button("Delete zone", {
        icon: "trash",
        kind: "danger-ghost",
        onclick: () => {
          zones.splice(selected, 1);
          selected = Math.min(selected, zones.length - 1);
          drawing = false;
          setDirty(true);
          replace(feedback);
          refresh();
        },
      }),
    ];
    replace(
      form,
      field("Zone name", name, "Rules and alerts refer to the zone by this name."),
      field("Anchor point", anchor, "The point of an object's box that must be inside."),
      field("Inertia (detections)", inertia, "Detections in a row before an object counts as in or out."),
      h("div", { class: "zone-actions" }, actions),
    );
  }

  function undoPoint() {
    const zone = current();
    if (zone && zone.rel && zone.rel.length) {
      zone.rel.pop();
      setDirty(true);
      refresh();
    }
  }

  // ---- canvas -------------------------------------------------------------------------------
  function fit() {
    const rect = stage.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(rect.width * dpr));
    canvas.height = Math.max(1, Math.round(rect.height * dpr));
    draw();
  }

  function toPixels([x, y]) {
    const rect = canvas.getBoundingClientRect();
    return [x * rect.width, y * rect.height];
  }

  function fromEvent(event) {
    const rect = canvas.getBoundingClientRect();
    return [Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width)), Math.min(1, Math.max(0, (event.clientY - rect.top) / rect.height))];
  }

  function near(a, b) {
    const [ax, ay] = toPixels(a);
    const [bx, by] = toPixels(b);
    return Math.hypot(ax - bx, ay - by) <= HIT_PX;
  }

  function inside(point, polygon) {
    let hit = false;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      const [xi, yi] = polygon[i];
      const [xj, yj] = polygon[j];
      if (yi > point[1] !== yj > point[1] && point[0] < ((xj - xi) * (point[1] - yi)) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  }

  function draw() {
    const g = canvas.getContext("2d");
    const dpr = window.devicePixelRatio || 1;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const rect = canvas.getBoundingClientRect();
    g.clearRect(0, 0, rect.width, rect.height);
    zones.forEach((zone, index) => {
      if (!zone.rel || !zone.rel.length) return;
      const colour = COLOURS[index % COLOURS.length];
      const isSel = index === selected;
      const open = isSel && drawing;
      const pts = zone.rel.map(toPixels);
      g.beginPath();
      pts.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
      if (!open) g.closePath();
      if (!open && pts.length >= 3) {
        g.fillStyle = colour + (isSel ? "59" : "38");
        g.fill();
      }
      g.lineWidth = isSel ? 2.5 : 2;
      g.strokeStyle = colour;
      g.setLineDash(open ? [6, 5] : []);
      g.stroke();
      g.setLineDash([]);
      if (open && hover && pts.length) {
        const [hx, hy] = toPixels(hover);
        g.beginPath();
        g.moveTo(...pts.at(-1));
        g.lineTo(hx, hy);
        g.strokeStyle = colour + "aa";
        g.setLineDash([3, 4]);
        g.stroke();
        g.setLineDash([]);
      }
      pts.forEach(([x, y], i) => {
        g.beginPath();
        const closing = open && i === 0 && pts.length >= 3 && hover && near(hover, zone.rel[0]);
        g.arc(x, y, isSel ? (closing ? 8 : 5) : 3, 0, Math.PI * 2);
        g.fillStyle = isSel ? "#ffffff" : colour;
        g.fill();
        if (isSel) {
          g.lineWidth = 2;
          g.strokeStyle = colour;
          g.stroke();
        }
      });
      drawLabel(g, zone.name || "(unnamed)", pts, colour);
    });
  }

  function drawLabel(g, text, pts, colour) {
    const [x, y] = pts.reduce((best, p) => (p[1] < best[1] || (p[1] === best[1] && p[0] < best[0]) ? p : best), pts[0]);
    g.font = "600 12px 'Inter Variable', system-ui, sans-serif";
    const width = g.measureText(text).width + 12;
    const rect = canvas.getBoundingClientRect();
    const lx = Math.min(Math.max(0, x - width / 2), rect.width - width);
    const ly = Math.max(0, y - 26);
    g.fillStyle = "rgba(8, 12, 18, 0.82)";
    g.beginPath();
    g.roundRect(lx, ly, width, 20, 5);
    g.fill();
    g.fillStyle = colour;
    g.fillRect(lx, ly + 4, 3, 12);
    g.fillStyle = "#e5eaf0";
    g.textBaseline = "middle";
    g.fillText(text, lx + 8, ly + 10.5);
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    canvas.focus();
    const point = fromEvent(event);
    const zone = current();
    if (drawing && zone) {
      if (zone.rel.length >= 3 && near(point, zone.rel[0])) {
        finishDrawing();
        return;
      }
      zone.rel.push(point);
      setDirty(true);
      refresh();
      return;
    }
    if (zone && zone.rel) {
      const vertex = zone.rel.findIndex((p) => near(p, point));
      if (vertex >= 0) {
        drag = vertex;
        canvas.setPointerCapture(event.pointerId);
        return;
      }
    }
    const hit = zones.findIndex((z) => z.rel && z.rel.length >= 3 && inside(point, z.rel));
    if (hit >= 0 && hit !== selected) selectZone(hit);
  });
  canvas.addEventListener("pointermove", (event) => {
    hover = fromEvent(event);
    const zone = current();
    if (drag !== null && zone) {
      zone.rel[drag] = hover;
      setDirty(true);
    }
    canvas.classList.toggle("over-point", Boolean(zone && zone.rel && !drawing && zone.rel.some((p) => near(p, hover))));
    draw();
  });
  canvas.addEventListener("pointerup", () => {
    if (drag !== null) refresh();
    drag = null;
  });
  canvas.addEventListener("pointerleave", () => {
    hover = null;
    draw();
  });
  canvas.addEventListener("dblclick", (event) => {
    const zone = current();
    if (drawing || !zone || !zone.rel) return;
    const point = fromEvent(event);
    const vertex = zone.rel.findIndex((p) => near(p, point));
    if (vertex >= 0 && zone.rel.length > 3) {
      zone.rel.splice(vertex, 1);
      setDirty(true);
      refresh();
    }
  });
  canvas.addEventListener("keydown", (event) => {
    if (!drawing) return;
    if (event.key === "Enter" || event.key === "Escape") {
      event.preventDefault();
      finishDrawing();
    } else if (event.key === "Backspace" || event.key === "Delete") {
      event.preventDefault();
      undoPoint();
    }
  });

  const observer = new ResizeObserver(fit);
  observer.observe(stage);

  // ---- picture ------------------------------------------------------------------------------
  function loadPicture() {
    picture.src = `/api/cameras/${seg(camera.id)}/latest.jpg?t=${Date.now()}`;
  }
  picture.addEventListener("load", () => {
    const first = !size;
    size = { w: picture.naturalWidth, h: picture.naturalHeight };
    stage.style.aspectRatio = `${size.w} / ${size.h}`;
    stageMessage.hidden = true;
    canvas.dataset.ready = "true";
    if (first) {
      convertPixelZones();
      refresh();
    }
    fit();
  });
  picture.addEventListener("error", () => {
    stage.classList.add("no-picture");
    stageMessage.hidden = false;
    replace(stageMessage, icon("image", { size: 26 }), h("strong", {}, "No picture from this camera yet"), h("span", {}, "You can still draw; the shape is kept relative to the frame."));
    canvas.dataset.ready = "true";
    fit();
  });

  // ---- saving -------------------------------------------------------------------------------
  saveBtn.addEventListener("click", () =>
    busy(saveBtn, async () => {
      if (drawing && !finishDrawing()) return;
      const names = zones.map((z) => z.name);
      const problem =
        zones.find((z) => !z.name) ? "Every zone needs a name."
        : names.find((n, i) => names.indexOf(n) !== i) ? `Two zones are called “${names.find((n, i) => names.indexOf(n) !== i)}”; names must differ.`
        : zones.find((z) => z.rel && z.rel.length < 3) ? "Every zone needs at least 3 points."
        : null;
      if (problem) {
        replace(feedback, notice(problem));
        return;
      }
      const body = zones.map((z) => ({
        name: z.name,
        points: z.rel ? z.rel.map(([x, y]) => [round(x), round(y)]) : z.raw,
        relative: Boolean(z.rel),
        anchor: z.anchor,
        inertia: z.inertia,
      }));
      try {
        const saved = await api(`/api/cameras/${seg(camera.id)}/zones`, { method: "PUT", body });
        camera = { ...camera, zones: saved };
        const keep = selected;
        reset(saved);
        selected = Math.min(keep, zones.length - 1);
        refresh();
        replace(feedback);
        toast(`Zones saved (${saved.length})`);
        onSaved(camera);
      } catch (error) {
        if (error.status !== 401) replace(feedback, notice(error.message));
      }
    }),
  );
  revertBtn.addEventListener("click", () => {
    reset(camera.zones);
    replace(feedback);
  });

  reset(camera.zones);
  loadPicture();
  return () => observer.disconnect();
}
