// DOM building and formatting helpers: every value becomes a text node, so task text is never parsed as HTML.

/**
 * h('div', {class: 'card', onclick: fn}, 'text', child) → element. Strings and numbers become text
 * nodes; null/undefined/false children and props are skipped. Prop names are always ours, never data.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (typeof value === 'boolean' || name === 'value') el[name] = value;
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const byId = (id) => document.getElementById(id);

/** Server time minus browser time, learned from response Date headers, so lease countdowns match the server. */
let clockOffsetMs = 0;
export function learnServerClock(dateHeader) {
  const server = Date.parse(dateHeader ?? '');
  if (Number.isNaN(server)) return;
  const offset = server - Date.now();
  // The header has whole seconds: only a clearly wrong browser clock is worth correcting.
  clockOffsetMs = Math.abs(offset) > 1500 ? offset : 0;
}
export const serverNow = () => Date.now() + clockOffsetMs;

const ms = (iso) => (iso ? Date.parse(iso) : NaN);

/** "42s", "5m", "3h", "2d" — how long ago (or, negative, how long until). */
export function shortDuration(deltaMs) {
  const s = Math.max(0, Math.round(deltaMs / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

export function ago(iso) {
  const t = ms(iso);
  return Number.isNaN(t) ? '' : `${shortDuration(serverNow() - t)} ago`;
}

/** Lease time left as m:ss (or h:mm:ss); "expired" once it ran out. */
export function leaseLeft(iso) {
  const t = ms(iso);
  if (Number.isNaN(t)) return '';
  const left = Math.round((t - serverNow()) / 1000);
  if (left <= 0) return 'expired';
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = String(left % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export function fullTime(iso) {
  const t = ms(iso);
  return Number.isNaN(t) ? '—' : new Date(t).toLocaleString();
}

/** Re-renders every live time label (lease countdowns, "x ago") in place, once a second. */
export function refreshClocks(root = document) {
  for (const el of root.querySelectorAll('[data-lease]')) {
    const text = leaseLeft(el.dataset.lease);
    el.textContent = text === 'expired' ? 'lease expired' : `lease ${text}`;
    el.classList.toggle('late', text === 'expired' || Date.parse(el.dataset.lease) - serverNow() < 60_000);
  }
  for (const el of root.querySelectorAll('[data-ago]')) el.textContent = ago(el.dataset.ago);
}
