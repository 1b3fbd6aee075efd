// The console's icons: simple stroked shapes on a 24x24 grid, drawn for atalaia.
import { svg } from "./dom.js";

const SHAPES = {
  dashboard: [
    ["rect", { x: 3, y: 3, width: 8, height: 8, rx: 1.5 }],
    ["rect", { x: 13, y: 3, width: 8, height: 5, rx: 1.5 }],
    ["rect", { x: 13, y: 10, width: 8, height: 11, rx: 1.5 }],
    ["rect", { x: 3, y: 13, width: 8, height: 8, rx: 1.5 }],
  ],
  alerts: [
    ["path", { d: "M6 16V11a6 6 0 0 1 12 0v5l2 2H4z" }],
    ["path", { d: "M10 20.5a2.2 2.2 0 0 0 4 0" }],
  ],
  cameras: [
    ["rect", { x: 2.5, y: 6.5, width: 13, height: 11, rx: 2 }],
    ["path", { d: "M15.5 10.5l6-3v9l-6-3z" }],
  ],
  webcam: [
    ["circle", { cx: 12, cy: 10, r: 7 }],
    ["circle", { cx: 12, cy: 10, r: 2.5 }],
    ["path", { d: "M8 21h8M12 17v4" }],
  ],
  system: [
    ["path", { d: "M3 12h4l2.5-6 5 12 2.5-6h4" }],
  ],
  logout: [
    ["path", { d: "M14 4h4a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-4" }],
    ["path", { d: "M10 8l-4 4 4 4M6 12h10" }],
  ],
  plus: [["path", { d: "M12 5v14M5 12h14" }]],
  edit: [
    ["path", { d: "M4 20h4L19 9l-4-4L4 16z" }],
    ["path", { d: "M13.5 6.5l4 4" }],
  ],
  trash: [
    ["path", { d: "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13" }],
    ["path", { d: "M10 11v6M14 11v6" }],
  ],
  refresh: [
    ["path", { d: "M20 11a8 8 0 0 0-14.5-4.5L4 8" }],
    ["path", { d: "M4 4v4h4" }],
    ["path", { d: "M4 13a8 8 0 0 0 14.5 4.5L20 16" }],
    ["path", { d: "M20 20v-4h-4" }],
  ],
  play: [["path", { d: "M7 5l12 7-12 7z" }]],
  stop: [["rect", { x: 6, y: 6, width: 12, height: 12, rx: 1.5 }]],
  back: [["path", { d: "M15 5l-7 7 7 7" }]],
  next: [["path", { d: "M9 5l7 7-7 7" }]],
  close: [["path", { d: "M6 6l12 12M18 6L6 18" }]],
  check: [["path", { d: "M5 12.5l4.5 4.5L19 7.5" }]],
  warning: [
    ["path", { d: "M12 3.5l9.5 16.5h-19z" }],
    ["path", { d: "M12 10v4.5M12 17.2v.3" }],
  ],
  clock: [
    ["circle", { cx: 12, cy: 12, r: 8.5 }],
    ["path", { d: "M12 7.5V12l3 2" }],
  ],
  film: [
    ["rect", { x: 3, y: 5, width: 18, height: 14, rx: 2 }],
    ["path", { d: "M7 5v14M17 5v14M3 9.5h4M3 14.5h4M17 9.5h4M17 14.5h4" }],
  ],
  image: [
    ["rect", { x: 3, y: 5, width: 18, height: 14, rx: 2 }],
    ["circle", { cx: 9, cy: 10, r: 1.8 }],
    ["path", { d: "M4 17l5-4.5 3.5 3 3-2.5L20 17" }],
  ],
  zone: [
    ["path", { d: "M4 7l7-3 9 5-2 10-11 1z" }],
    ["circle", { cx: 4, cy: 7, r: 1.2 }],
    ["circle", { cx: 20, cy: 9, r: 1.2 }],
  ],
  rule: [
    ["path", { d: "M5 6h14M5 12h9M5 18h11" }],
    ["circle", { cx: 19, cy: 12, r: 2 }],
  ],
  undo: [
    ["path", { d: "M8 5L4 9l4 4" }],
    ["path", { d: "M4 9h10a6 6 0 0 1 0 12h-3" }],
  ],
  signal: [
    ["path", { d: "M5 18a10 10 0 0 1 14 0" }],
    ["path", { d: "M8 14.5a6 6 0 0 1 8 0" }],
    ["circle", { cx: 12, cy: 11, r: 0.6 }],
    ["path", { d: "M4 4l16 16" }],
  ],
  filter: [["path", { d: "M4 5h16l-6 7.5V19l-4-2v-4.5z" }]],
};

/** An inline SVG icon; decorative (hidden from screen readers) unless given a title. */
export function icon(name, { size = 18, title } = {}) {
  const shapes = SHAPES[name];
  if (!shapes) throw new Error(`no icon ${name}`);
  const el = svg(
    "svg",
    {
      viewBox: "0 0 24 24",
      width: size,
      height: size,
      fill: "none",
      stroke: "currentColor",
      "stroke-width": 1.8,
      "stroke-linecap": "round",
      "stroke-linejoin": "round",
      class: "icon",
    },
    shapes.map(([tag, attrs]) => svg(tag, attrs)),
  );
  if (title) {
    el.setAttribute("role", "img");
    el.setAttribute("aria-label", title);
  } else el.setAttribute("aria-hidden", "true");
  return el;
}

/** The atalaia mark: a watchtower with its lamp. */
export function logo(size = 28) {
  return svg(
    "svg",
    { viewBox: "0 0 32 32", width: size, height: size, class: "logo", "aria-hidden": "true" },
    svg("rect", { width: 32, height: 32, rx: 7, fill: "#0f1a26" }),
    svg("path", {
      d: "M9 27 L12.5 13 H19.5 L23 27",
      fill: "none",
      stroke: "#5b9cff",
      "stroke-width": 2.2,
      "stroke-linejoin": "round",
    }),
    svg("path", { d: "M10.5 13 H21.5 L20 9 H12 Z", fill: "#5b9cff" }),
    svg("circle", { cx: 16, cy: 5.5, r: 1.8, fill: "#e8a33d" }),
    svg("path", { d: "M11 21 H21", stroke: "#5b9cff", "stroke-width": 1.6 }),
  );
}
