// The manager dashboard (#/dashboard): the owner's KPIs from
// /api/analytics/{kpi} drawn as SVG charts, with a period (1 day in hour
// buckets; 7, 30 or 90 days in Amsterdam day buckets) and slices (channel
// type, brand, team). What a person sees is the API's decision: managers,
// admins and executives everything, team leaders their teams, agents their
// own figures. Live while open: message and thread events refresh it, at
// most once per `liveRefreshSeconds`.
import { h, replace } from './dom.js';
import { t, te, enumValues, language, duration } from './i18n.js';
import { get, now } from './api.js';
import { store, contactName } from './store.js';
import { timeChart, barChart, legend, scaleMax } from './chart.js';
import { localDate } from './tasks.js';

const PERIOD_DAYS = [1, 7, 30, 90];
const BRANDS = ['chargecars', 'laderthuis', 'meterkastthuis', 'zaptecshop', 'ratioshop'];
// A burst of live events is one refresh; eleven KPI requests at most every 5 s.
const liveRefreshSeconds = 5;
// The workload chart shows the busiest people; more bars would not be readable.
const maxAgentBars = 20;
const HOUR_MS = 3600000, DAY_MS = 86400000;

/** Roles for which the navigation shows the dashboard (agents can still open it: the API gives them their own figures). */
export function showsDashboard(role) { return ['manager', 'admin', 'executive', 'team_leader'].includes(role); }

// Kept across visits so going to a thread and back keeps the chosen slice.
const state = { days: 7, channel_type: '', business_entity: '', team_id: '' };

/** Calls `fn` at most once per `intervalMs`; a call inside the interval runs once at its end. `cancel()` drops a pending run. */
export function throttled(fn, intervalMs, clock = Date.now) {
  let last = -Infinity, timer = null;
  const run = () => { timer = null; last = clock(); fn(); };
  const call = () => {
    if (timer) return;
    const wait = last + intervalMs - clock();
    if (wait <= 0) run(); else timer = setTimeout(run, wait);
  };
  call.cancel = () => { clearTimeout(timer); timer = null; };
  return call;
}

/** The Amsterdam midnight that starts the day of `ms` (the API's day buckets). */
function amsterdamMidnight(ms) {
  const d = new Date(ms);
  const zone = new Intl.DateTimeFormat('en', { timeZone: 'Europe/Amsterdam', timeZoneName: 'shortOffset' }).formatToParts(d)
    .find((p) => p.type === 'timeZoneName')?.value ?? 'GMT+1';
  const m = /GMT([+-]\d+)?/.exec(zone);
  const offsetHours = m && m[1] ? Number(m[1]) : 0;
  return Date.parse(`${localDate(d)}T00:00:00Z`) - offsetHours * HOUR_MS;
}

/** The query range: whole buckets from the start of the period up to now; `end` closes the last bucket (for the x axis). */
export function period(days, nowMs) {
  if (days === 1) {
    const lastHour = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
    return { bucket: 'hour', bucketMs: HOUR_MS, from: lastHour - 23 * HOUR_MS, to: nowMs, end: lastHour + HOUR_MS };
  }
  const from = amsterdamMidnight(nowMs - (days - 1) * DAY_MS);
  return { bucket: 'day', bucketMs: DAY_MS, from, to: nowMs, end: from + days * DAY_MS };
}

export async function showDashboard(main) {
  const view = new DashboardView(main);
  view.render();
  await view.load();
}

class DashboardView {
  constructor(main) {
    this.main = main;
    this.generation = 0;
    this.refresh = throttled(() => this.load(), liveRefreshSeconds * 1000);
    this.onLive = (e) => { if (/^(message|thread)\./.test(e.detail?.type ?? '')) this.whileOpen(this.refresh); };
    this.onReload = () => this.whileOpen(this.refresh);
    window.addEventListener('commhub:live', this.onLive);
    window.addEventListener('commhub:reload', this.onReload);
  }

