// The app shell: sign-in check, the header (navigation, language switch,
// notifications, live state), the routes (#/inbox, #/thread/<id>, #/tasks,
// #/order/<number>, #/dashboard) and the live stream that keeps every screen current.
import { h, replace, icon, announce } from './dom.js';
import { t, language, setLanguage } from './i18n.js';
import { get, post, setSession, APIError, syncClock } from './api.js';
import { store, loadShared, isPhone } from './store.js';
import * as live from './live.js';
import { showSignIn, showInvite } from './signin.js';
import { Inbox } from './inbox.js';
import { showThread } from './thread.js';
import { showTasks } from './tasks.js';
import { showOrder } from './order.js';
import { showDashboard, showsDashboard } from './dashboard.js';
import { notifications, notifyFrame } from './notify.js';
import { toast } from './toast.js';

const root = document.getElementById('app');
let inbox = null;
let heartbeat = null;

async function start() {
  document.documentElement.lang = language();
  const skip = document.getElementById('skip-link');
  skip.textContent = t('skip_to_content');
  // The skip link focuses the main region without touching the route in the hash.
  skip.addEventListener('click', (e) => { e.preventDefault(); document.getElementById('main')?.focus(); });
  const hash = location.hash;
  if (hash.startsWith('#invite=')) return showInvite(root, hash.slice('#invite='.length), signedIn);
  let session;
  try {
    session = await get('/auth/session');
  } catch (e) {
    if (e instanceof APIError && e.status === 401) {
      const error = hash.startsWith('#signin-error=') ? hash.slice('#signin-error='.length) : null;
      return showSignIn(root, signedIn, error);
    }
    throw e;
  }
  await signedIn(session);
}

async function signedIn(session) {
  setSession(session);
  store.me = session.contact;
  if (location.hash.startsWith('#invite=') || location.hash.startsWith('#signin-error=')) history.replaceState(null, '', '/#/inbox');
  await loadShared();
  const me = await get('/api/me');
  store.unseenMentions = me.unseen_mentions ?? 0;
  renderShell();
  live.onEvent(onLive);
  live.connect();
  window.addEventListener('hashchange', route);
  window.addEventListener('commhub:signed-out', () => location.reload());
  // The server's clock (simulated in demos and tests) and the session, every 10 s.
  heartbeat = setInterval(async () => {
    try { const s = await get('/auth/session'); syncClock(s.server_time); } catch (e) { if (e.status === 401) location.reload(); }
  }, 10000);
  route();
}

function renderShell() {
  const nav = h('nav', { class: 'topnav', 'aria-label': 'CommHub' },
    h('a', { href: '#/inbox', id: 'nav-inbox' }, t(isPhone() ? 'my_work' : 'inbox')),
    h('a', { href: '#/tasks', id: 'nav-tasks' }, t('tasks')),
    h('a', { href: '#/inbox?filter=mentions', id: 'nav-mentions' }, icon('mention'), h('span', {}, t('mentions')),
      h('span', { class: 'badge', id: 'mention-count', hidden: store.unseenMentions === 0 }, String(store.unseenMentions))),
    showsDashboard(store.me.role) ? h('a', { href: '#/dashboard', id: 'nav-dashboard' }, t('dashboard')) : null);
  const lang = h('select', { id: 'lang', 'aria-label': t('language'), onchange: (e) => { setLanguage(e.target.value); location.reload(); } },
    h('option', { value: 'nl', selected: language() === 'nl' }, 'Nederlands'),
    h('option', { value: 'en', selected: language() === 'en' }, 'English'));
  const liveBadge = h('span', { class: 'live', id: 'live-state', role: 'status' });
  live.onState((s) => {
    liveBadge.className = `live live-${s}`;
    liveBadge.textContent = s === 'live' ? t('live') : s === 'offline' ? t('offline') : '…';
  });
  const header = h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '#/inbox', 'aria-label': `CommHub — ${t('inbox')}` }, h('img', { src: '/assets/icon.svg', alt: '', width: 28, height: 28 }), h('span', {}, 'CommHub')),
    nav,
    h('div', { class: 'tools' }, liveBadge, notifications.button(), lang,
      h('span', { class: 'who', title: store.me.email ?? '' }, store.me.name),
      h('button', { type: 'button', class: 'link', id: 'signout', 'aria-label': t('signout'), onclick: signOut }, icon('out'), h('span', {}, t('signout')))));
  const list = h('aside', { id: 'list', class: 'list-pane', 'aria-label': t('inbox') });
  const main = h('main', { id: 'main', class: 'detail-pane', tabindex: '-1' });
  replace(root, header, h('div', { class: 'panes', id: 'panes' }, list, main));
  root.removeAttribute('aria-busy');
  inbox = new Inbox(list);
}

async function signOut() {
  clearInterval(heartbeat);
  live.disconnect();
  try { await post('/auth/logout'); } catch { /* the cookie is cleared either way */ }
  location.hash = '';
  location.reload();
}

function route() {
  const hash = location.hash || '#/inbox';
  const [path, query] = hash.slice(1).split('?');
  const parts = path.split('/').filter(Boolean);
  const panes = document.getElementById('panes');
  const main = document.getElementById('main');
  for (const a of document.querySelectorAll('.topnav a')) a.removeAttribute('aria-current');
  const params = new URLSearchParams(query || '');
  if (parts[0] === 'thread' && parts[1]) {
    panes.dataset.view = 'thread';
    inbox.select(parts[1]);
    showThread(main, parts[1], { focusReply: params.get('reply') === '1' });
  } else if (parts[0] === 'tasks') {
    panes.dataset.view = 'full';
    document.getElementById('nav-tasks').setAttribute('aria-current', 'page');
    showTasks(main);
  } else if (parts[0] === 'dashboard') {
    panes.dataset.view = 'full';
    document.getElementById('nav-dashboard')?.setAttribute('aria-current', 'page');
    showDashboard(main);
  } else if (parts[0] === 'order' && parts[1]) {
    panes.dataset.view = 'full';
    showOrder(main, decodeURIComponent(parts[1]));
  } else {
    panes.dataset.view = 'inbox';
    const filter = params.get('filter');
    document.getElementById(filter === 'mentions' ? 'nav-mentions' : 'nav-inbox').setAttribute('aria-current', 'page');
    if (filter) inbox.setFilter(filter);
    replace(main, h('div', { class: 'empty-detail' }, h('p', {}, t('shortcuts_help'))));
    inbox.focusList();
  }
}

function onLive(frame) {
  if (frame.type === 'reload') {
    announce(t('reloaded'));
    inbox?.refresh();
    window.dispatchEvent(new CustomEvent('commhub:reload'));
    return;
  }
  if (frame.type === 'resumed') { inbox?.refresh(); window.dispatchEvent(new CustomEvent('commhub:reload')); return; }
  if (frame.type === 'mention.created') {
    store.unseenMentions += frame.data.mentions.length;
    updateMentionCount();
  } else if (frame.type === 'mention.seen') {
    get('/api/me').then((me) => { store.unseenMentions = me.unseen_mentions; updateMentionCount(); }).catch(() => {});
  }
  inbox?.onLive(frame);
  window.dispatchEvent(new CustomEvent('commhub:live', { detail: frame }));
  notifyFrame(frame);
}

function updateMentionCount() {
  const badge = document.getElementById('mention-count');
  if (!badge) return;
  badge.textContent = String(store.unseenMentions);
  badge.hidden = store.unseenMentions <= 0;
}

start().catch((e) => {
  console.error(e);
  replace(root, h('p', { class: 'fatal', role: 'alert' }, t('error', { m: e.message })));
  toast(e.message);
});
