// Webcam: this computer's camera, analysed by the service. Frames go to the detector over
// Socket.IO as JPEGs (at the pace the server allows) and the boxes it finds are drawn on the
// picture. Nothing is recorded and no alert is raised: it is a live check of the detector.
import { h, replace } from "../dom.js";
import { millis, num } from "../format.js";
import { icon } from "../icons.js";
import { badge } from "../status.js";
import { button, defs, notice, pageHeader } from "../ui.js";
import { FrameLink } from "../webcam/frame-link.js";
import { colourFor, drawDetections } from "../webcam/overlay.js";

export const title = "Webcam";

const MAX_SIDE = 640; // the detector works at this size anyway; smaller frames travel faster
const JPEG_QUALITY = 0.8;
const STALE_MS = 3000;

export function mount(root) {
  const video = h("video", { class: "webcam-video", autoplay: true, muted: true, playsInline: true, "aria-label": "Your camera" });
  const overlay = h("canvas", { class: "webcam-overlay", "aria-hidden": "true", dataset: { detections: "0", frames: "0" } });
  const placeholder = h(
    "div",
    { class: "webcam-placeholder" },
    icon("webcam", { size: 34 }),
    h("strong", {}, "Camera off"),
    h("span", {}, "Start the camera to send frames to the detector and see what it finds."),
  );
  const stage = h("div", { class: "webcam-stage" }, video, overlay, placeholder);
  const startBtn = button("Start camera", { icon: "play", kind: "primary" });
  const stopBtn = button("Stop camera", { icon: "stop", kind: "secondary", hidden: true });
  const scoreInput = h("input", { type: "range", min: 0.2, max: 0.9, step: 0.05, value: 0.4, name: "min_score", id: "webcam-score" });
  const scoreValue = h("output", { for: "webcam-score" }, "40%");
  const peopleOnly = h("input", { type: "checkbox", name: "people_only", id: "webcam-people" });
  const connection = h("div", { class: "webcam-connection" }, badge("stopped", "Not connected"));
  const stats = h("div");
  const found = h("div", { class: "found" });
  const problem = h("div", { "aria-live": "polite" });
  const canvas = document.createElement("canvas");

  replace(
    root,
    pageHeader("Webcam", "Your own camera, analysed live by the service", stopBtn, startBtn),
    problem,
    h(
      "div",
      { class: "webcam-layout" },
      h("section", { class: "card webcam-card", "aria-label": "Camera picture" }, stage),
      h(
        "aside",
        { class: "webcam-side" },
        h("section", { class: "card" }, h("h2", { class: "card-title" }, "Detector link"), connection, stats),
        h(
          "section",
          { class: "card" },
          h("h2", { class: "card-title" }, "Options"),
          h("div", { class: "field" }, h("label", { for: "webcam-score" }, "Minimum score ", scoreValue), scoreInput),
          h("label", { class: "check" }, peopleOnly, h("span", {}, "People only")),
        ),
        h("section", { class: "card" }, h("h2", { class: "card-title" }, "In view"), found),
      ),
    ),
  );

  let stream = null;
  let link = null;
  let last = null;
  let lastAt = 0;
  let lastError = null;
  let staleTimer = null;

  scoreInput.addEventListener("input", () => {
    scoreValue.textContent = `${Math.round(scoreInput.value * 100)}%`;
  });

  function renderStats() {
    const c = link ? link.counters : { sent: 0, answered: 0, limited: 0, errors: 0 };
    const pace = link ? `1 frame every ${num(link.interval / 1000, 2)} s` : "—";
    replace(
      stats,
      defs([
        ["Frames sent", num(c.sent, 0)],
        ["Answered", num(c.answered, 0)],
        ["Pace", pace],
        ["Processing", last ? `${millis(last.processing_time * 1000)}${last.cached ? " (same picture: cached)" : ""}` : "—"],
        ["Picture", last ? `${last.width} × ${last.height}` : "—"],
        c.limited ? ["Slowed down", `${c.limited} time(s) by the server`] : null,
        lastError ? ["Last error", h("span", { class: "tone-text-bad" }, lastError)] : null,
      ]),
    );
  }

  function renderFound() {
    if (!last || !last.detections.length) {
      replace(found, h("p", { class: "muted" }, last ? "Nothing detected in the last frame." : "No frame analysed yet."));
      return;
    }
    const counts = new Map();
    for (const det of last.detections) counts.set(det.class_name, (counts.get(det.class_name) || 0) + 1);
    replace(
      found,
      h(
        "ul",
        { class: "found-list" },
        [...counts.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([name, n]) => h("li", {}, h("span", { class: "swatch", style: { background: colourFor(name) } }), h("span", {}, name), h("strong", {}, String(n)))),
      ),
    );
  }

  function redraw() {
    const n = drawDetections(overlay, last, { stale: Date.now() - lastAt > STALE_MS });
    overlay.dataset.detections = String(n);
  }

  async function capture() {
    if (!stream || video.readyState < 2 || !video.videoWidth) return null;
    const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
  }

  async function start() {
    replace(problem);
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      replace(problem, notice("This browser gives camera access only to secure pages: open the console over https:// or on localhost."));
      return;
    }
    startBtn.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    } catch (error) {
      startBtn.disabled = false;
      const text = error.name === "NotAllowedError" ? "Camera access was refused. Allow it in the browser's site settings and try again." : error.name === "NotFoundError" ? "No camera was found on this computer." : `The camera could not start: ${error.message}`;
      replace(problem, notice(text));
      return;
    }
    video.srcObject = stream;
    await video.play().catch(() => {});
    const ready = () => {
      if (video.videoWidth) stage.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
    };
    video.addEventListener("loadedmetadata", ready, { once: true });
    ready();
    stage.classList.add("is-on");
    startBtn.hidden = true;
    stopBtn.hidden = false;
    link = new FrameLink({
      capture,
      options: () => ({ min_score: Number(scoreInput.value), ...(peopleOnly.checked ? { classes: ["person"] } : {}) }),
      on: {
        state(state, text) {
          replace(connection, badge(state, text, { pulse: state === "connecting" || state === "reconnecting" }));
          renderStats();
        },
        result(body) {
          last = body;
          lastAt = Date.now();
          lastError = null;
          overlay.dataset.frames = String(link.counters.answered);
          redraw();
          renderStats();
          renderFound();
        },
        error(body) {
          if (body.code !== "rate_limited" && body.code !== "busy") lastError = body.error;
          renderStats();
        },
      },
    });
    try {
      await link.start();
    } catch (error) {
      replace(problem, notice(error.message));
    }
    staleTimer = setInterval(redraw, 1000);
    renderStats();
  }

  function stop() {
    if (link) link.stop();
    link = null;
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    video.srcObject = null;
    clearInterval(staleTimer);
    last = null;
    redraw();
    stage.classList.remove("is-on");
    startBtn.disabled = false;
    startBtn.hidden = false;
    stopBtn.hidden = true;
    replace(connection, badge("stopped", "Not connected"));
    renderFound();
  }

  startBtn.addEventListener("click", start);
  stopBtn.addEventListener("click", stop);
  const onResize = () => redraw();
  window.addEventListener("resize", onResize);
  renderStats();
  renderFound();
  return () => {
    window.removeEventListener("resize", onResize);
    stop();
  };
}
