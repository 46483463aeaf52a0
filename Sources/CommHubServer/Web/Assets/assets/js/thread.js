// The thread view: one timeline across mail, WhatsApp, SMS, calls, internal
// notes, tasks and system events; the customer, organisation and order
// beside it with the customer's other threads; controls for status,
// priority, type, assignee and tags; the reply box; a call log and a task
// form. Live: the timeline redraws when the thread changes, the reply box
// keeps what is being typed.
import { h, replace, clear, icon, announce } from './dom.js';
import { t, te, enumValues, dateTime, dateOnly } from './i18n.js';
import { get, post, put, all, now, APIError } from './api.js';
import { store, contactName, markOpened, isPhone } from './store.js';
import { countdown } from './sla.js';
import { CHANNEL_ICON } from './inbox.js';
import { Composer } from './composer.js';
import { toast } from './toast.js';

let current = null;

export async function showThread(main, id, { focusReply = false } = {}) {
  if (current?.id === id && main.contains(current.root)) {
    if (focusReply) current.composer?.focus();
    return;
  }
  current?.dispose();
  current = new ThreadView(main, id);
  await current.open(focusReply);
}

class ThreadView {
  constructor(main, id) {
    this.main = main; this.id = id; this.root = h('article', { class: 'thread', 'aria-busy': 'true' });
    replace(main, this.root);
    this.onLive = (e) => this.live(e.detail);
    this.onChanged = (e) => { if (e.detail === this.id) this.reload(); };
    this.onReload = () => this.reload();
    this.onClock = () => this.drawDeadline();
    window.addEventListener('commhub:live', this.onLive);
    window.addEventListener('commhub:clock', this.onClock);
    window.addEventListener('commhub:thread-changed', this.onChanged);
    window.addEventListener('commhub:reload', this.onReload);
  }

  dispose() {
    window.removeEventListener('commhub:live', this.onLive);
    window.removeEventListener('commhub:thread-changed', this.onChanged);
    window.removeEventListener('commhub:reload', this.onReload);
    window.removeEventListener('commhub:clock', this.onClock);
    clearInterval(this.ticker);
  }

  async open(focusReply) {
    try {
      [this.thread, this.context] = await Promise.all([
        get(`/api/communication/threads/${this.id}`),
        get(`/api/communication/threads/${this.id}/context`).catch(() => null),
      ]);
    } catch (e) {
      replace(this.root, h('p', { role: 'alert' }, e instanceof APIError && e.status === 404 ? t('not_found') : t('error', { m: e.message })));
      return;
    }
    markOpened(this.id, this.thread.last_message_at ?? this.thread.updated_at);
    post('/api/mentions/seen', { thread_id: this.id }).catch(() => {});
    this.render();
    this.root.removeAttribute('aria-busy');
    this.ticker = setInterval(() => this.drawDeadline(), 15000);
    if (focusReply) this.composer.focus();
    else this.heading.focus();
  }

  async reload() {
    try {
      this.thread = await get(`/api/communication/threads/${this.id}`);
      markOpened(this.id, this.thread.last_message_at ?? this.thread.updated_at);
      this.drawHeader();
      this.drawTimeline();
      this.composer.update(this.thread);
    } catch { /* the next event tries again */ }
  }

