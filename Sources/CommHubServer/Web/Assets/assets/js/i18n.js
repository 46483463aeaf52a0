// Interface text in Dutch and English from one table. The language follows
// the browser (navigator.languages) until the person picks one with the
// switch; the choice is kept in localStorage. Dates, times and durations go
// through Intl in the same language.

const M = {
  app_name: ['CommHub', 'CommHub'],
  skip_to_content: ['Naar de inhoud', 'Skip to content'],
  language: ['Taal', 'Language'],
  signin_title: ['Inloggen bij CommHub', 'Sign in to CommHub'],
  email: ['E-mailadres', 'Email address'],
  password: ['Wachtwoord', 'Password'],
  new_password: ['Nieuw wachtwoord (minstens 10 tekens)', 'New password (at least 10 characters)'],
  signin: ['Inloggen', 'Sign in'],
  signin_microsoft: ['Inloggen met Microsoft', 'Sign in with Microsoft'],
  or: ['of', 'or'],
  signout: ['Uitloggen', 'Sign out'],
  invite_title: ['Kies je wachtwoord', 'Choose your password'],
  invite_for: ['Uitnodiging voor {name} ({email})', 'Invitation for {name} ({email})'],
  invite_save: ['Wachtwoord opslaan en inloggen', 'Save password and sign in'],
  'signin-error.microsoft_not_configured': ['Inloggen met Microsoft is niet ingesteld.', 'Sign in with Microsoft is not set up.'],
  'signin-error.microsoft_unreachable': ['Microsoft is nu niet bereikbaar. Probeer het zo nog eens.', 'Microsoft cannot be reached right now. Try again shortly.'],
  'signin-error.microsoft_refused': ['Microsoft heeft het inloggen geweigerd.', 'Microsoft refused the sign-in.'],
  'signin-error.signin_expired': ['Het inloggen duurde te lang of is al gebruikt. Probeer opnieuw.', 'The sign-in took too long or was already used. Try again.'],
  'signin-error.token_invalid': ['Het antwoord van Microsoft klopte niet. Probeer opnieuw.', 'Microsoft\'s answer did not check out. Try again.'],
  'signin-error.token_exchange_failed': ['Microsoft gaf geen inlogbewijs. Probeer opnieuw.', 'Microsoft did not hand out a sign-in token. Try again.'],
  'signin-error.no_such_person': ['Er is geen collega met dit Microsoft-adres in CommHub.', 'No colleague in CommHub has this Microsoft address.'],
  inbox: ['Inbox', 'Inbox'],
  tasks: ['Taken', 'Tasks'],
  mentions: ['Vermeldingen', 'Mentions'],
  my_work: ['Mijn werk', 'My work'],
  filters: ['Filters', 'Filters'],
  f_all: ['Alles', 'All'], f_email: ['E-mail', 'Email'], f_whatsapp: ['WhatsApp', 'WhatsApp'], f_sms: ['SMS', 'SMS'],
  f_tasks: ['Taken', 'Tasks'], f_overdue: ['Te laat', 'Overdue'], f_mine: ['Van mij', 'Mine'], f_mentions: ['Vermeldingen', 'Mentions'],
  brand: ['Merk', 'Brand'], team: ['Team', 'Team'], status: ['Status', 'Status'], any: ['Alle', 'Any'],
  search: ['Zoeken', 'Search'], search_placeholder: ['Zoek in onderwerp, klant, ordernummer… ( / )', 'Search subject, customer, order… ( / )'],
  load_more: ['Meer laden', 'Load more'],
  no_threads: ['Geen gesprekken voor dit filter.', 'No threads for this filter.'],
  unassigned: ['Niet toegewezen', 'Unassigned'],
  unread: ['Ongelezen', 'Unread'],
  due_in: ['nog {d}', 'due in {d}'],
  overdue_by: ['{d} te laat', '{d} overdue'],
  no_deadline: ['geen deadline', 'no deadline'],
  priority: ['Prioriteit', 'Priority'], type: ['Soort', 'Type'], assignee: ['Behandelaar', 'Assignee'], tags: ['Labels', 'Tags'],
  save: ['Opslaan', 'Save'], cancel: ['Annuleren', 'Cancel'], close: ['Sluiten', 'Close'], back: ['Terug', 'Back'],
  customer: ['Klant', 'Customer'], organisation: ['Organisatie', 'Organisation'], partner: ['Partner', 'Partner'], order: ['Order', 'Order'],
  other_threads: ['Andere gesprekken van deze klant', 'This customer\'s other threads'],
  order_view: ['Alles over order {n}', 'Everything about order {n}'],
  open_order: ['Orderoverzicht', 'Order view'],
  notes: ['Interne notities', 'Internal notes'],
  reply: ['Antwoord', 'Reply'], internal_note: ['Interne notitie', 'Internal note'], send: ['Versturen', 'Send'], add_note: ['Notitie plaatsen', 'Add note'],
  channel: ['Kanaal', 'Channel'], template: ['Sjabloon', 'Template'], no_template: ['Geen sjabloon', 'No template'],
  suggested: ['Voorgesteld', 'Suggested'], preview: ['Voorbeeld', 'Preview'], variables: ['Variabelen', 'Variables'],
  message: ['Bericht', 'Message'], attach: ['Bijlage toevoegen', 'Attach a file'], remove: ['Verwijderen', 'Remove'],
  wa_open_until: ['WhatsApp-venster open tot {t}', 'WhatsApp window open until {t}'],
  wa_closed: ['WhatsApp-venster gesloten: alleen goedgekeurde sjablonen kunnen worden verstuurd.', 'WhatsApp window closed: only approved templates can be sent.'],
  wa_never: ['De klant heeft nog niet via WhatsApp geschreven: alleen goedgekeurde sjablonen.', 'The customer never wrote on WhatsApp: approved templates only.'],
  log_call: ['Gesprek vastleggen', 'Log a call'], direction: ['Richting', 'Direction'], inbound: ['Inkomend', 'Inbound'], outbound: ['Uitgaand', 'Outbound'],
  minutes: ['Minuten', 'Minutes'], call_notes: ['Gespreksnotities', 'Call notes'],
  add_task: ['Taak toevoegen', 'Add a task'], task_title: ['Taak', 'Task'], due_date: ['Vervaldatum', 'Due date'], due_time: ['Tijd', 'Time'],
  complete: ['Afronden', 'Complete'], completion_notes: ['Afrondingsnotitie', 'Completion notes'], completed: ['Afgerond', 'Completed'],
  resend: ['Opnieuw versturen', 'Send again'], delivery_unknown: ['Onbekend of dit is aangekomen', 'Unknown whether this arrived'],
  d_pending: ['In de wachtrij', 'Queued'], d_sent: ['Verstuurd', 'Sent'], d_delivered: ['Afgeleverd', 'Delivered'], d_read: ['Gelezen', 'Read'],
  d_failed: ['Mislukt', 'Failed'], d_bounced: ['Teruggestuurd', 'Bounced'],
  mt_incoming: ['Klant', 'Customer'], mt_outgoing: ['Wij', 'Us'], mt_internal_note: ['Interne notitie', 'Internal note'],
  mt_system_notification: ['Systeem', 'System'], mt_auto_response: ['Automatisch antwoord', 'Auto-response'],
  tasks_mine: ['Mijn taken', 'My tasks'], tasks_team: ['Taken van mijn team', 'My team\'s tasks'],
  due_today: ['Vandaag', 'Due today'], overdue: ['Te laat', 'Overdue'], later: ['Later', 'Later'], no_tasks: ['Geen open taken.', 'No open tasks.'],
  linked_thread: ['Gesprek openen', 'Open thread'],
  more_notifications: ['En nog {n} meldingen', 'And {n} more notifications'],
  open_inbox: ['Inbox openen', 'Open inbox'],
  notifications: ['Meldingen', 'Notifications'], enable_notifications: ['Meldingen aanzetten', 'Turn on notifications'],
  notifications_on: ['Meldingen staan aan', 'Notifications are on'], push_test: ['Testmelding sturen', 'Send a test notification'],
  live: ['Live', 'Live'], offline: ['Verbinding verbroken, opnieuw verbinden…', 'Connection lost, reconnecting…'],
  reloaded: ['Bijgewerkt na onderbreking', 'Refreshed after an interruption'],
  new_thread_live: ['Nieuw gesprek: {s}', 'New thread: {s}'], new_message_live: ['Nieuw bericht in {s}', 'New message in {s}'],
  mentioned_you: ['{who} noemde je in {s}', '{who} mentioned you in {s}'],
  sla_alert: ['Deadline-waarschuwing: {s}', 'Deadline alert: {s}'], task_reminder: ['Herinnering: {s}', 'Reminder: {s}'],
  urgent_thread: ['Urgent: {s}', 'Urgent: {s}'],
  shortcuts: ['Sneltoetsen', 'Keyboard shortcuts'],
  shortcuts_help: ['j/k volgende/vorige · Enter openen · r antwoorden · e afhandelen · a toewijzen · / zoeken · ? hulp', 'j/k next/previous · Enter open · r reply · e resolve · a assign · / search · ? help'],
  resolve: ['Afhandelen', 'Resolve'], assign_to_me: ['Aan mij toewijzen', 'Assign to me'],
  take_photo: ['Foto maken', 'Take a photo'], dictate: ['Inspreken', 'Dictate'], listening: ['Luistert…', 'Listening…'],
  quick_status: ['Status in één tik', 'One-tap status'], template_shortcuts: ['Snelle sjablonen', 'Template shortcuts'],
  on_my_way: ['Onderweg', 'On my way'], on_site: ['Ter plaatse', 'On site'], done: ['Klaar', 'Done'],
  photo_sent: ['Foto geplaatst', 'Photo added'], sent_ok: ['Verstuurd', 'Sent'], saved: ['Opgeslagen', 'Saved'],
  error: ['Er ging iets mis: {m}', 'Something went wrong: {m}'],
  mention_hint: ['Typ @ om een collega te noemen', 'Type @ to mention a colleague'],
  timeline: ['Tijdlijn', 'Timeline'], details: ['Gegevens', 'Details'],
  sender_us: ['{name}', '{name}'], attachment: ['Bijlage', 'Attachment'],
  me: ['ik', 'me'], loading: ['Laden…', 'Loading…'], not_found: ['Niet gevonden', 'Not found'],
  mail_html: ['E-mail zoals verstuurd (zonder scripts en externe inhoud)', 'Mail as sent (no scripts, no remote content)'],
  call_summary: ['Telefoongesprek, {m} min', 'Phone call, {m} min'],
  older_messages: ['Oudere berichten tonen', 'Show older messages'],
  mine_short: ['Mijn gesprekken', 'My threads'],
  dashboard: ['Dashboard', 'Dashboard'],
  dash_period: ['Periode', 'Period'], dash_day: ['1 dag', '1 day'], dash_days: ['{n} dagen', '{n} days'],
  dash_own_figures: ['Je ziet je eigen cijfers.', 'You see your own figures.'],
  dash_no_figures: ['Nog geen cijfers in deze periode.', 'No figures in this period yet.'],
  dash_updated: ['Bijgewerkt om {t}', 'Updated at {t}'],
  dash_target: ['doel {v}', 'target {v}'], dash_met: ['gehaald', 'met'], dash_missed: ['niet gehaald', 'missed'],
  dash_median: ['Mediaan', 'Median'], dash_p90: ['90e percentiel', '90th percentile'],
  dash_response_times: ['Eerste reactietijd', 'First response time'],
  dash_response_desc: ['Mediaan en 90e percentiel van de eerste reactie per periode; de kop is de mediaan over de hele periode.', 'Median and 90th percentile of the first response per bucket; the headline is the median over the whole period.'],
  dash_sla: ['SLA-naleving', 'SLA compliance'], dash_compliance: ['Deadlines gehaald', 'Deadlines met'],
  dash_sla_desc: ['Aandeel deadlines gehaald per periode, met het doel als stippellijn.', 'Share of deadlines met per bucket, with the target as a dashed line.'],
  dash_volume: ['Volume per kanaal', 'Volume by channel'],
  dash_volume_desc: ['Inkomende en uitgaande berichten per kanaal over de periode.', 'Inbound and outbound messages per channel over the period.'],
  dash_workload: ['Werkverdeling', 'Workload'], dash_open_threads: ['Open gesprekken', 'Open threads'],
  dash_workload_desc: ['Open gesprekken per collega nu (de drukste eerst); Gini 0 is een gelijke verdeling.', 'Open threads per person now (busiest first); Gini 0 is an even spread.'],
  dash_escalations: ['Escalaties', 'Escalations'], dash_escalation_count: ['Escalaties', 'Escalations'],
  dash_escalation_desc: ['Aantal escalaties per periode; de kop is het aantal escalaties per nieuw gesprek over de hele periode.', 'Escalations per bucket; the headline is escalations per thread opened over the whole period.'],
  dash_fcr: ['Opgelost bij eerste contact', 'First contact resolution'], dash_fcr_rate: ['Bij eerste contact', 'At first contact'],
  dash_fcr_desc: ['Aandeel afgehandelde gesprekken met één antwoord en niet heropend, met het doel als stippellijn.', 'Share of resolutions with one reply and never reopened, with the target as a dashed line.'],
  dash_templates: ['Sjabloongebruik', 'Template usage'], dash_template_share: ['Uit een sjabloon', 'From a template'],
  dash_templates_desc: ['Aandeel uitgaande berichten uit een sjabloon, met het doel als stippellijn.', 'Share of outgoing messages sent from a template, with the target as a dashed line.'],
  dash_csat: ['Klanttevredenheid', 'Customer satisfaction'], dash_csat_average: ['Gemiddelde (1–5)', 'Average (1–5)'],
  dash_csat_desc: ['Gemiddelde CSAT-score per periode, met het doel als stippellijn.', 'Average CSAT score per bucket, with the target as a dashed line.'],
  dash_cost: ['Kosten', 'Cost'],
  dash_cost_desc: ['Kosten van verstuurde berichten per kanaal over de periode.', 'Cost of messages sent per channel over the period.'],
};

