// What every screen shares: who is signed in, the people, teams, channels,
// customers (names for the inbox rows) and templates, loaded once and kept
// current by the live stream where it matters.
import { get, all } from './api.js';

export const store = {
  me: null,
  contacts: new Map(),
  teams: new Map(),
  channels: new Map(),
  customers: new Map(),
  templates: null,
  unseenMentions: 0,
};

export async function loadShared() {
  const [contacts, teams, channels] = await Promise.all([
    get('/api/contacts?limit=500'), get('/api/teams?limit=500'), get('/api/communication/channels?limit=500'),
  ]);
  store.contacts = new Map(contacts.items.map((c) => [c.id, c]));
  store.teams = new Map(teams.items.map((t) => [t.id ?? t.team?.id, t]));
  store.channels = new Map(channels.items.map((c) => [c.id, c]));
  // Customer names for the inbox rows; the directory comes in pages of 500.
  all('/api/customers').then((list) => {
    store.customers = new Map(list.map((c) => [c.id, c]));
    window.dispatchEvent(new CustomEvent('commhub:customers'));
  }).catch(() => {});
}

export async function templates() {
  if (!store.templates) store.templates = await all('/api/templates?is_active=true');
  return store.templates;
}

export function contactName(id) {
  if (!id) return '';
  return store.contacts.get(id)?.name ?? '…';
}

export function customerName(thread) {
  const c = thread.customer_id && store.customers.get(thread.customer_id);
  return c?.name ?? '';
}

// Unread marks: when this browser last opened each thread (bounded to the
// 2,000 most recent; older ones count as read).
const OPENED_KEY = 'commhub.opened';
const MAX_OPENED = 2000;
let opened = null;
function openedMap() {
  if (!opened) { try { opened = JSON.parse(localStorage.getItem(OPENED_KEY) || '{}'); } catch { opened = {}; } }
  return opened;
}
export function markOpened(threadId, iso) {
  const m = openedMap();
  m[threadId] = iso;
  const keys = Object.keys(m);
  if (keys.length > MAX_OPENED) {
    keys.sort((a, b) => (m[a] < m[b] ? -1 : 1)).slice(0, keys.length - MAX_OPENED).forEach((k) => delete m[k]);
  }
  localStorage.setItem(OPENED_KEY, JSON.stringify(m));
}
export function isUnread(thread) {
  if (!thread.last_message_at) return false;
  const seen = openedMap()[thread.id];
  return !seen || seen < thread.last_message_at;
}

export function isPhone() { return window.matchMedia('(max-width: 700px)').matches; }