  live(frame) {
    const d = frame.data || {};
    const about = d.thread_id ?? d.id;
    const mine = about === this.id || (frame.type === 'task.assigned' && d.thread_id === this.id)
      || (frame.type === 'thread.assigned' && (d.moves || []).some((m) => m.thread === this.id));
    if (!mine) return;
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.reload(), 150);
    if (frame.type === 'message.created' && d.message_type === 'incoming') announce(t('new_message_live', { s: this.thread.thread_subject }));
  }

  render() {
    this.heading = h('h1', { tabindex: '-1', id: 'thread-subject' });
    this.badges = h('div', { class: 'badges' });
    this.controls = h('form', { class: 'controls', 'aria-label': t('details') });
    this.timeline = h('ol', { class: 'timeline', id: 'timeline', 'aria-label': t('timeline') });
    this.side = h('aside', { class: 'side', 'aria-label': t('customer') });
    this.composer = new Composer(this.thread, this.context, () => this.reload());
    const back = h('a', { href: '#/inbox', class: 'back' }, icon('back'), h('span', {}, t('back')));
    const phoneBar = isPhone() ? this.phoneBar() : null;
    replace(this.root,
      h('header', { class: 'thread-head' }, back, this.heading, this.badges),
      phoneBar,
      h('div', { class: 'thread-body' },
        h('section', { class: 'thread-main', 'aria-labelledby': 'thread-subject' },
          this.timeline, this.composer.element, this.callForm(), this.taskForm()),
        h('div', { class: 'thread-aside' }, this.controls, this.side)));
    this.drawHeader();
    this.drawTimeline();
    this.drawSide();
  }

  drawHeader() {
    const th = this.thread;
    this.heading.textContent = th.thread_subject;
    replace(this.badges,
      h('span', { class: `badge prio-${th.priority}` }, te('priority', th.priority)),
      h('span', { class: 'badge' }, te('status', th.status)),
      h('span', { class: 'badge' }, icon(CHANNEL_ICON[th.channel_type] ?? 'system'), te('channel_type', th.channel_type)),
      this.deadline = h('span', { class: 'badge sla', id: 'thread-sla' }));
    this.drawDeadline();
    this.drawControls();
  }

  drawDeadline() {
    if (!this.deadline) return;
    const due = countdown(this.thread.response_due_at, now());
    this.deadline.textContent = due.text;
    this.deadline.className = `badge sla sla-${due.state}`;
  }

  drawControls() {
    const th = this.thread;
    const sel = (id, label, kind, value) => h('label', { class: 'field', for: id }, h('span', {}, label),
      h('select', { id, name: id }, enumValues(kind).map((v) => h('option', { value: v, selected: v === value }, te(kind, v)))));
    const people = [...store.contacts.values()].filter((c) => ['agent', 'team_leader', 'manager', 'admin'].includes(c.role)
      && (!th.assigned_team_id || (c.teams || []).includes(th.assigned_team_id) || c.id === th.assigned_to_contact_id || c.id === store.me.id));
    const assignee = h('label', { class: 'field', for: 'c-assignee' }, h('span', {}, t('assignee')),
      h('select', { id: 'c-assignee' }, h('option', { value: '' }, t('unassigned')),
        people.map((c) => h('option', { value: c.id, selected: c.id === th.assigned_to_contact_id }, c.name))));
    const tags = h('label', { class: 'field', for: 'c-tags' }, h('span', {}, t('tags')),
      h('input', { id: 'c-tags', value: (th.tags || []).join(', ') }));
    replace(this.controls, sel('c-status', t('status'), 'status', th.status), sel('c-priority', t('priority'), 'priority', th.priority),
      sel('c-type', t('type'), 'thread_type', th.thread_type), assignee, tags,
      h('button', { type: 'submit', id: 'c-save' }, t('save')));
    this.controls.onsubmit = async (e) => {
      e.preventDefault();
      const change = {};
      const v = (id) => this.controls.querySelector(`#${id}`).value;
      if (v('c-status') !== th.status) change.status = v('c-status');
      if (v('c-priority') !== th.priority) change.priority = v('c-priority');
      if (v('c-type') !== th.thread_type) change.thread_type = v('c-type');
      const a = v('c-assignee') || null;
      if (a !== (th.assigned_to_contact_id ?? null)) change.assigned_to_contact_id = a;
      const tagList = v('c-tags').split(',').map((s) => s.trim()).filter(Boolean);
      if (tagList.join(',') !== (th.tags || []).join(',')) change.tags = tagList;
      if (!Object.keys(change).length) return;
      try {
        this.thread = await put(`/api/communication/threads/${this.id}`, change);
        toast(t('saved'));
        this.drawHeader();
        window.dispatchEvent(new CustomEvent('commhub:thread-changed', { detail: this.id }));
      } catch (err) { toast(t('error', { m: err.message }), { kind: 'error' }); }
    };
  }

  drawTimeline() {
    const th = this.thread;
    // The thread view carries the newest 200 messages; older ones are read on request,
    // page by page from the message list, and kept across live redraws.
    const shown = new Set((th.messages || []).map((m) => m.id));
    const older = (this.older || []).filter((m) => !shown.has(m.id));
    const entries = [
      ...[...older, ...(th.messages || [])].map((m) => ({ at: m.created_at, el: () => this.message(m) })),
      ...(th.tasks || []).map((task) => ({ at: task.created_at, el: () => this.task(task) })),
    ].sort((a, b) => (a.at < b.at ? -1 : 1));
    const rows = entries.map((e) => e.el());
    if (th.messages_truncated && !this.older) {
      const more = h('button', { type: 'button', class: 'small', id: 'older-messages', onclick: async () => {
        more.disabled = true;
        try { this.older = await all(`/api/communication/messages?thread_id=${this.id}`); this.drawTimeline(); }
        catch (err) { more.disabled = false; toast(t('error', { m: err.message }), { kind: 'error' }); }
      } }, t('older_messages'));
      rows.unshift(h('li', { class: 'older-messages' }, more));
    }
    replace(this.timeline, rows);
    const last = this.timeline.lastElementChild;
    if (last && !isPhone()) last.scrollIntoView({ block: 'nearest' });
  }

  message(m) {
    const meta = m.metadata || {};
    const isCall = m.channel_type === 'phone_call';
    const kind = m.message_type;
    const sender = kind === 'incoming' ? (m.sender_external?.name || m.sender_external?.email || m.sender_external?.phone || t('mt_incoming'))
      : m.sender_contact_id ? contactName(m.sender_contact_id) : t(`mt_${kind}`);
    const channelIcon = kind === 'internal_note' ? 'note' : CHANNEL_ICON[m.channel_type] ?? 'system';
    const body = h('div', { class: 'msg-body' });
    if (isCall) body.append(h('p', { class: 'call' }, t('call_summary', { m: Math.round((meta.duration_seconds ?? 0) / 60) })));
    if (m.message_html) body.append(mailFrame(m.message_html));
    else if (m.message_content) body.append(noteText(m.message_content));
    for (const a of m.attachments || []) body.append(attachment(a, m));
    const foot = h('div', { class: 'msg-foot' });
    if (kind === 'outgoing' || kind === 'auto_response') foot.append(ticks(m));
    if (meta.delivery_unknown || m.delivery_status === 'failed' || m.delivery_status === 'bounced') {
      if (!meta.resent_as) {
        foot.append(h('button', { type: 'button', class: 'small', onclick: async () => {
          try { await post(`/api/communication/messages/${m.id}/resend`); toast(t('sent_ok')); this.reload(); }
          catch (err) { toast(t('error', { m: err.message }), { kind: 'error' }); }
        } }, t('resend')));
      }
    }
    return h('li', { class: `msg msg-${kind}`, id: `m-${m.id}`, dataset: { id: m.id } },
      h('div', { class: 'msg-head' }, icon(channelIcon, kind === 'internal_note' ? t('internal_note') : te('channel_type', m.channel_type)),
        h('strong', { class: 'msg-sender' }, sender), h('span', { class: 'msg-kind' }, t(`mt_${kind}`)),
        h('time', { datetime: m.created_at }, dateTime(m.created_at))),
      m.subject ? h('p', { class: 'msg-subject' }, m.subject) : null, body, foot);
  }

  task(task) {
    const done = task.status === 'completed';
    const notes = h('input', { 'aria-label': t('completion_notes'), placeholder: t('completion_notes'), class: 'task-notes' });
    return h('li', { class: `msg msg-task${done ? ' done' : ''}`, dataset: { task: task.id } },
      h('div', { class: 'msg-head' }, icon('task', t('tasks')), h('strong', {}, task.task_title),
        h('span', { class: 'msg-kind' }, `${contactName(task.assigned_to_contact_id)}${task.due_date ? ' · ' + dateOnly(task.due_date) : ''}${task.due_time ? ' ' + task.due_time : ''}`)),
      task.task_description ? h('p', {}, task.task_description) : null,
      done ? h('p', { class: 'task-done' }, `${t('completed')}${task.completion_notes ? ': ' + task.completion_notes : ''}`)
        : h('div', { class: 'task-complete' }, notes, h('button', { type: 'button', class: 'small', onclick: async () => {
          try {
            await put(`/api/tasks/${task.id}`, { status: 'completed', completion_notes: notes.value || undefined });
            toast(t('completed')); this.reload();
          } catch (err) { toast(t('error', { m: err.message }), { kind: 'error' }); }
        } }, t('complete'))));
  }

  drawSide() {
    const c = this.context;
    if (!c) return clear(this.side);
    const rows = [];
    if (c.customer) rows.push(h('dt', {}, t('customer')), h('dd', { id: 'side-customer' }, c.customer.name,
      ...(c.customer.emails || []).map((e) => h('div', { class: 'muted' }, e)), ...(c.customer.phones || []).map((p) => h('div', { class: 'muted' }, p))));
    if (c.customer_organization) rows.push(h('dt', {}, t('organisation')), h('dd', {}, c.customer_organization.name));
    if (c.partner_organization) rows.push(h('dt', {}, t('partner')), h('dd', {}, c.partner_organization.name));
    if (c.order) rows.push(h('dt', {}, t('order')), h('dd', {}, h('a', { href: `#/order/${encodeURIComponent(c.order.order_number)}`, id: 'side-order' },
      `#${c.order.order_number}`), h('span', { class: 'muted' }, ` · ${c.order.brand}`)));
    const others = (c.customer_threads || []).map((o) => h('li', {}, h('a', { href: `#/thread/${o.id}` },
      icon(CHANNEL_ICON[o.channel_type] ?? 'system', te('channel_type', o.channel_type)), ` ${o.thread_subject}`),
      h('span', { class: 'muted' }, ` · ${te('status', o.status)}`)));
    replace(this.side, h('h2', {}, t('customer')), h('dl', {}, rows),
      others.length ? h('h3', {}, t('other_threads')) : null, others.length ? h('ul', { class: 'plain' }, others) : null);
  }

  callForm() {
    const form = h('form', { class: 'mini-form', id: 'call-form' },
      h('label', { for: 'call-dir' }, t('direction')),
      h('select', { id: 'call-dir' }, h('option', { value: 'inbound' }, t('inbound')), h('option', { value: 'outbound' }, t('outbound'))),
      h('label', { for: 'call-min' }, t('minutes')), h('input', { id: 'call-min', type: 'number', min: 0, max: 600, value: 5 }),
      h('label', { for: 'call-notes' }, t('call_notes')), h('textarea', { id: 'call-notes', rows: 2 }),
      h('button', { type: 'submit' }, t('log_call')));
    form.onsubmit = async (e) => {
      e.preventDefault();
      try {
        await post('/api/communication/messages', { thread_id: this.id, message_type: 'outgoing',
          call: { direction: form.querySelector('#call-dir').value, duration_seconds: Math.round(Number(form.querySelector('#call-min').value) * 60),
            notes: form.querySelector('#call-notes').value || undefined } });
        form.reset(); toast(t('saved')); this.reload();
      } catch (err) { toast(t('error', { m: err.message }), { kind: 'error' }); }
    };
    return h('details', { class: 'extra' }, h('summary', {}, icon('phone'), t('log_call')), form);
  }

  taskForm() {
    const form = h('form', { class: 'mini-form', id: 'task-form' },
      h('label', { for: 'task-title' }, t('task_title')), h('input', { id: 'task-title', required: true }),
      h('label', { for: 'task-date' }, t('due_date')), h('input', { id: 'task-date', type: 'date' }),
      h('label', { for: 'task-time' }, t('due_time')), h('input', { id: 'task-time', type: 'time' }),
      h('button', { type: 'submit' }, t('add_task')));
    form.onsubmit = async (e) => {
      e.preventDefault();
      try {
        await post('/api/tasks', { task_title: form.querySelector('#task-title').value, thread_id: this.id,
          order_id: this.thread.order_id ?? undefined, due_date: form.querySelector('#task-date').value || undefined,
          due_time: form.querySelector('#task-time').value || undefined });
        form.reset(); toast(t('saved')); this.reload();
      } catch (err) { toast(t('error', { m: err.message }), { kind: 'error' }); }
    };
    return h('details', { class: 'extra' }, h('summary', {}, icon('task'), t('add_task')), form);
  }

  /** The phone layout's big buttons: status in one tap. */
  phoneBar() {
    const set = (status, label) => h('button', { type: 'button', class: 'big', dataset: { status }, onclick: async () => {
      try {
        this.thread = await put(`/api/communication/threads/${this.id}`, { status });
        toast(`${label}: ${t('saved')}`); this.drawHeader();
      } catch (err) { toast(t('error', { m: err.message }), { kind: 'error' }); }
    } }, label);
    return h('div', { class: 'phone-bar', role: 'group', 'aria-label': t('quick_status') },
      set('in_progress', t('on_my_way')), set('waiting_internal', t('on_site')), set('resolved', t('done')));
  }
}

