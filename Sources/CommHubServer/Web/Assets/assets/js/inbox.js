// The unified inbox: every channel in one list, most urgent first (the
// server's order), filtered by chips (All · Email · WhatsApp · SMS · Tasks ·
// Overdue · Mine · Mentions) and by brand, team, status and text. Rows tick
// their SLA countdown; new and changed threads appear and re-sort live.
// Keyboard: j/k move, Enter opens, r replies, e resolves, a assigns to me,
// / searches, ? shows the shortcuts.
import { h, replace, icon, announce } from './dom.js';
import { t, te, enumValues, dateOnly } from './i18n.js';
import { get, put, now } from './api.js';
import { store, contactName, customerName, isUnread, isPhone } from './store.js';
import { countdown } from './sla.js';
import { toast } from './toast.js';

export const CHANNEL_ICON = { email_outlook: 'email', whatsapp_business: 'whatsapp', sms: 'sms', phone_call: 'phone',
  internal_comment: 'note', internal_task: 'task', internal_ticket: 'task' };
const CHIPS = ['all', 'email', 'whatsapp', 'sms', 'tasks', 'overdue', 'mine', 'mentions'];
const PAGE = 50;

export class Inbox {
  constructor(pane) {
    this.pane = pane;
    this.filter = isPhone() ? 'mine' : 'all';
    this.brand = ''; this.team = ''; this.status = ''; this.q = '';
    this.rows = []; this.cursor = null; this.selected = -1; this.selectedId = null;
    this.refreshTimer = null; this.loading = false;
    this.render();
    this.load();
    setInterval(() => this.tick(), 15000);
    window.addEventListener('commhub:clock', () => this.tick());
    document.addEventListener('keydown', (e) => this.onKey(e));
    window.addEventListener('commhub:customers', () => this.draw());
  }

  render() {
    const chips = h('div', { class: 'chips', role: 'group', 'aria-label': t('filters') },
      CHIPS.map((c) => h('button', { type: 'button', class: 'chip', id: `chip-${c}`, 'aria-pressed': String(c === this.filter),
        onclick: () => this.setFilter(c) }, t(`f_${c}`))));
    const select = (id, label, options, value, onchange) => h('label', { class: 'field', for: id }, h('span', {}, label),
      h('select', { id, onchange: (e) => onchange(e.target.value) },
        h('option', { value: '' }, t('any')),
        options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
    const brands = ['chargecars', 'laderthuis', 'meterkastthuis', 'zaptecshop', 'ratioshop'].map((b) => [b, b]);
    const teams = [...store.teams.values()].map((tm) => [tm.id, tm.name]);
    const statuses = [['all', t('f_all')], ...enumValues('status').map((s) => [s, te('status', s)])];
    this.search = h('input', { id: 'search', type: 'search', placeholder: t('search_placeholder'), 'aria-label': t('search'), value: this.q });
    let debounce = null;
    this.search.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(() => { this.q = this.search.value.trim(); this.load(); }, 250); });
    const more = h('div', { class: 'filters-more' },
      select('f-brand', t('brand'), brands, this.brand, (v) => { this.brand = v; this.load(); }),
      select('f-team', t('team'), teams, this.team, (v) => { this.team = v; this.load(); }),
      select('f-status', t('status'), statuses, this.status, (v) => { this.status = v; this.load(); }));
    this.list = h('ul', { class: 'rows', id: 'inbox-rows', 'aria-label': t('inbox') });
    this.moreButton = h('button', { type: 'button', class: 'load-more', hidden: true, onclick: () => this.load(true) }, t('load_more'));
    replace(this.pane, h('div', { class: 'inbox-head' }, h('h1', { class: 'visually-hidden' }, t('inbox')), this.search, chips, more),
      this.list, this.moreButton);
  }

  setFilter(f) {
    if (!CHIPS.includes(f)) return;
    this.filter = f;
    for (const c of CHIPS) document.getElementById(`chip-${c}`)?.setAttribute('aria-pressed', String(c === f));
    this.load();
  }

