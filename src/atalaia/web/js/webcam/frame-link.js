// The Socket.IO link to atalaia's detector: one frame at a time, no faster than the server
// allows (its `connected` message says how fast), waiting as told when it answers
// `rate_limited` or `busy`.

const CLIENT_SCRIPT = "/ui/vendor/socket.io/socket.io.min.js";
const MIN_INTERVAL_MS = 500;
const ANSWER_TIMEOUT_MS = 15000;

let loading = null;

/** The vendored Socket.IO client, loaded on first use (only this page needs it). */
export function loadSocketIo() {
  if (window.io) return Promise.resolve(window.io);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = CLIENT_SCRIPT;
      script.onload = () => resolve(window.io);
      script.onerror = () => {
        loading = null;
        reject(new Error("The Socket.IO client could not be loaded."));
      };
      document.head.append(script);
    });
  }
  return loading;
}

export class FrameLink {
  /**
   * capture(): Promise<Blob|null>, the next JPEG to send.
   * options(): {min_score, classes}, read for every frame.
   * on: {state(state, text), result(body), error(body)}
   */
  constructor({ capture, options, on }) {
    this.capture = capture;
    this.options = options;
    this.on = on;
    this.socket = null;
    this.interval = MIN_INTERVAL_MS;
    this.limits = null;
    this.timer = null;
    this.inFlight = null; // {id, sentAt}
    this.notBefore = 0;
    this.frameId = 0;
    this.running = false;
    this.detecting = false;
    this.counters = { sent: 0, answered: 0, limited: 0, errors: 0 };
  }

  async start() {
    const io = await loadSocketIo();
    this.running = true;
    this.on.state("connecting", "Connecting to the detector…");
    // The HttpOnly session cookie goes with the handshake, so no token is handled here.
    this.socket = io({ path: "/socket.io", transports: ["websocket", "polling"], reconnectionDelayMax: 5000 });
    this.socket.on("connect", () => this.on.state("connected", "Connected"));
    this.socket.on("connected", (welcome) => {
      this.limits = welcome.limits || null;
      const serverMs = this.limits ? this.limits.min_frame_interval * 1000 : 0;
      this.interval = Math.max(MIN_INTERVAL_MS, serverMs);
      this.detecting = Boolean(welcome.model_loaded);
      if (!this.detecting) this.on.state("degraded", "Connected, but the detector is not running");
      else this.on.state("online", "Detecting");
      this.schedule(0);
    });
    this.socket.on("connect_error", (error) => {
      this.on.state("offline", error && error.message ? `Cannot connect: ${error.message}` : "Cannot connect");
    });
    this.socket.on("disconnect", (reason) => {
      this.inFlight = null;
      if (this.running) this.on.state("reconnecting", `Disconnected (${reason}); reconnecting…`);
    });
    this.socket.on("detection_results", (body) => this.answered(body, true));
    this.socket.on("detection_error", (body) => this.answered(body, false));
  }

  answered(body, ok) {
    if (this.inFlight && body.frame_id !== undefined && body.frame_id !== this.inFlight.id) return;
    this.inFlight = null;
    if (ok) {
      this.counters.answered += 1;
      // Joined before the detector was up: the first result says it is running now.
      if (!this.detecting) {
        this.detecting = true;
        this.on.state("online", "Detecting");
      }
      this.on.result(body);
    } else {
      if (body.code === "rate_limited") {
        this.counters.limited += 1;
        this.notBefore = Date.now() + Math.max(0.05, body.retry_after || this.interval / 1000) * 1000;
      } else if (body.code === "busy") {
        this.notBefore = Date.now() + this.interval;
      } else this.counters.errors += 1;
      this.on.error(body);
    }
    this.schedule(this.interval);
  }

  schedule(delay) {
    clearTimeout(this.timer);
    if (!this.running) return;
    const wait = Math.max(delay, this.notBefore - Date.now(), 0);
    this.timer = setTimeout(() => this.tick(), wait);
  }

  async tick() {
    if (!this.running || !this.socket || !this.socket.connected) return;
    if (this.inFlight) {
      if (Date.now() - this.inFlight.sentAt < ANSWER_TIMEOUT_MS) {
        this.schedule(this.interval);
        return;
      }
      this.inFlight = null; // no answer: assume lost, send again
    }
    const started = Date.now();
    const blob = await this.capture();
    if (!blob || !this.running || !this.socket.connected) {
      this.schedule(this.interval);
      return;
    }
    const data = await blob.arrayBuffer();
    this.frameId += 1;
    this.inFlight = { id: this.frameId, sentAt: Date.now() };
    this.counters.sent += 1;
    this.socket.emit("process_frame", data, { ...this.options(), frame_id: this.frameId });
    // The next frame goes once this one is answered (see `answered`), or after a timeout.
    this.schedule(Math.max(ANSWER_TIMEOUT_MS, this.interval) - (Date.now() - started));
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    if (this.socket) {
      this.socket.removeAllListeners();
      this.socket.disconnect();
    }
    this.socket = null;
    this.inFlight = null;
  }
}
