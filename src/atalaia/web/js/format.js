// Numbers, sizes and times as people read them, in the browser's language and time zone.

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });

/** A Date from an ISO string or epoch seconds. */
export function toDate(value) {
  if (value === null || value === undefined) return null;
  return typeof value === "number" ? new Date(value * 1000) : new Date(value);
}

export const clock = (value) => (value ? timeFmt.format(toDate(value)) : "—");
export const dateTime = (value) => (value ? dateTimeFmt.format(toDate(value)) : "—");
export const dayTitle = (date) => dayFmt.format(date);

export function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "4 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 24) return m % 60 ? `${hours} h ${m % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/** "just now", "5 min ago". */
export function ago(value) {
  const date = toDate(value);
  if (!date) return "never";
  const seconds = (Date.now() - date.getTime()) / 1000;
  if (seconds < 5) return "just now";
  return `${duration(seconds)} ago`;
}

export function bytes(value) {
  if (value === null || value === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return `${n >= 100 || unit === 0 ? Math.round(n) : n.toFixed(1)} ${units[unit]}`;
}

export function num(value, digits = 1) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return value.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export const percent = (value) => (value === null || value === undefined ? "—" : `${Math.round(value)}%`);
export const score = (value) => (value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`);
export const millis = (value) => (value === null || value === undefined ? "—" : `${Math.round(value)} ms`);

/** "person" -> "Person", "object_in_zone" -> "Object in zone". */
export function humanize(text) {
  if (!text) return "";
  const spaced = String(text).replace(/[_-]+/g, " ");
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** Local midnight of today, as the API's `since`. */
export function startOfToday() {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}