const ENUMS = {
  priority: { low: ['laag', 'low'], normal: ['normaal', 'normal'], high: ['hoog', 'high'], urgent: ['urgent', 'urgent'], critical: ['kritiek', 'critical'] },
  status: {
    open: ['open', 'open'], in_progress: ['in behandeling', 'in progress'], waiting_customer: ['wacht op klant', 'waiting for customer'],
    waiting_internal: ['wacht intern', 'waiting internally'], escalated: ['geëscaleerd', 'escalated'], resolved: ['afgehandeld', 'resolved'], closed: ['gesloten', 'closed'],
  },
  thread_type: {
    customer_support: ['klantenservice', 'customer support'], partner_inquiry: ['partnervraag', 'partner inquiry'],
    installation_coordination: ['installatieplanning', 'installation coordination'], technical_issue: ['technisch probleem', 'technical issue'],
    sales_inquiry: ['verkoopvraag', 'sales inquiry'], complaint: ['klacht', 'complaint'], internal_task: ['interne taak', 'internal task'],
    project_discussion: ['projectoverleg', 'project discussion'],
  },
  channel_type: {
    email_outlook: ['e-mail', 'email'], whatsapp_business: ['WhatsApp', 'WhatsApp'], sms: ['SMS', 'SMS'], phone_call: ['telefoon', 'phone'],
    internal_comment: ['intern', 'internal'], internal_task: ['taak', 'task'], internal_ticket: ['ticket', 'ticket'],
  },
};