  query() {
    const p = new URLSearchParams();
    const map = { email: ['channel_type', 'email_outlook'], whatsapp: ['channel_type', 'whatsapp_business'], sms: ['channel_type', 'sms'],
      overdue: ['overdue', 'true'], mine: ['mine', 'true'] };
    if (map[this.filter]) p.set(...map[this.filter]);
    if (this.brand) p.set('business_entity', this.brand);
    if (this.team) p.set('team_id', this.team);
    if (this.status) p.set('status', this.status);
    if (this.q) p.set('q', this.q);
    return p;
  }

  async load(more = false) {
    if (this.loading && more) return;
    this.loading = true;
    // Loads overlap (typing, live refreshes, a burst of events): only the newest
    // one's answer is drawn, so a slower older answer never replaces a newer list.
    const generation = (this.generation = (this.generation || 0) + 1);
    try {
      if (this.filter === 'tasks') return await this.loadTasks();
      if (this.filter === 'mentions') return await this.loadMentions();
      const p = this.query();
      p.set('limit', String(more ? PAGE : Math.max(PAGE, Math.min(500, this.rows.length || PAGE))));
      if (more && this.cursor) p.set('cursor', this.cursor);
      const page = await get(`/api/communication/threads?${p}`);
      if (generation !== this.generation) return;
      this.rows = more ? [...this.rows, ...page.items] : page.items;
      this.cursor = page.next_cursor;
      this.kind = 'threads';
      this.draw();
    } catch (e) {
      toast(t('error', { m: e.message }), { kind: 'error' });
    } finally {
      this.loading = false;
    }
  }

  async loadTasks() {
    const page = await get('/api/tasks?status=open,in_progress,waiting&limit=200');
    this.kind = 'tasks'; this.tasks = page.items; this.cursor = null;
    this.draw();
  }

  async loadMentions() {
    const page = await get('/api/mentions');
    this.kind = 'threads'; this.rows = page.items.map((m) => ({ ...m.thread, _mention: m })); this.cursor = null;
    this.draw();
  }