function noteText(text) {
  // @mentions stand out; everything stays text.
  const p = h('p', { class: 'text' });
  for (const part of text.split(/(@[\p{L}\p{N}._-]+)/u)) {
    p.append(part.startsWith('@') ? h('mark', { class: 'mention' }, part) : document.createTextNode(part));
  }
  return p;
}

/** Mail HTML in a sandboxed frame: no scripts (no allow-scripts), an opaque
 *  origin (no allow-same-origin), and the page's CSP, which a srcdoc frame
 *  inherits, blocks every remote load. A meta CSP in the document says the same. */
function mailFrame(html) {
  const doc = `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:"><base target="_blank"></head><body>${html}</body></html>`;
  return h('iframe', { class: 'mail', sandbox: '', srcdoc: doc, title: t('mail_html'), referrerpolicy: 'no-referrer', loading: 'lazy' });
}

function attachment(a, m) {
  const src = a.sha256 ? `/api/attachments/${a.sha256}?message_id=${m.id}` : null;
  const label = `${t('attachment')}: ${a.file_name ?? ''}`;
  if (src && (a.content_type || '').startsWith('image/')) {
    return h('a', { href: src, class: 'attachment', target: '_blank', rel: 'noopener' },
      h('img', { src, alt: label, class: 'thumb', loading: 'lazy' }));
  }
  return h('a', { href: src ?? a.url ?? '#', class: 'attachment', target: '_blank', rel: 'noopener noreferrer' }, icon('clip'), a.file_name ?? label);
}

function ticks(m) {
  const s = m.delivery_status;
  const meta = m.metadata || {};
  const glyph = { pending: '◷', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '✕', bounced: '✕' }[s] ?? '';
  const reason = meta.delivery_error?.reason;
  const label = meta.delivery_unknown ? t('delivery_unknown') : t(`d_${s}`);
  return h('span', { class: `ticks ticks-${s}${meta.delivery_unknown ? ' ticks-unknown' : ''}`, title: reason ?? label },
    h('span', { 'aria-hidden': 'true' }, meta.delivery_unknown ? '?' : glyph), h('span', { class: 'ticks-label' }, label),
    reason ? h('span', { class: 'ticks-reason' }, ` — ${reason}`) : null);
}
