// The SLA countdown of a thread, as the inbox row shows it: "due in 45 min",
// "2 h overdue". Pure: the caller passes the server's time.
import { t, duration } from './i18n.js';

/** {text, state: 'overdue'|'soon'|'ok'|'none'} */
export function countdown(dueISO, nowMs) {
  if (!dueISO) return { text: t('no_deadline'), state: 'none' };
  const due = Date.parse(dueISO);
  const left = due - nowMs;
  if (left < 0) return { text: t('overdue_by', { d: duration(-left) }), state: 'overdue' };
  return { text: t('due_in', { d: duration(left) }), state: left < 30 * 60000 ? 'soon' : 'ok' };
}
