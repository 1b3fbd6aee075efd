// One alert: its snapshot, its clip, what it is, and where it was delivered, with a retry for
// deliveries that gave up.
import { api, seg } from "../api.js";
import { h, replace } from "../dom.js";
import { ago, dateTime, duration, humanize, score, toDate } from "../format.js";
import { icon } from "../icons.js";
import { badge } from "../status.js";
import { busy, button, defs, emptyState, every, notice, pageHeader, toast } from "../ui.js";

export const title = "Alert";

let listHash = "#/alerts";

/** The alerts list remembers its filters so "Back" returns to the same view. */
export function rememberList(hash) {
  listHash = hash && hash.startsWith("#/alerts") ? hash : "#/alerts";
}

export function mount(root, ctx) {
  const id = ctx.id;
  const back = h("a", { class: "back-link", href: listHash }, icon("back", { size: 16 }), "All alerts");
  const header = h("div");
  const media = h("div", { class: "detail-media" });
  const info = h("div", { class: "detail-info" });
  const deliveries = h("section", { class: "card", "aria-labelledby": "deliveries-title" });
  const problem = h("div");
  replace(
    root,
    back,
    header,
    problem,
    h("div", { class: "detail-layout" }, h("div", { class: "detail-left" }, media), h("div", { class: "detail-right" }, info, deliveries)),
  );

  let alert = null;
  let cameraName = null;

  async function loadAlert() {
    try {
      alert = await api(`/api/events/${seg(id)}`);
    } catch (error) {
      if (error.status === 404) {
        replace(root, back, emptyState("alerts", "Alert not found", "It may have been removed by retention."));
        stopAll();
        return;
      }
      throw error;
    }
    if (cameraName === null) {
      cameraName = alert.camera;
      api(`/api/cameras/${seg(alert.camera)}`)
        .then((camera) => {
          cameraName = camera.name || camera.id;
          renderInfo();
        })
        .catch(() => {});
    }
    renderInfo();
  }

  function renderInfo() {
    const active = alert.state === "active";
    const lasted = alert.end_time ? (toDate(alert.end_time) - toDate(alert.start_time)) / 1000 : (Date.now() - toDate(alert.start_time)) / 1000;
    replace(
      header,
      pageHeader(
        h("span", {}, `${humanize(alert.label)} · ${cameraName}`),
        `${dateTime(alert.start_time)} · ${ago(alert.start_time)}`,
        active ? badge("alerting", "Active", { pulse: true }) : badge("ended", "Ended"),
      ),
    );
    const extra = Object.entries(alert.extra || {}).filter(([key]) => !["rule_type", "score"].includes(key));
    replace(
      info,
      h(
        "section",
        { class: "card" },
        h("h2", { class: "card-title" }, "Details"),
        defs([
          ["Camera", cameraName],
          ["Label", humanize(alert.label)],
          ["Score", score(alert.score)],
          ["Rule", alert.rule],
          ["Zone", alert.zone || "Whole frame"],
          ["Track", alert.track_id !== null ? `#${alert.track_id}` : "—"],
          ["Started", dateTime(alert.start_time)],
          [active ? "Active for" : "Lasted", duration(lasted)],
          ["Ended", alert.end_time ? dateTime(alert.end_time) : "Still active"],
          ...extra.map(([key, value]) => [humanize(key), Array.isArray(value) ? value.join(", ") : typeof value === "object" ? JSON.stringify(value) : String(value)]),
          ["Alert id", h("code", {}, alert.id)],
        ]),
      ),
    );
    renderMedia();
  }

  // One media card with two views: the snapshot, and the clip once it is written.
  let view = null;
  const mediaTabs = h("div", { class: "media-tabs", role: "tablist", "aria-label": "Alert media" });
  const mediaBody = h("div", { class: "media-body" });
  const caption = h("figcaption", {});
  const snapshotTab = mediaTab("snapshot", "Snapshot", "image");
  const clipTab = mediaTab("clip", "Clip", "film");
  mediaTabs.append(snapshotTab, clipTab);
  replace(media, h("figure", { class: "card media-card" }, mediaTabs, mediaBody, caption));

  function mediaTab(key, text, iconName) {
    return h("button", { type: "button", role: "tab", class: "media-tab", "aria-selected": "false", onclick: () => show(key) }, icon(iconName, { size: 15 }), text);
  }

  function show(key) {
    view = key;
    snapshotTab.setAttribute("aria-selected", String(key === "snapshot"));
    clipTab.setAttribute("aria-selected", String(key === "clip"));
    const snapshotUrl = `/api/events/${seg(id)}/snapshot.jpg`;
    if (key === "snapshot") {
      replace(
        mediaBody,
        alert.has_snapshot
          ? h("img", { src: snapshotUrl, alt: `Snapshot of the ${alert.label} that raised this alert`, class: "snapshot" })
          : h("div", { class: "media-missing" }, icon("image", { size: 26 }), h("p", {}, "No snapshot was recorded for this alert.")),
      );
      caption.replaceChildren(icon("image", { size: 15 }), "The full frame when the alert started, its object boxed");
    } else {
      replace(
        mediaBody,
        h("video", {
          src: `/api/events/${seg(id)}/clip.mp4`,
          controls: true,
          preload: "metadata",
          playsInline: true,
          muted: true,
          poster: alert.has_snapshot ? snapshotUrl : undefined,
          "aria-label": "Clip of the alert",
        }),
      );
      caption.replaceChildren(icon("film", { size: 15 }), "A few seconds before and after the start");
    }
  }

  function renderMedia() {
    clipTab.disabled = !alert.has_clip;
    clipTab.title = alert.has_clip ? "" : clipNote();
    snapshotTab.disabled = !alert.has_snapshot;
    if (view === null) show(alert.has_snapshot || !alert.has_clip ? "snapshot" : "clip");
  }

  function clipNote() {
    const recent = alert.state === "active" || !alert.end_time || Date.now() - toDate(alert.end_time) < 60000;
    return recent ? "The clip is being written; it appears in a few seconds." : "No clip was recorded for this alert.";
  }

  async function loadDeliveries() {
    const rows = await api(`/api/events/${seg(id)}/deliveries`);
    replace(
      deliveries,
      h("h2", { class: "card-title", id: "deliveries-title" }, "Delivery to each sink"),
      rows.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "table" },
              h("thead", {}, h("tr", {}, ["Event", "Sink", "Status", ""].map((t) => h("th", { scope: "col" }, t)))),
              h("tbody", {}, rows.map(deliveryRow)),
            ),
          )
        : h("p", { class: "muted" }, "No deliveries recorded."),
    );
  }

  function deliveryRow(d) {
    const tries = d.attempts ? `${d.attempts} failed ${d.attempts === 1 ? "try" : "tries"}` : "";
    const detail =
      d.status === "delivered"
        ? `Delivered ${ago(d.delivered_at)}`
        : [d.status === "pending" ? "Waiting to be sent" : "", tries, d.last_error ? `last error: ${d.last_error}` : ""].filter(Boolean).join(" · ");
    const retry =
      d.status === "dead"
        ? button("Retry", {
            icon: "refresh",
            kind: "secondary",
            "aria-label": `Retry delivery to ${d.sink}`,
            onclick: (event) =>
              busy(event.currentTarget, async () => {
                await api(`/api/deliveries/${d.delivery_id}/retry`, { method: "POST" });
                toast(`Delivery to ${d.sink} queued again`);
                await loadDeliveries();
              }),
          })
        : null;
    return h(
      "tr",
      { dataset: { status: d.status, delivery: d.delivery_id } },
      h("td", {}, humanize(d.event_type)),
      h("td", { class: "nowrap" }, h("strong", {}, d.sink)),
      h("td", {}, badge(d.status), detail ? h("div", { class: ["small", "detail-cell", d.status === "dead" ? "tone-text-bad" : "muted"] }, detail) : null),
      h("td", { class: "row-actions" }, retry),
    );
  }

  const stopAlert = every(5000, async () => {
    try {
      await loadAlert();
      replace(problem);
    } catch (error) {
      if (error.status !== 401) replace(problem, notice(error.message));
    }
  });
  const stopDeliveries = every(5000, () => loadDeliveries().catch(() => {}));
  function stopAll() {
    stopAlert();
    stopDeliveries();
  }
  return stopAll;
}
