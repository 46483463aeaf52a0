// Short messages at the corner of the screen, also read out by screen readers.
import { h } from './dom.js';

export function toast(text, { kind = 'info', action } = {}) {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div', { class: `toast toast-${kind}` }, h('span', {}, text),
    action ? h('button', { type: 'button', class: 'link', onclick: () => { action.run(); el.remove(); } }, action.label) : null);
  box.append(el);
  setTimeout(() => el.remove(), action ? 12000 : 6000);
  return el;
}