  /** Runs `fn` if the dashboard is still on screen; otherwise lets go of the live stream. */
  whileOpen(fn) {
    if (this.view?.isConnected) return fn();
    this.refresh.cancel();
    window.removeEventListener('commhub:live', this.onLive);
    window.removeEventListener('commhub:reload', this.onReload);
  }

  render() {
    const role = store.me?.role ?? 'agent';
    const select = (id, label, options, key) => h('label', { class: 'field', for: id }, h('span', {}, label),
      h('select', { id, onchange: (e) => { state[key] = e.target.value; this.load(); } },
        h('option', { value: '' }, t('any')),
        options.map(([v, text]) => h('option', { value: v, selected: v === state[key] }, text))));
    const periods = h('div', { class: 'chips', role: 'group', 'aria-label': t('dash_period') },
      PERIOD_DAYS.map((d) => h('button', { type: 'button', class: 'chip', id: `period-${d}`, 'aria-pressed': String(d === state.days),
        onclick: () => { state.days = d; for (const p of PERIOD_DAYS) document.getElementById(`period-${p}`)?.setAttribute('aria-pressed', String(p === d)); this.load(); } },
      d === 1 ? t('dash_day') : t('dash_days', { n: d }))));
    // Team leaders pick among their own teams (the API refuses others); agents have no team slice.
    const mine = new Set(store.me?.teams ?? []);
    const teams = [...store.teams.values()].filter((tm) => role !== 'team_leader' || mine.has(tm.id)).map((tm) => [tm.id, tm.name]);
    const channels = enumValues('channel_type').map((c) => [c, te('channel_type', c)]);
    this.status = h('p', { class: 'muted dash-status', id: 'dash-status' });
    this.grid = h('div', { class: 'dash-grid', id: 'dash-grid', 'aria-busy': 'true' });
    this.view = h('div', { class: 'dashboard', id: 'dashboard-view' },
      h('h1', {}, t('dashboard')),
      role === 'agent' ? h('p', { class: 'muted' }, t('dash_own_figures')) : null,
      h('div', { class: 'dash-controls' }, periods,
        select('d-channel', t('channel'), channels, 'channel_type'),
        select('d-brand', t('brand'), BRANDS.map((b) => [b, b]), 'business_entity'),
        role === 'agent' ? null : select('d-team', t('team'), teams, 'team_id')),
      this.status, this.grid);
    replace(this.main, this.view);
  }

  query(kpi, p, extra = {}) {
    const q = new URLSearchParams({ from: new Date(p.from).toISOString(), to: new Date(p.to).toISOString(), bucket: p.bucket });
    for (const k of ['channel_type', 'business_entity', 'team_id']) if (state[k]) q.set(k, state[k]);
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    return get(`/api/analytics/${kpi}?${q}`);
  }

