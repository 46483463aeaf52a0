// Notifications: with permission, urgent threads, mentions, SLA alerts and
// task reminders become desktop notifications while the app is open; and
// Web Push (a service worker subscribed with the server's VAPID key) brings
// them to phones and closed tabs. Everything also shows as a toast.
import { h, icon } from './dom.js';
import { t } from './i18n.js';
import { get, post } from './api.js';
import { store, contactName } from './store.js';
import { toast } from './toast.js';

export const notifications = {
  button() {
    const supported = 'Notification' in window;
    const label = supported && Notification.permission === 'granted' ? t('notifications_on') : t('enable_notifications');
    // The label is also the button's name: on phones its text is hidden and only the bell shows.
    const b = h('button', { type: 'button', class: 'link', id: 'notify-toggle', hidden: !supported, 'aria-label': label }, icon('bell'),
      h('span', {}, label));
    b.addEventListener('click', () => this.enable(b));
    return b;
  },

  async enable(button) {
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') return;
    button.querySelector('span').textContent = t('notifications_on');
    button.setAttribute('aria-label', t('notifications_on'));
    await subscribePush().catch((e) => console.warn('push not available', e));
  },
};

async function subscribePush() {
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) return;
  const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  const { public_key: key } = await get('/api/push/key');
  let sub = await registration.pushManager.getSubscription();
  if (!sub) sub = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64url(key) });
  const json = sub.toJSON();
  await post('/api/push/subscriptions', { endpoint: json.endpoint, keys: json.keys });
}

function base64url(s) {
  const b = atob(s.replaceAll('-', '+').replaceAll('_', '/') + '==='.slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

// A burst (a clock jump over many deadlines, a reconnect catching up) shows
// its first `burstShown` notifications and then one summary that counts the
// rest, instead of a flood of toasts and desktop notifications.
const burstWindowMs = 3000;
const burstShown = 2;
const burst = { since: 0, count: 0, extra: 0, summary: null, notification: null };

function show(title, body, url, tag) {
  const now = Date.now();
  if (now - burst.since > burstWindowMs) Object.assign(burst, { since: now, count: 0, extra: 0, summary: null });
  burst.count += 1;
  if (burst.count > burstShown) {
    burst.extra += 1;
    summarize();
    return;
  }
  toast(title + (body ? ` — ${body}` : ''), url ? { action: { label: t('linked_thread'), run: () => { location.hash = url.replace(/^\/?/, ''); } } } : {});
  if (!('Notification' in window) || Notification.permission !== 'granted' || document.hasFocus()) return;
  const n = new Notification(title, { body, tag, icon: '/assets/icon.svg' });
  n.onclick = () => { window.focus(); if (url) location.hash = url.replace(/^\/?#?/, '#'); n.close(); };
}

function summarize() {
  const text = t('more_notifications', { n: burst.extra });
  if (burst.summary?.isConnected) {
    burst.summary.querySelector('span').textContent = text;
  } else {
    burst.summary = toast(text, { action: { label: t('open_inbox'), run: () => { location.hash = '#/inbox'; } } });
  }
  if (!('Notification' in window) || Notification.permission !== 'granted' || document.hasFocus()) return;
  // One tag: each update replaces the previous summary instead of adding one.
  burst.notification = new Notification(text, { tag: 'commhub-burst', icon: '/assets/icon.svg' });
}

/** The live frames that deserve a notification. */
export function notifyFrame(frame) {
  const d = frame.data || {};
  switch (frame.type) {
    case 'thread.updated':
      // A new thread arrives as its full header (it has created_at); urgent and critical ones notify.
      if (d.created_at && (d.priority === 'urgent' || d.priority === 'critical')) {
        show(t('urgent_thread', { s: d.thread_subject }), '', `#/thread/${d.id}`, `thread-${d.id}`);
      }
      break;
    case 'mention.created':
      for (const m of d.mentions || []) {
        show(t('mentioned_you', { who: contactName(m.by_contact_id) || '…', s: '' }).trim(), '', `#/thread/${m.thread_id}`, `mention-${m.message_id}`);
      }
      break;
    case 'sla.alert':
      show(t('sla_alert', { s: d.thread_subject ?? d.step ?? '' }), d.step ?? '', d.thread_id ? `#/thread/${d.thread_id}` : '', `sla-${d.thread_id}-${d.step}`);
      break;
    case 'task.reminder':
      if (!d.assigned_to_contact_id || d.assigned_to_contact_id === store.me.id) {
        show(t('task_reminder', { s: d.task_title ?? '' }), '', d.thread_id ? `#/thread/${d.thread_id}` : '#/tasks', `task-${d.id}`);
      }
      break;
    default:
  }
}
