// Boxes and labels drawn on a canvas laid exactly over the video.

const PALETTE = ["#5b9cff", "#2fbf71", "#e8a33d", "#c77dff", "#ff6b8b", "#3cc8c8", "#f4d35e", "#ff8c42"];

/** The same class always gets the same colour. */
export function colourFor(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return name === "person" ? PALETTE[0] : PALETTE[hash % PALETTE.length];
}

/** Size the canvas's pixels to its box on screen (sharp on high-density screens). */
export function fitCanvas(canvas) {
  const rect = canvas.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(rect.width * dpr));
  const height = Math.max(1, Math.round(rect.height * dpr));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  return { width: rect.width, height: rect.height, dpr };
}

/**
 * Draw `result` (a detection_results body: detections in the pixels of the image that was
 * sent, whose size is result.width x result.height). `stale` dims boxes that are getting old.
 */
export function drawDetections(canvas, result, { stale = false } = {}) {
  const { width, height, dpr } = fitCanvas(canvas);
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, width, height);
  if (!result || !result.width || !result.height) return 0;
  const sx = width / result.width;
  const sy = height / result.height;
  g.globalAlpha = stale ? 0.45 : 1;
  g.font = "600 12px 'Inter Variable', system-ui, sans-serif";
  g.textBaseline = "middle";
  for (const det of result.detections) {
    const colour = colourFor(det.class_name);
    const x = det.bbox.x * sx;
    const y = det.bbox.y * sy;
    const w = det.bbox.width * sx;
    const hgt = det.bbox.height * sy;
    g.lineWidth = 2;
    g.strokeStyle = colour;
    g.beginPath();
    g.roundRect(x, y, w, hgt, 4);
    g.stroke();
    g.fillStyle = colour + "1f";
    g.fill();
    const text = `${det.class_name} ${Math.round(det.confidence * 100)}%`;
    const tw = g.measureText(text).width + 12;
    const ly = y >= 22 ? y - 22 : y + 2;
    const lx = Math.min(Math.max(0, x), width - tw);
    g.fillStyle = colour;
    g.beginPath();
    g.roundRect(lx, ly, tw, 20, 4);
    g.fill();
    g.fillStyle = "#081018";
    g.fillText(text, lx + 6, ly + 10.5);
  }
  g.globalAlpha = 1;
  return result.detections.length;
}