  async load() {
    const generation = ++this.generation;
    // `loads` counts the refreshes asked for (each is eleven requests), so the live throttle can be checked from outside.
    this.view.dataset.loads = String(generation);
    const p = period(state.days, now());
    const asks = {
      response: this.query('response_times', p), sla: this.query('sla_compliance', p),
      volume: this.query('volume', p, { group_by: 'channel_type' }),
      workload: this.query('workload', p), workloadByAgent: this.query('workload', p, { group_by: 'agent' }),
      escalation: this.query('escalation_rate', p), fcr: this.query('first_contact_resolution', p),
      templates: this.query('template_usage', p), csat: this.query('csat', p),
      cost: this.query('cost', p, { group_by: 'channel_type' }),
    };
    let data;
    try {
      const answers = await Promise.all(Object.values(asks));
      data = Object.fromEntries(Object.keys(asks).map((k, i) => [k, answers[i]]));
    } catch (e) {
      if (generation === this.generation && this.view.isConnected) this.status.textContent = t('error', { m: e.message });
      return;
    }
    // A slower, older answer never overwrites a newer one; a dashboard that was left draws nothing.
    if (generation !== this.generation || !this.view.isConnected) return;
    replace(this.grid, this.cards(data, p));
    // The range asked, on the view: what a test (or a person's bug report) needs to ask the API the same question.
    Object.assign(this.view.dataset, { from: new Date(p.from).toISOString(), to: new Date(p.to).toISOString(), bucket: p.bucket });
    this.grid.setAttribute('aria-busy', 'false');
    this.status.textContent = t('dash_updated', { t: new Intl.DateTimeFormat(language(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(now())) });
  }

  cards(d, p) {
    const lang = language();
    const pct = (v) => new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(v);
    const num = (v) => new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(v);
    const euro = (cents) => new Intl.NumberFormat(lang, { style: 'currency', currency: 'EUR' }).format(cents / 100);
    const secs = (v) => (v > 0 ? duration(v * 1000) : '0');
    const xLabel = (at) => new Intl.DateTimeFormat(lang, p.bucket === 'hour' ? { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Amsterdam' }
      : { day: 'numeric', month: 'short', timeZone: 'Europe/Amsterdam' }).format(new Date(at));
    const points = (answer, keys) => (answer.series ?? []).map((r) => ({ at: Date.parse(r.bucket_start), values: keys.map((k) => r.values[k]) }));
    const targetOf = (answer, format) => (answer.target ? { value: answer.target.value, label: t('dash_target', { v: format(answer.target.value) }) } : null);
    const time = (answer, keys, names, kind, format, floor) => {
      const pts = points(answer, keys);
      const target = targetOf(answer, format);
      const series = names.map((name) => ({ name, kind }));
      return { series, target, chart: (title, desc) => timeChart({ title, desc, from: p.from, to: p.end, bucketMs: p.bucketMs, points: pts, series,
        format, xLabel, target, yMax: scaleMax(pts.flatMap((x) => x.values), target?.value, floor) }) };
    };

    const rt = time(d.response, ['first_response_median_seconds', 'first_response_p90_seconds'], [t('dash_median'), t('dash_p90')], 'line', secs);
    const sla = time(d.sla, ['compliance'], [t('dash_compliance')], 'bar', pct, 1);
    // Escalations are drawn as counts: a bucket's rate is undefined when no thread opened in it (the ladder
    // escalates threads opened earlier), so a rate chart would hide exactly the busy hours. The headline is the period's rate.
    const esc = time(d.escalation, ['escalations'], [t('dash_escalation_count')], 'bar', num);
    const fcr = time(d.fcr, ['rate'], [t('dash_fcr_rate')], 'bar', pct, 1);
    const tpl = time(d.templates, ['share'], [t('dash_template_share')], 'bar', pct, 1);
    const csat = time(d.csat, ['average'], [t('dash_csat_average')], 'line', num, 5);

    const volume = byGroup(d.volume, ['inbound', 'outbound']);
    const volSeries = [{ name: t('inbound') }, { name: t('outbound') }];
    const volCats = volume.map(([g, v]) => ({ label: te('channel_type', g), values: v }));
    const cost = byGroup(d.cost, ['cost_cents']);
    const costCats = cost.map(([g, v]) => ({ label: te('channel_type', g), values: v }));
    const loads = latestLoads(d.workloadByAgent).slice(0, maxAgentBars);
    const loadCats = loads.map(([agent, n]) => ({ label: contactName(agent).split(' ')[0], name: contactName(agent), values: [n] }));

    const T = d.response.total ?? {};
    return [
      card('response_times', t('dash_response_times'), T.first_response_median_seconds, secs, null, rt, t('dash_response_desc')),
      card('sla_compliance', t('dash_sla'), d.sla.total?.compliance, pct, d.sla.target, sla, t('dash_sla_desc')),
      card('volume', t('dash_volume'), (d.volume.total?.inbound ?? 0) + (d.volume.total?.outbound ?? 0), num, null,
        { series: volSeries, chart: (title, desc) => barChart({ title, desc, categories: volCats, series: volSeries, format: num, yMax: scaleMax(volCats.flatMap((c) => c.values)) }) },
        t('dash_volume_desc')),
      card('workload', t('dash_workload'), d.workload.total?.gini, (v) => `Gini ${num(v)}`, null,
        { series: [{ name: t('dash_open_threads') }], chart: (title, desc) => barChart({ title, desc, categories: loadCats, series: [{ name: t('dash_open_threads') }], format: num, yMax: scaleMax(loads.map((l) => l[1])) }) },
        t('dash_workload_desc')),
      card('escalation_rate', t('dash_escalations'), d.escalation.total?.rate, pct, null, esc, t('dash_escalation_desc')),
      card('first_contact_resolution', t('dash_fcr'), d.fcr.total?.rate, pct, d.fcr.target, fcr, t('dash_fcr_desc')),
      card('template_usage', t('dash_templates'), d.templates.total?.share, pct, d.templates.target, tpl, t('dash_templates_desc')),
      card('csat', t('dash_csat'), d.csat.total?.average, num, d.csat.target, csat, t('dash_csat_desc')),
      card('cost', t('dash_cost'), d.cost.total?.cost_cents, euro, null,
        { series: [{ name: t('dash_cost') }], chart: (title, desc) => barChart({ title, desc, categories: costCats, series: [{ name: t('dash_cost') }], format: euro, yMax: scaleMax(costCats.flatMap((c) => c.values)) }) },
        t('dash_cost_desc')),
    ];

    /** One KPI: its headline figure (against the target when it has one), the chart, the legend. */
    function card(kpi, title, value, format, target, { series, target: line, chart }, desc) {
      const has = Number.isFinite(value);
      const met = has && target ? (target.direction === 'at_most' ? value <= target.value : value >= target.value) : null;
      const headline = h('p', { class: `headline${met === null ? '' : met ? ' met' : ' missed'}`, dataset: { value: has ? String(value) : '' } },
        h('strong', {}, has ? format(value) : '–'),
        target ? h('span', { class: 'muted' }, ` · ${t('dash_target', { v: format(target.value) })}${met === null ? '' : met ? ` (${t('dash_met')})` : ` (${t('dash_missed')})`}`) : null);
      // The chart's title and description come from the card, so screen readers hear the same words.
      const [svg, table] = chart(title, desc);
      const empty = !svg.querySelector('.mark');
      return h('section', { class: 'dash-card', id: `card-${kpi}`, 'aria-labelledby': `h-${kpi}` },
        h('h2', { id: `h-${kpi}` }, title), headline, empty ? h('p', { class: 'muted dash-empty' }, t('dash_no_figures')) : null,
        svg, legend(series, line), table);
    }
  }
}

/** Sums a grouped answer's values per group over the period: [[group, [sum per key]]], largest first. */
export function byGroup(answer, keys) {
  const sums = new Map();
  for (const r of answer.series ?? []) {
    const acc = sums.get(r.group) ?? keys.map(() => 0);
    keys.forEach((k, i) => { acc[i] += Number.isFinite(r.values[k]) ? r.values[k] : 0; });
    sums.set(r.group, acc);
  }
  return [...sums.entries()].sort((a, b) => b[1].reduce((x, y) => x + y, 0) - a[1].reduce((x, y) => x + y, 0));
}

/** Open threads per person in the newest bucket of a workload answer grouped by agent (absent = 0 open), busiest first. */
export function latestLoads(answer) {
  const rows = answer.series ?? [];
  const last = rows.reduce((m, r) => (r.bucket_start > m ? r.bucket_start : m), '');
  return rows.filter((r) => r.bucket_start === last && (r.values.open_threads ?? 0) > 0)
    .map((r) => [r.group, r.values.open_threads]).sort((a, b) => b[1] - a[1]);
}
