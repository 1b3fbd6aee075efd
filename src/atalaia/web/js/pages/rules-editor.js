// A camera's rules as simple forms: what to watch, where, and the type's own settings.
import { api, seg } from "../api.js";
import { checkbox, field, h, replace, select } from "../dom.js";
import { busy, button, emptyState, notice, toast } from "../ui.js";

const TYPES = [
  ["object_in_zone", "Object in zone", "An object of a watched class is in the zone."],
  ["loitering", "Loitering", "An object stays in the zone longer than a time."],
  ["count_above", "Crowd (count above)", "More than a number of objects are in the zone at once."],
  ["line_crossing", "Line crossing", "An object crosses a line in a direction."],
  ["ppe_missing", "Protective equipment missing", "A person in the zone lacks required equipment (needs a PPE model)."],
];
const DIRECTIONS = [
  ["any", "Either way"],
  ["in", "In (left to right of the line)"],
  ["out", "Out (right to left of the line)"],
];

const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

function defaults(type) {
  const base = { type, name: null, enabled: true, zone: null, labels: ["person"], min_score: 0.5, cooldown: 30 };
  if (type === "loitering") return { ...base, seconds: 60 };
  if (type === "count_above") return { ...base, count: 3 };
  if (type === "line_crossing") return { ...base, line: [[0.1, 0.6], [0.9, 0.6]], direction: "any", relative: true, anchor: "bottom_center" };
  if (type === "ppe_missing") return { ...base, required: ["helmet"], frames: 5, overlap: 0.5 };
  return base;
}

export function mountRulesEditor(container, camera, onSaved) {
  let rules = camera.rules.map((r) => structuredClone(r));
  const cards = h("div", { class: "rule-cards" });
  const feedback = h("div", { "aria-live": "polite" });
  const saveBtn = button("Save rules", { icon: "check", kind: "primary" });
  const addBtn = button("Add rule", { icon: "plus", kind: "secondary", onclick: () => {
    rules.push(defaults("object_in_zone"));
    render();
    const last = cards.lastElementChild;
    if (last) last.querySelector("select").focus();
  } });
  const zoneOptions = () => [["", "Whole frame"], ...camera.zones.map((z) => [z.name, z.name])];

  replace(
    container,
    h(
      "div",
      { class: "rules-editor" },
      h("div", { class: "side-head" }, h("p", { class: "muted" }, "Each rule raises an alert while its condition holds; an alert ends when it stops holding. Zones come from the Zones tab."), addBtn),
      cards,
      feedback,
      h("div", { class: "form-actions" }, saveBtn),
    ),
  );

  function render() {
    if (!rules.length) {
      replace(cards, emptyState("rule", "No rules", "Without rules this camera is watched live but raises no alerts."));
      return;
    }
    replace(cards, rules.map((rule, index) => ruleCard(rule, index)));
  }

  function ruleCard(rule, index) {
    const typeSelect = select(TYPES.map(([v, t]) => [v, t]), rule.type, { name: "type" });
    typeSelect.addEventListener("change", () => {
      const next = defaults(typeSelect.value);
      for (const key of ["name", "enabled", "zone", "labels", "min_score", "cooldown"]) next[key] = rule[key];
      rules[index] = next;
      render();
    });
    const bind = (input, key, convert = (v) => v) => {
      input.addEventListener("change", () => {
        rule[key] = convert(input.type === "checkbox" ? input.checked : input.value);
      });
      return input;
    };
    const number = (key, props) => bind(h("input", { type: "number", step: "any", value: rule[key], required: true, ...props }), key, Number);
    const name = bind(h("input", { value: rule.name || "", placeholder: rule.zone ? `${rule.type}:${rule.zone}` : rule.type, maxLength: 100, autocomplete: "off" }), "name", (v) => v.trim() || null);
    const enabled = checkbox("Enabled", rule.enabled !== false);
    bind(enabled.input, "enabled");
    const zone = bind(select(zoneOptions(), rule.zone || ""), "zone", (v) => v || null);
    const labels = bind(h("input", { value: (rule.labels || []).join(", "), autocomplete: "off" }), "labels", list);
    const specific = [];
    if (rule.type === "loitering") specific.push(field("After (seconds)", number("seconds", { min: 1 })));
    if (rule.type === "count_above") specific.push(field("More than (objects)", number("count", { min: 0, step: 1 })));
    if (rule.type === "ppe_missing") {
      specific.push(
        field("Required equipment", bind(h("input", { value: (rule.required || []).join(", "), autocomplete: "off" }), "required", list), "Names from the prompts file, e.g. helmet, vest"),
        field("Frames in a row", number("frames", { min: 1, step: 1 })),
        field("Overlap", number("overlap", { min: 0.05, max: 1 })),
      );
    }
    if (rule.type === "line_crossing") {
      const coords = h("input", { value: rule.line.flat().join(", "), class: "mono", autocomplete: "off" });
      coords.addEventListener("change", () => {
        const values = list(coords.value).map(Number);
        if (values.length === 4 && values.every(Number.isFinite)) {
          rule.line = [[values[0], values[1]], [values[2], values[3]]];
          rule.relative = values.every((v) => v >= 0 && v <= 1) ? true : null;
          coords.removeAttribute("aria-invalid");
        } else coords.setAttribute("aria-invalid", "true");
      });
      specific.push(field("Line x1, y1, x2, y2", coords, "Fractions of the frame (0 to 1) or pixels"), field("Direction", bind(select(DIRECTIONS, rule.direction || "any"), "direction")));
    }
    const description = (TYPES.find(([v]) => v === rule.type) || [])[2];
    return h(
      "section",
      { class: "card rule-card", dataset: { type: rule.type }, "aria-label": `Rule ${index + 1}` },
      h(
        "div",
        { class: "rule-head" },
        h("span", { class: "rule-index" }, String(index + 1)),
        field("Type", typeSelect),
        field("Name", name),
        enabled.el,
        button("", {
          icon: "trash",
          kind: "danger-ghost",
          label: `Remove rule ${index + 1}`,
          onclick: () => {
            rules.splice(index, 1);
            render();
          },
        }),
      ),
      description ? h("p", { class: "muted small rule-desc" }, description) : null,
      h(
        "div",
        { class: "form-grid four" },
        field("Zone", zone),
        field("Labels", labels, "Comma-separated classes"),
        field("Minimum score", number("min_score", { min: 0, max: 1, step: 0.05 })),
        field("Cooldown (s)", number("cooldown", { min: 0 })),
        specific,
      ),
    );
  }

  saveBtn.addEventListener("click", () =>
    busy(saveBtn, async () => {
      replace(feedback);
      try {
        const saved = await api(`/api/cameras/${seg(camera.id)}/rules`, { method: "PUT", body: rules });
        camera = { ...camera, rules: saved };
        rules = saved.map((r) => structuredClone(r));
        render();
        toast(`Rules saved (${saved.length})`);
        onSaved(camera);
      } catch (error) {
        if (error.status !== 401) replace(feedback, notice(error.message));
      }
    }),
  );

  render();
  return () => {};
}