  /** Reloads what is shown (debounced: a burst of live events is one reload). */
  refresh() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.load(), 300);
  }

  onLive(frame) {
    if (['thread.updated', 'thread.assigned', 'message.created', 'message.updated', 'task.assigned', 'mention.created', 'mention.seen',
      'sla.alert', 'task.reminder'].includes(frame.type)) this.refresh();
  }

  draw() {
    const focusedId = document.activeElement?.closest?.('.row')?.dataset.id;
    if (this.kind === 'tasks') return this.drawTasks();
    const items = this.rows.map((th) => this.row(th));
    if (!items.length) items.push(h('li', { class: 'empty' }, t('no_threads')));
    replace(this.list, items);
    this.moreButton.hidden = !this.cursor;
    this.selected = this.rows.findIndex((r) => r.id === this.selectedId);
    this.markSelected();
    if (focusedId) this.list.querySelector(`.row[data-id="${focusedId}"] a`)?.focus();
  }

  row(th) {
    const due = countdown(th.response_due_at, now());
    const unread = isUnread(th);
    const who = customerName(th) || th.thread_subject;
    const assignee = th.assigned_to_contact_id ? contactName(th.assigned_to_contact_id) : t('unassigned');
    return h('li', { class: `row prio-${th.priority}${unread ? ' unread' : ''}`, dataset: { id: th.id, due: th.response_due_at ?? '' } },
      h('a', { href: `#/thread/${th.id}`, class: 'row-link' },
        h('span', { class: 'prio', title: `${t('priority')}: ${te('priority', th.priority)}` },
          h('span', { class: 'visually-hidden' }, `${t('priority')}: `), te('priority', th.priority)),
        icon(CHANNEL_ICON[th.channel_type] ?? 'system', te('channel_type', th.channel_type)),
        h('span', { class: 'row-main' },
          h('span', { class: 'row-who' }, who),
          h('span', { class: 'row-subject' }, th.thread_subject)),
        h('span', { class: `sla sla-${due.state}` }, due.text),
        h('span', { class: 'row-assignee' }, assignee),
        unread ? h('span', { class: 'unread-dot' }, h('span', { class: 'visually-hidden' }, t('unread'))) : null,
        th._mention ? h('span', { class: 'mention-mark' }, icon('mention', t('mentions'))) : null));
  }

  drawTasks() {
    const items = (this.tasks ?? []).map((task) => h('li', { class: `row task-row prio-${task.priority}`, dataset: { id: task.id } },
      h('a', { href: task.thread_id ? `#/thread/${task.thread_id}` : '#/tasks', class: 'row-link' },
        h('span', { class: 'prio' }, te('priority', task.priority)), icon('task', t('tasks')),
        h('span', { class: 'row-main' }, h('span', { class: 'row-who' }, task.task_title),
          h('span', { class: 'row-subject' }, task.due_date ? `${dateOnly(task.due_date)} ${task.due_time ?? ''}` : '')),
        h('span', { class: 'row-assignee' }, contactName(task.assigned_to_contact_id)))));
    if (!items.length) items.push(h('li', { class: 'empty' }, t('no_tasks')));
    replace(this.list, items);
    this.moreButton.hidden = true;
  }

  /** The countdowns move on (every 15 s, and whenever the server's clock was read). */
  tick() {
    for (const li of this.list.querySelectorAll('.row[data-due]')) {
      const el = li.querySelector('.sla');
      if (!el) continue;
      const due = countdown(li.dataset.due || null, now());
      el.textContent = due.text;
      el.className = `sla sla-${due.state}`;
    }
  }

  select(id) { this.selectedId = id; this.selected = this.rows.findIndex((r) => r.id === id); this.markSelected(); }

  markSelected() {
    for (const li of this.list.querySelectorAll('.row')) {
      const on = li.dataset.id === this.selectedId;
      li.classList.toggle('selected', on);
      const a = li.querySelector('a');
      if (a) { if (on) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current'); }
    }
  }

  focusList() {
    const a = this.list.querySelector('.row.selected a') ?? this.list.querySelector('.row a');
    if (a && document.activeElement === document.body) a.focus();
  }

  move(delta) {
    const links = [...this.list.querySelectorAll('.row a')];
    if (!links.length) return;
    const current = links.indexOf(document.activeElement?.closest?.('.row a'));
    const i = Math.max(0, Math.min(links.length - 1, (current < 0 ? this.selected : current) + delta));
    links[i].focus();
    this.selected = i;
  }

  currentThreadId() {
    const fromFocus = document.activeElement?.closest?.('.row')?.dataset.id;
    const m = location.hash.match(/^#\/thread\/([0-9a-f-]{36})/);
    return fromFocus ?? m?.[1] ?? null;
  }

  async onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const typing = e.target.closest?.('input, textarea, select, [contenteditable="true"]');
    if (typing) { if (e.key === 'Escape') e.target.blur(); return; }
    const id = this.currentThreadId();
    switch (e.key) {
      case 'j': this.move(1); break;
      case 'k': this.move(-1); break;
      case '/': e.preventDefault(); this.search.focus(); break;
      case '?': toast(t('shortcuts_help')); break;
      case 'r': if (id) { e.preventDefault(); location.hash = `#/thread/${id}?reply=1`; } break;
      case 'e': if (id) await this.quick(id, { status: 'resolved' }, t('resolve')); break;
      case 'a': if (id) await this.quick(id, { assigned_to_contact_id: store.me.id }, t('assign_to_me')); break;
      default: return;
    }
  }

  async quick(id, change, label) {
    try {
      await put(`/api/communication/threads/${id}`, change);
      announce(`${label}: ${t('saved')}`);
      toast(`${label}: ${t('saved')}`);
      this.refresh();
      window.dispatchEvent(new CustomEvent('commhub:thread-changed', { detail: id }));
    } catch (err) {
      toast(t('error', { m: err.message }), { kind: 'error' });
    }
  }
}