let lang = pickLanguage();

function pickLanguage() {
  const chosen = localStorage.getItem('commhub.lang');
  if (chosen === 'nl' || chosen === 'en') return chosen;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    if (l.toLowerCase().startsWith('nl')) return 'nl';
    if (l.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

export function language() { return lang; }

export function setLanguage(l) {
  lang = l === 'nl' ? 'nl' : 'en';
  localStorage.setItem('commhub.lang', lang);
  document.documentElement.lang = lang;
}

/** t('due_in', {d: '45 min'}) */
export function t(key, vars = {}) {
  const entry = M[key];
  let s = entry ? entry[lang === 'nl' ? 0 : 1] : key;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, v);
  return s;
}

/** The label of a contract enum value: te('priority', 'high'). */
export function te(kind, value) {
  const e = ENUMS[kind]?.[value];
  return e ? e[lang === 'nl' ? 0 : 1] : String(value ?? '').replaceAll('_', ' ');
}

export function enumValues(kind) { return Object.keys(ENUMS[kind] || {}); }

/** "2 h", "45 min", "3 d" in the current language (Intl unit formatting). */
export function duration(ms) {
  const minutes = Math.max(0, Math.round(Math.abs(ms) / 60000));
  const style = { style: 'unit', unitDisplay: 'short' };
  if (minutes < 60) return new Intl.NumberFormat(lang, { ...style, unit: 'minute' }).format(minutes);
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    const rest = minutes % 60;
    const hText = new Intl.NumberFormat(lang, { ...style, unit: 'hour' }).format(hours);
    return hours < 10 && rest ? `${hText} ${new Intl.NumberFormat(lang, { ...style, unit: 'minute' }).format(rest)}` : hText;
  }
  return new Intl.NumberFormat(lang, { ...style, unit: 'day' }).format(Math.floor(hours / 24));
}

export function dateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const sameDay = d.toDateString() === new Date().toDateString();
  return new Intl.DateTimeFormat(lang, sameDay ? { hour: '2-digit', minute: '2-digit' }
    : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(d);
}

export function dateOnly(isoDate) {
  if (!isoDate) return '';
  const [y, m, d] = isoDate.split('-').map(Number);
  return new Intl.DateTimeFormat(lang, { weekday: 'short', day: 'numeric', month: 'short' }).format(new Date(y, m - 1, d));
}
