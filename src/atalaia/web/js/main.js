// The console's entry point: checks the session, draws the shell and routes between pages.
// Routes live in the URL's fragment (#/alerts?camera=gate), so any view can be bookmarked
// and the server only ever serves one page.
import { api, onUnauthorized, session } from "./api.js";
import { h, replace } from "./dom.js";
import { icon, logo } from "./icons.js";
import { badge } from "./status.js";
import { every, toast } from "./ui.js";
import * as signin from "./pages/signin.js";
import * as dashboard from "./pages/dashboard.js";
import * as alerts from "./pages/alerts.js";
import * as alertDetail from "./pages/alert-detail.js";
import * as cameras from "./pages/cameras.js";
import * as cameraEdit from "./pages/camera-edit.js";
import * as webcam from "./pages/webcam.js";
import * as system from "./pages/system.js";

const NAV = [
  ["dashboard", "Dashboard", "dashboard"],
  ["alerts", "Alerts", "alerts"],
  ["cameras", "Cameras", "cameras"],
  ["webcam", "Webcam", "webcam"],
  ["system", "System", "system"],
];

const app = document.getElementById("app");
let current = null; // {cleanup, key}
let shell = null; // {main, links, status}
let stopStatus = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(query) };
}

function resolve(parts) {
  const [section = "dashboard", id, extra] = parts;
  if (extra !== undefined) return null;
  switch (section) {
    case "dashboard":
      return id === undefined ? { page: dashboard, section } : null;
    case "alerts":
      return { page: id === undefined ? alerts : alertDetail, section, id };
    case "cameras":
      if (id === undefined) return { page: cameras, section };
      return { page: cameraEdit, section, id: id === "new" ? null : id };
    case "webcam":
    case "system":
      return id === undefined ? { page: section === "webcam" ? webcam : system, section } : null;
    default:
      return null;
  }
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function buildShell() {
  const links = {};
  const nav = h(
    "nav",
    { class: "nav", "aria-label": "Main" },
    h(
      "ul",
      {},
      NAV.map(([section, text, iconName]) => {
        const link = h("a", { href: `#/${section}`, class: "nav-link", dataset: { section } }, icon(iconName, { size: 19 }), h("span", {}, text));
        links[section] = link;
        return h("li", {}, link);
      }),
    ),
  );
  const statusSlot = h("div", { class: "processing-status" });
  const signOut = h(
    "button",
    { type: "button", class: "nav-link sign-out", onclick: signOutNow },
    icon("logout", { size: 19 }),
    h("span", {}, "Sign out"),
  );
  const main = h("main", { id: "main", class: "main", tabindex: "-1" });
  const skip = h("a", { class: "skip", href: "#main", onclick: (e) => { e.preventDefault(); main.focus(); } }, "Skip to content");
  const aside = h(
    "aside",
    { class: "sidebar" },
    h("a", { class: "brand", href: "#/dashboard", "aria-label": "atalaia, dashboard" }, logo(30), h("span", { class: "brand-name" }, "atalaia")),
    nav,
    h("div", { class: "sidebar-foot" }, statusSlot, signOut),
  );
  replace(app, skip, h("div", { class: "shell" }, aside, main));
  app.removeAttribute("aria-busy");
  shell = { main, links, statusSlot };
  stopStatus = every(5000, refreshProcessingStatus);
}

async function refreshProcessingStatus() {
  if (!shell) return;
  try {
    const status = await api("/background/status");
    const state = status.alert_processing.status;
    replace(shell.statusSlot, h("span", { class: "processing-label" }, "Processing"), badge(state));
  } catch (error) {
    if (error.status === 0) replace(shell.statusSlot, h("span", { class: "processing-label" }, "Service"), badge("offline", "Unreachable"));
  }
}

function unmountPage() {
  if (current && typeof current.cleanup === "function") {
    try {
      current.cleanup();
    } catch (error) {
      console.warn(error);
    }
  }
  current = null;
}

function route() {
  if (!shell) return;
  const { parts, query } = parseHash();
  const target = resolve(parts);
  unmountPage();
  for (const [section, link] of Object.entries(shell.links)) {
    if (target && target.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const root = h("div", { class: "page" });
  replace(shell.main, root);
  if (!target) {
    root.append(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/dashboard" }, "Back to the dashboard")));
    document.title = "Not found · atalaia";
    return;
  }
  document.title = `${target.page.title} · atalaia`;
  const ctx = {
    id: target.id,
    query,
    navigate,
    setQuery(values) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(values)) if (value !== null && value !== undefined && value !== "") params.set(key, value);
      const text = params.toString();
      const hash = `#/${parts.map(encodeURIComponent).join("/")}${text ? `?${text}` : ""}`;
      history.replaceState(null, "", hash);
    },
  };
  current = { cleanup: target.page.mount(root, ctx) };
  shell.main.scrollTop = 0;
}

function showSignIn(message) {
  unmountPage();
  if (stopStatus) stopStatus();
  stopStatus = null;
  shell = null;
  document.title = "Sign in · atalaia";
  app.removeAttribute("aria-busy");
  current = { cleanup: signin.mount(app, { message, onSignedIn: start }) };
}

async function signOutNow() {
  try {
    await session.signOut();
  } catch (error) {
    toast(error.message, "bad");
    return;
  }
  showSignIn("You have signed out.");
}

function start() {
  unmountPage();
  buildShell();
  route();
}

onUnauthorized(() => {
  if (shell) showSignIn("Your session has ended. Sign in again.");
});
window.addEventListener("hashchange", () => {
  if (shell) route();
});

async function boot() {
  let signedIn;
  try {
    signedIn = await session.check();
  } catch (error) {
    replace(app, h("div", { class: "boot" }, error.message));
    return;
  }
  if (signedIn) start();
  else showSignIn();
}

boot();
