// The order view (the owner's "order comments"): every thread, internal
// note and task about one order, across customers and channels.
import { h, replace, icon } from './dom.js';
import { t, te, dateTime, dateOnly } from './i18n.js';
import { get } from './api.js';
import { contactName } from './store.js';
import { CHANNEL_ICON } from './inbox.js';

export async function showOrder(main, number) {
  let a;
  try { a = await get(`/api/orders/${encodeURIComponent(number)}/activity`); }
  catch (e) { replace(main, h('p', { role: 'alert' }, e.status === 404 ? t('not_found') : t('error', { m: e.message }))); return; }
  replace(main, h('div', { class: 'order-view', id: 'order-view' },
    h('h1', { tabindex: '-1' }, t('order_view', { n: a.order.order_number })),
    h('p', { class: 'muted' }, `${a.order.brand}${a.customer ? ' · ' + a.customer.name : ''}`),
    h('section', { 'aria-labelledby': 'o-threads' }, h('h2', { id: 'o-threads' }, `${t('inbox')} (${a.threads.length})`),
      h('ul', { class: 'plain' }, a.threads.map((th) => h('li', {}, h('a', { href: `#/thread/${th.id}` },
        icon(CHANNEL_ICON[th.channel_type] ?? 'system', te('channel_type', th.channel_type)), ` ${th.thread_subject}`),
        h('span', { class: 'muted' }, ` · ${te('status', th.status)} · ${te('priority', th.priority)}`))))),
    h('section', { 'aria-labelledby': 'o-notes' }, h('h2', { id: 'o-notes' }, `${t('notes')} (${a.notes.length})`),
      h('ul', { class: 'plain notes' }, a.notes.map((n) => h('li', { class: 'msg msg-internal_note' },
        h('div', { class: 'msg-head' }, icon('note'), h('strong', {}, contactName(n.sender_contact_id)), h('time', { datetime: n.created_at }, dateTime(n.created_at)),
          h('a', { href: `#/thread/${n.thread_id}` }, t('linked_thread'))),
        h('p', { class: 'text' }, n.message_content))))),
    h('section', { 'aria-labelledby': 'o-tasks' }, h('h2', { id: 'o-tasks' }, `${t('tasks')} (${a.tasks.length})`),
      h('ul', { class: 'plain' }, a.tasks.map((task) => h('li', {}, icon('task'), ` ${task.task_title} · ${contactName(task.assigned_to_contact_id)}`,
        task.due_date ? ` · ${dateOnly(task.due_date)}` : '', ` · ${task.status}`))))));
  main.querySelector('h1').focus();
}
