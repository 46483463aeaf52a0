// Building DOM safely: text always goes in as text (textContent), never as
// HTML, so nothing a customer writes can run in the app.

/** h('button', {class: 'x', onclick: fn, 'aria-label': '…'}, 'text', child…) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'hidden' || k === 'selected' || k === 'multiple') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) { while (el.firstChild) el.firstChild.remove(); return el; }

export function replace(el, ...children) { clear(el); return append(el, children); }

const SVG = 'http://www.w3.org/2000/svg';

// Icons: 24×24 stroke paths. Decorative (aria-hidden): every icon sits next
// to a text label or carries one for screen readers (see icon()).
const PATHS = {
  email: ['M3 6h18v12H3z', 'M3 7l9 6 9-6'],
  whatsapp: ['M4 20l1.4-4.2A8 8 0 1 1 8.3 19z', 'M9 9.5c.5 2 2.5 4 4.5 4.5l1-1.2 1.8.8-.4 1.6c-3.5.3-7.3-3.5-7-7l1.6-.4.8 1.8z'],
  sms: ['M4 5h16v11H9l-5 4z', 'M8 10h8', 'M8 13h5'],
  phone: ['M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2'],
  note: ['M5 4h14v12l-4 4H5z', 'M15 20v-4h4', 'M8 9h8', 'M8 12h6'],
  task: ['M4 5h16v15H4z', 'M8 12l3 3 5-6'],
  system: ['M12 3v3', 'M12 18v3', 'M3 12h3', 'M18 12h3', 'M12 8a4 4 0 1 1 0 8 4 4 0 0 1 0-8z'],
  mention: ['M16 12a4 4 0 1 1-4-4 4 4 0 0 1 4 4v1.5a2.5 2.5 0 0 0 5 0V12a9 9 0 1 0-3.5 7.1'],
  bell: ['M6 16V11a6 6 0 0 1 12 0v5l2 2H4z', 'M10 20a2 2 0 0 0 4 0'],
  camera: ['M4 7h4l2-2h4l2 2h4v12H4z', 'M12 10a3.5 3.5 0 1 1 0 7 3.5 3.5 0 0 1 0-7z'],
  mic: ['M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3z', 'M5 11a7 7 0 0 0 14 0', 'M12 18v3'],
  clip: ['M8 12l6-6a3 3 0 0 1 4 4l-8 8a5 5 0 0 1-7-7l7-7'],
  back: ['M15 5l-7 7 7 7'],
  unread: ['M12 8a4 4 0 1 1 0 8 4 4 0 0 1 0-8z'],
  out: ['M9 4H5v16h4', 'M16 8l4 4-4 4', 'M10 12h10'],
};

/** An icon; with `label`, screen readers hear the label (role=img). */
export function icon(name, label) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `icon icon-${name}`);
  svg.setAttribute('focusable', 'false');
  if (label) { svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', label); }
  else svg.setAttribute('aria-hidden', 'true');
  if (label) { const t = document.createElementNS(SVG, 'title'); t.textContent = label; svg.append(t); }
  for (const d of PATHS[name] || PATHS.system) {
    const p = document.createElementNS(SVG, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

/** Announces text to screen readers through the page's live region. */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  setTimeout(() => { region.textContent = text; }, 30);
}
