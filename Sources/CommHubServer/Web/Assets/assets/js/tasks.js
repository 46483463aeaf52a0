// Tasks: mine and my team's, grouped overdue / today / later (on the
// server's clock), completed with a note, each linked to its thread.
import { h, replace, icon } from './dom.js';
import { t, te, dateOnly } from './i18n.js';
import { get, put, now } from './api.js';
import { store, contactName } from './store.js';
import { toast } from './toast.js';

export async function showTasks(main) {
  const view = new TasksView(main);
  await view.load();
}

class TasksView {
  constructor(main) {
    this.main = main; this.scope = 'mine';
    this.onLive = (e) => { if (['task.assigned', 'task.reminder'].includes(e.detail.type)) this.load(); };
    window.addEventListener('commhub:live', this.onLive, { once: false });
  }

  async load() {
    const path = this.scope === 'mine' ? '/api/tasks?mine=true&status=open,in_progress,waiting&limit=500'
      : '/api/tasks?status=open,in_progress,waiting&limit=500';
    let items = [];
    try { items = (await get(path)).items; } catch (e) { toast(t('error', { m: e.message }), { kind: 'error' }); }
    if (this.scope === 'team') items = items.filter((task) => task.assigned_to_contact_id !== store.me.id);
    this.draw(items);
  }

  draw(items) {
    if (!this.main.isConnected || !document.getElementById('tasks-view') && this.drawn) { window.removeEventListener('commhub:live', this.onLive); return; }
    this.drawn = true;
    const today = localDate(new Date(now()));
    const groups = { overdue: [], due_today: [], later: [] };
    for (const task of items) {
      if (task.due_date && task.due_date < today) groups.overdue.push(task);
      else if (task.due_date === today) groups.due_today.push(task);
      else groups.later.push(task);
    }
    const tab = (scope, label) => h('button', { type: 'button', role: 'tab', 'aria-selected': String(this.scope === scope), id: `tasks-${scope}`,
      onclick: () => { this.scope = scope; this.load(); } }, label);
    const sections = Object.entries(groups).filter(([, list]) => list.length).map(([key, list]) =>
      h('section', { class: `task-group task-${key}`, 'aria-labelledby': `h-${key}` }, h('h2', { id: `h-${key}` }, `${t(key)} (${list.length})`),
        h('ul', { class: 'task-list' }, list.map((task) => this.card(task)))));
    replace(this.main, h('div', { class: 'tasks', id: 'tasks-view' }, h('h1', {}, t('tasks')),
      h('div', { role: 'tablist', class: 'tabs' }, tab('mine', t('tasks_mine')), tab('team', t('tasks_team'))),
      sections.length ? sections : h('p', { class: 'empty' }, t('no_tasks'))));
  }

  card(task) {
    const notes = h('input', { 'aria-label': `${t('completion_notes')}: ${task.task_title}`, placeholder: t('completion_notes'), class: 'task-notes' });
    return h('li', { class: `task-card prio-${task.priority}`, dataset: { task: task.id } },
      h('div', { class: 'task-title' }, icon('task'), h('strong', {}, task.task_title),
        h('span', { class: 'badge' }, te('priority', task.priority))),
      h('p', { class: 'muted' }, `${task.due_date ? dateOnly(task.due_date) : ''}${task.due_time ? ' ' + task.due_time : ''} · ${contactName(task.assigned_to_contact_id)}`),
      task.task_description ? h('p', {}, task.task_description) : null,
      h('div', { class: 'task-actions' },
        task.thread_id ? h('a', { href: `#/thread/${task.thread_id}` }, t('linked_thread')) : null, notes,
        h('button', { type: 'button', class: 'complete', onclick: async () => {
          try {
            await put(`/api/tasks/${task.id}`, { status: 'completed', completion_notes: notes.value || undefined });
            toast(`${t('completed')}: ${task.task_title}`);
            this.load();
          } catch (e) { toast(t('error', { m: e.message }), { kind: 'error' }); }
        } }, t('complete'))));
  }
}

/** YYYY-MM-DD of a moment in Amsterdam (the company's day). */
export function localDate(d) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}
