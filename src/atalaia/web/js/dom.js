// Building the page from data without HTML strings: every text goes in as a text node, so
// nothing a camera name or an error message contains can turn into markup.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * h("button", {class: "btn", onclick: fn, "aria-label": "Close"}, "text", child, [more])
 * Props: `class`, `dataset` (object), `style` (object), `on<event>` (function), properties
 * that the element has (value, checked, disabled...), anything else as an attribute.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key in el && !key.includes("-") && key !== "list" && key !== "form") {
      el[key] = value;
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace all of `el`'s children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** An SVG element (icons, small charts). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children.flat()) if (child) el.append(child);
  return el;
}

/** A label + control pair, the control given its id so the label points at it. */
let fieldCounter = 0;
export function field(labelText, control, hint) {
  if (!control.id) control.id = `f${++fieldCounter}`;
  const hintEl = hint ? h("p", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, labelText), control, hintEl);
}

/** A checkbox with its label to the right. */
export function checkbox(labelText, checked, props = {}) {
  const input = h("input", { type: "checkbox", checked, ...props });
  return { input, el: h("label", { class: "check" }, input, h("span", {}, labelText)) };
}

/** <select> from [value, text] pairs. */
export function select(options, value, props = {}) {
  const el = h("select", props);
  for (const [optValue, text] of options) {
    el.append(h("option", { value: optValue, selected: optValue === value }, text));
  }
  el.value = value;
  return el;
}
