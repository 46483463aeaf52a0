// The reply box: reply or internal note; the channel; templates (suggested
// first) with their variables and a live preview; attachments with image
// previews; WhatsApp's 24-hour window (free text off outside it, approved
// templates offered); @mentions in notes; on phones, camera and voice.
import { h, replace, clear, icon, announce } from './dom.js';
import { t, dateTime } from './i18n.js';
import { get, post, upload, now } from './api.js';
import { store, templates, isPhone } from './store.js';
import { toast } from './toast.js';

const EXTERNAL = ['email_outlook', 'whatsapp_business', 'sms'];
const MAX_IMAGE_EDGE = 1600;

export class Composer {
  constructor(thread, context, onSent) {
    this.thread = thread; this.context = context; this.onSent = onSent;
    this.mode = 'reply'; this.files = []; this.template = null; this.suggested = [];
    this.element = h('section', { class: 'composer', 'aria-label': t('reply') });
    this.build();
    this.loadTemplates();
    this.loadMentionable();
  }

  update(thread) { this.thread = thread; this.drawWindow(); }

  focus() { (this.text.disabled ? this.templateSelect : this.text).focus(); }

  build() {
    const tab = (mode, label) => h('button', { type: 'button', role: 'tab', id: `tab-${mode}`, 'aria-selected': String(this.mode === mode),
      onclick: () => this.setMode(mode) }, label);
    this.tabs = h('div', { role: 'tablist', class: 'tabs', 'aria-label': t('reply') }, tab('reply', t('reply')), tab('note', t('internal_note')));
    this.channelSelect = h('select', { id: 'reply-channel', onchange: () => { this.template = null; this.drawTemplates(); this.drawWindow(); } });
    this.templateSelect = h('select', { id: 'reply-template', onchange: () => this.pickTemplate(this.templateSelect.value) });
    this.vars = h('div', { class: 'vars', id: 'template-vars' });
    this.preview = h('div', { class: 'preview', id: 'template-preview', 'aria-live': 'polite' });
    this.window = h('p', { class: 'wa-window', id: 'wa-window' });
    this.text = h('textarea', { id: 'reply-text', rows: 4, 'aria-label': t('message'), 'aria-describedby': 'wa-window' });
    this.text.addEventListener('input', () => this.suggestMentions());
    this.text.addEventListener('keydown', (e) => this.mentionKeys(e));
    this.mentionList = h('ul', { class: 'mention-list', id: 'mention-list', role: 'listbox', hidden: true, 'aria-label': t('mentions') });
    this.fileInput = h('input', { type: 'file', id: 'reply-file', multiple: true, 'aria-label': t('attach'), class: 'visually-hidden', onchange: (e) => this.addFiles(e.target.files) });
    this.camera = h('input', { type: 'file', id: 'camera-input', accept: 'image/*', capture: 'environment', 'aria-label': t('take_photo'), class: 'visually-hidden',
      onchange: (e) => this.addFiles(e.target.files, { shrink: true }) });
    this.fileList = h('ul', { class: 'files', id: 'reply-files' });
    this.sendButton = h('button', { type: 'submit', class: 'primary', id: 'reply-send' }, t('send'));
    const tools = h('div', { class: 'composer-tools' },
      h('label', { for: 'reply-file', class: 'button icon-button' }, icon('clip'), h('span', {}, t('attach'))), this.fileInput,
      h('label', { for: 'camera-input', class: 'button icon-button camera' }, icon('camera'), h('span', {}, t('take_photo'))), this.camera,
      this.voiceButton(), this.sendButton);
    this.channelField = h('label', { class: 'field', for: 'reply-channel' }, h('span', {}, t('channel')), this.channelSelect);
    this.templateField = h('label', { class: 'field', for: 'reply-template' }, h('span', {}, t('template')), this.templateSelect);
    this.shortcuts = h('div', { class: 'template-shortcuts', role: 'group', 'aria-label': t('template_shortcuts') });
    this.form = h('form', { id: 'composer-form' }, this.tabs, h('div', { class: 'composer-row' }, this.channelField, this.templateField),
      this.shortcuts, this.window, this.vars, this.preview, h('div', { class: 'text-wrap' }, this.text, this.mentionList),
      this.fileList, tools);
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.send(); });
    replace(this.element, this.form);
    this.drawChannels();
    this.drawWindow();
  }

  setMode(mode) {
    this.mode = mode;
    for (const b of this.tabs.querySelectorAll('[role=tab]')) b.setAttribute('aria-selected', String(b.id === `tab-${mode}`));
    this.channelField.hidden = mode === 'note';
    this.templateField.hidden = mode === 'note';
    this.sendButton.textContent = mode === 'note' ? t('add_note') : t('send');
    this.text.placeholder = mode === 'note' ? t('mention_hint') : '';
    if (mode === 'note') { this.template = null; clear(this.vars); clear(this.preview); }
    this.drawWindow();
    this.text.focus();
  }

  /** Channels to answer on: those the customer used, then the brand's other external channels. */
  drawChannels() {
    const used = [...new Set((this.thread.messages || []).filter((m) => m.message_type === 'incoming' && m.channel_id).map((m) => m.channel_id))];
    const brand = this.thread.business_entity;
    const others = [...store.channels.values()].filter((c) => c.is_active && EXTERNAL.includes(c.channel_type)
      && (!brand || c.business_entity === brand) && !used.includes(c.id)).map((c) => c.id);
    const ids = [...used, ...others].filter((id) => store.channels.has(id));
    const last = [...(this.thread.messages || [])].reverse().find((m) => m.message_type === 'incoming' && m.channel_id)?.channel_id;
    replace(this.channelSelect, ids.map((id) => h('option', { value: id, selected: id === last }, store.channels.get(id).channel_name)));
  }

  channel() { return store.channels.get(this.channelSelect.value); }

  async loadTemplates() {
    try {
      this.all = await templates();
      const s = await get(`/api/communication/threads/${this.thread.id}/template-suggestions`).catch(() => null);
      this.suggested = (s?.items ?? []).map((x) => x.template_id ?? x.id ?? x.template?.id).filter(Boolean);
    } catch { this.all = []; }
    this.drawTemplates();
  }

  usableTemplates() {
    const ch = this.channel();
    const brand = this.thread.business_entity;
    return (this.all || []).filter((tp) => (tp.channel_type === 'any' || tp.channel_type === ch?.channel_type)
      && (tp.business_entity === 'all' || !brand || tp.business_entity === brand) && tp.template_category !== 'auto_response');
  }

  drawTemplates() {
    const list = this.usableTemplates();
    const suggested = list.filter((tp) => this.suggested.includes(tp.id));
    const rest = list.filter((tp) => !this.suggested.includes(tp.id));
    const opt = (tp) => h('option', { value: tp.id, selected: tp.id === this.template?.id }, tp.template_name);
    replace(this.templateSelect, h('option', { value: '' }, t('no_template')),
      suggested.length ? h('optgroup', { label: t('suggested') }, suggested.map(opt)) : null,
      rest.length ? h('optgroup', { label: t('template') }, rest.map(opt)) : null);
    const quick = (suggested.length ? suggested : rest).slice(0, isPhone() ? 3 : 4);
    replace(this.shortcuts, quick.map((tp) => h('button', { type: 'button', class: 'small shortcut', onclick: () => {
      this.templateSelect.value = tp.id; this.pickTemplate(tp.id);
    } }, tp.template_name)));
    this.shortcuts.hidden = this.mode === 'note' || !quick.length;
  }

  pickTemplate(id) {
    this.template = (this.all || []).find((tp) => tp.id === id) ?? null;
    clear(this.vars); clear(this.preview);
    if (!this.template) { this.drawWindow(); return; }
    const known = { customer_name: this.context?.customer?.name ?? '', order_number: this.context?.order?.order_number ?? '',
      agent_name: store.me.name };
    this.varInputs = {};
    if (this.template.variables?.length) this.vars.append(h('p', { class: 'muted' }, t('variables')));
    for (const v of this.template.variables || []) {
      const input = h('input', { id: `var-${v}`, value: known[v] ?? '', oninput: () => this.renderPreview() });
      this.varInputs[v] = input;
      this.vars.append(h('label', { class: 'field', for: `var-${v}` }, h('span', {}, v), input));
    }
    this.drawWindow();
    this.renderPreview();
  }

  variables() {
    const out = {};
    for (const [k, input] of Object.entries(this.varInputs || {})) if (input.value !== '') out[k] = input.value;
    return out;
  }

  async renderPreview() {
    if (!this.template) return;
    clearTimeout(this.previewTimer);
    this.previewTimer = setTimeout(async () => {
      try {
        const r = await post(`/api/templates/${this.template.id}/render`, { variables: this.variables() });
        replace(this.preview, h('p', { class: 'muted' }, t('preview')), r.subject ? h('p', { class: 'msg-subject' }, r.subject) : null,
          h('p', { class: 'text' }, r.message ?? r.message_content ?? ''));
      } catch (err) {
        replace(this.preview, h('p', { class: 'form-error' }, err.message));
      }
    }, 200);
  }

  /** WhatsApp's 24-hour window for the chosen channel. */
  drawWindow() {
    const ch = this.channel();
    let blocked = false;
    this.window.hidden = true;
    if (this.mode === 'reply' && ch?.channel_type === 'whatsapp_business') {
      const w = (this.thread.whatsapp_windows || []).find((x) => x.channel_id === ch.id);
      const open = w && Date.parse(w.ends_at) > now();
      this.window.hidden = false;
      this.window.className = `wa-window ${open ? 'open' : 'closed'}`;
      this.window.textContent = open ? t('wa_open_until', { t: dateTime(w.ends_at) }) : (w ? t('wa_closed') : t('wa_never'));
      blocked = !open;
      if (blocked) {
        // Only Meta-approved templates can go out: offer those.
        for (const o of this.templateSelect.querySelectorAll('option[value]')) {
          const tp = (this.all || []).find((x) => x.id === o.value);
          o.disabled = !!o.value && !tp?.whatsapp_template_name;
        }
      }
    } else {
      for (const o of this.templateSelect.querySelectorAll('option')) o.disabled = false;
    }
    this.text.disabled = blocked || (this.mode === 'reply' && !!this.template);
  }

  async addFiles(list, { shrink = false } = {}) {
    for (const file of list) {
      let blob = file;
      if (shrink || (file.type.startsWith('image/') && file.size > 2 * 1024 * 1024)) blob = await shrinkImage(file);
      const name = shrink ? `foto-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}.jpg` : file.name;
      try {
        const stored = await upload(blob, name);
        const entry = { stored, url: blob.type.startsWith('image/') ? URL.createObjectURL(blob) : null };
        this.files.push(entry);
        this.drawFiles();
        if (shrink && isPhone()) { this.setMode('note'); announce(t('photo_sent')); }
      } catch (err) { toast(t('error', { m: err.message }), { kind: 'error' }); }
    }
    this.fileInput.value = ''; this.camera.value = '';
  }

  drawFiles() {
    replace(this.fileList, this.files.map((f, i) => h('li', { class: 'file' },
      f.url ? h('img', { src: f.url, alt: f.stored.file_name, class: 'thumb' }) : icon('clip'),
      h('span', {}, f.stored.file_name),
      h('button', { type: 'button', class: 'small', 'aria-label': `${t('remove')} ${f.stored.file_name}`, onclick: () => {
        if (f.url) URL.revokeObjectURL(f.url);
        this.files.splice(i, 1); this.drawFiles();
      } }, '×'))));
  }

  async send() {
    const body = { thread_id: this.thread.id, message_type: this.mode === 'note' ? 'internal_note' : 'outgoing' };
    const text = this.text.value.trim();
    if (this.mode === 'reply') {
      body.channel_id = this.channelSelect.value || undefined;
      if (this.template) { body.template_id = this.template.id; body.template_variables = this.variables(); }
    }
    if (text && !this.text.disabled) body.message_content = text;
    if (this.files.length) {
      body.attachments = this.files.map((f) => ({ file_name: f.stored.file_name, content_type: f.stored.content_type,
        size_bytes: f.stored.size_bytes, sha256: f.stored.sha256 }));
      if (!body.message_content && !body.template_id) body.message_content = '';
    }
    this.sendButton.disabled = true;
    try {
      await post('/api/communication/messages', body);
      this.text.value = ''; this.files.forEach((f) => f.url && URL.revokeObjectURL(f.url)); this.files = [];
      this.drawFiles();
      if (this.template) { this.template = null; this.templateSelect.value = ''; clear(this.vars); clear(this.preview); }
      this.drawWindow();
      toast(this.mode === 'note' ? t('saved') : t('sent_ok'));
      announce(this.mode === 'note' ? t('saved') : t('sent_ok'));
      this.onSent();
    } catch (err) {
      toast(t('error', { m: err.message }), { kind: 'error' });
    } finally {
      this.sendButton.disabled = false;
    }
  }

  // @mentions: suggestions while typing "@na…" in a note.
  async loadMentionable() {
    try { this.people = (await get(`/api/communication/threads/${this.thread.id}/mentionable`)).items; } catch { this.people = []; }
  }

  mentionQuery() {
    const upto = this.text.value.slice(0, this.text.selectionStart);
    const m = upto.match(/(^|\s)@([\p{L}\p{N}._-]*)$/u);
    return m ? m[2].toLowerCase() : null;
  }

  suggestMentions() {
    const q = this.mode === 'note' ? this.mentionQuery() : null;
    if (q === null) { this.mentionList.hidden = true; return; }
    const hits = (this.people || []).filter((p) => p.handle.includes(q) || p.name.toLowerCase().includes(q)).slice(0, 6);
    replace(this.mentionList, hits.map((p, i) => h('li', { role: 'option', id: `mention-${p.handle}`, 'aria-selected': String(i === 0),
      dataset: { handle: p.handle }, onmousedown: (e) => { e.preventDefault(); this.insertMention(p.handle); } }, `${p.name} (@${p.handle})`)));
    this.mentionList.hidden = hits.length === 0;
  }

  mentionKeys(e) {
    if (this.mentionList.hidden) return;
    const options = [...this.mentionList.querySelectorAll('[role=option]')];
    const i = options.findIndex((o) => o.getAttribute('aria-selected') === 'true');
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const j = (i + (e.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length;
      options.forEach((o, k) => o.setAttribute('aria-selected', String(k === j)));
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      this.insertMention(options[Math.max(0, i)].dataset.handle);
    } else if (e.key === 'Escape') {
      this.mentionList.hidden = true;
    }
  }

  insertMention(handle) {
    const pos = this.text.selectionStart;
    const before = this.text.value.slice(0, pos).replace(/@[\p{L}\p{N}._-]*$/u, `@${handle} `);
    this.text.value = before + this.text.value.slice(pos);
    this.text.selectionStart = this.text.selectionEnd = before.length;
    this.mentionList.hidden = true;
    this.text.focus();
  }

  /** Dictation where the browser offers speech recognition. */
  voiceButton() {
    const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
    if (!Recognition) return null;
    const button = h('button', { type: 'button', class: 'icon-button', 'aria-pressed': 'false' }, icon('mic'), h('span', {}, t('dictate')));
    let rec = null;
    button.addEventListener('click', () => {
      if (rec) { rec.stop(); return; }
      rec = new Recognition();
      rec.lang = document.documentElement.lang === 'nl' ? 'nl-NL' : 'en-GB';
      rec.interimResults = false;
      rec.onresult = (e) => { this.text.value += (this.text.value ? ' ' : '') + [...e.results].map((r) => r[0].transcript).join(' '); };
      rec.onend = () => { rec = null; button.setAttribute('aria-pressed', 'false'); };
      button.setAttribute('aria-pressed', 'true');
      rec.start();
    });
    return button;
  }
}

/** A photo shrunk on the device (longest edge 1600 px, JPEG) before upload. */
export async function shrinkImage(file) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_IMAGE_EDGE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return await new Promise((resolve) => canvas.toBlob((b) => resolve(b ?? file), 'image/jpeg', 0.8));
  } catch {
    return file;
  }
}
