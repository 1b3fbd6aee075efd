// Shared pieces of the console: page header, buttons, notices, a confirm dialog, a poller.
import { h } from "./dom.js";
import { icon } from "./icons.js";

export function pageHeader(title, subtitle, ...actions) {
  return h(
    "header",
    { class: "page-header" },
    h("div", {}, h("h1", {}, title), subtitle ? h("p", { class: "subtitle" }, subtitle) : null),
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

/** button("Save", {icon: "check", kind: "primary", onclick}) */
export function button(text, { icon: iconName, kind = "secondary", label, ...props } = {}) {
  return h(
    "button",
    { type: "button", class: ["btn", `btn-${kind}`, !text && "btn-icon"], "aria-label": label, title: label, ...props },
    iconName ? icon(iconName) : null,
    text ? h("span", {}, text) : null,
  );
}

export function linkButton(text, href, { icon: iconName, kind = "secondary" } = {}) {
  return h("a", { class: ["btn", `btn-${kind}`], href }, iconName ? icon(iconName) : null, h("span", {}, text));
}

export function emptyState(iconName, title, text, ...actions) {
  return h(
    "div",
    { class: "empty" },
    h("div", { class: "empty-icon" }, icon(iconName, { size: 28 })),
    h("h2", {}, title),
    text ? h("p", {}, text) : null,
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

export function notice(message, tone = "bad") {
  return h("div", { class: ["notice", `tone-${tone}`], role: tone === "bad" ? "alert" : "status" }, icon("warning"), h("span", {}, message));
}

export function toast(message, tone = "ok") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: ["toast", `tone-${tone}`] }, icon(tone === "ok" ? "check" : "warning"), h("span", {}, message));
  box.append(item);
  setTimeout(() => item.classList.add("leaving"), 4000);
  setTimeout(() => item.remove(), 4400);
}

/** A modal question; resolves true when confirmed. */
export function confirmDialog({ title, text, confirm = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    const ok = button(confirm, { kind: danger ? "danger" : "primary", value: "ok" });
    const cancel = button("Cancel", { value: "cancel" });
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": "dialog-title" },
      h("h2", { id: "dialog-title" }, title),
      text ? h("p", {}, text) : null,
      h("div", { class: "dialog-actions" }, cancel, ok),
    );
    const close = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    ok.addEventListener("click", () => close(true));
    cancel.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/**
 * Run `task` now and then every `ms`, never two at once, paused while the tab is hidden.
 * Returns a function that stops it.
 */
export function every(ms, task) {
  let timer = null;
  let stopped = false;
  let running = false;
  const run = async () => {
    if (stopped || running) return;
    if (document.hidden) {
      schedule();
      return;
    }
    running = true;
    try {
      await task();
    } catch (error) {
      console.warn(error);
    } finally {
      running = false;
      schedule();
    }
  };
  const schedule = () => {
    if (!stopped) timer = setTimeout(run, ms);
  };
  const wake = () => {
    if (!document.hidden && !running) {
      clearTimeout(timer);
      run();
    }
  };
  document.addEventListener("visibilitychange", wake);
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", wake);
  };
}

/** Disable a button while `work` runs; errors become a toast. */
export async function busy(btn, work) {
  btn.disabled = true;
  btn.classList.add("is-busy");
  try {
    return await work();
  } catch (error) {
    if (error.status !== 401) toast(error.message, "bad");
    return undefined;
  } finally {
    btn.disabled = false;
    btn.classList.remove("is-busy");
  }
}

/** A label/value list: defs([["CPU", "12%"], ...]) */
export function defs(rows) {
  return h(
    "dl",
    { class: "defs" },
    rows.filter(Boolean).map(([term, value]) => [h("dt", {}, term), h("dd", {}, value ?? "—")]),
  );
}

/** A thin horizontal gauge with a label, coloured by level. */
export function meter(label, fraction, text) {
  const value = Math.max(0, Math.min(1, fraction || 0));
  const tone = value >= 0.9 ? "bad" : value >= 0.75 ? "warn" : "ok";
  const bar = h("div", { class: ["meter-fill", `tone-${tone}`] });
  bar.style.width = `${(value * 100).toFixed(1)}%`;
  return h(
    "div",
    { class: "meter" },
    h("div", { class: "meter-head" }, h("span", {}, label), h("span", { class: "meter-text" }, text)),
    h("div", { class: "meter-track", role: "meter", "aria-label": label, "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(value * 100) }, bar),
  );
}

/**
 * A cluster node's id; a link to that page of its own console (`section`) when the node
 * advertises an http(s) URL.
 */
export function nodeName(id, url, section) {
  const name = h("span", { class: "mono node-id" }, id);
  let target = null;
  try {
    target = url ? new URL(url) : null;
  } catch {
    target = null;
  }
  if (!target || !["http:", "https:"].includes(target.protocol)) return name;
  return h("a", { href: `${target.origin}/#/${section}`, title: `${id}'s console` }, name);
}
