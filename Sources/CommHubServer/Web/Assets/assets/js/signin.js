// Signing in: e-mail and password, or Microsoft (Entra ID) when the server
// has it configured; and the page an invite link opens, where a person
// chooses their password.
import { h, replace } from './dom.js';
import { t, language, setLanguage } from './i18n.js';
import { get, post } from './api.js';

function languageSwitch() {
  return h('div', { class: 'signin-lang' },
    h('label', { for: 'signin-lang' }, t('language')),
    h('select', { id: 'signin-lang', onchange: (e) => { setLanguage(e.target.value); location.reload(); } },
      h('option', { value: 'nl', selected: language() === 'nl' }, 'Nederlands'),
      h('option', { value: 'en', selected: language() === 'en' }, 'English')));
}

function card(title, ...content) {
  return h('main', { id: 'main', class: 'signin' },
    h('div', { class: 'signin-card' },
      h('div', { class: 'signin-brand' }, h('img', { src: '/assets/icon.svg', alt: '', width: 40, height: 40 }), h('span', {}, 'CommHub')),
      h('h1', {}, title), ...content, languageSwitch()));
}

export async function showSignIn(root, done, errorCode) {
  let providers = { password: true, microsoft: false };
  try { providers = await get('/auth/providers'); } catch { /* password only */ }
  const error = h('p', { class: 'form-error', role: 'alert', id: 'signin-error' },
    errorCode ? t(`signin-error.${errorCode}`) : '');
  const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'signin-submit' }, t('signin'));
  const form = h('form', { class: 'stack', id: 'signin-form', novalidate: true },
    h('label', { for: 'email' }, t('email')), email,
    h('label', { for: 'password' }, t('password')), password, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      const session = await post('/auth/login', { email: email.value.trim(), password: password.value });
      await done(session);
    } catch (err) {
      error.textContent = err.message;
      submit.disabled = false;
      password.select();
    }
  });
  const microsoft = providers.microsoft
    ? [h('p', { class: 'or' }, t('or')), h('a', { class: 'button microsoft', href: '/auth/oidc/start', id: 'signin-microsoft' }, t('signin_microsoft'))]
    : [];
  replace(root, card(t('signin_title'), error, form, ...microsoft));
  root.removeAttribute('aria-busy');
  email.focus();
}

export async function showInvite(root, token, done) {
  let who;
  try {
    who = await post('/auth/invite/check', { token });
  } catch (err) {
    replace(root, card(t('invite_title'), h('p', { class: 'form-error', role: 'alert' }, err.message),
      h('a', { href: '/', class: 'button' }, t('signin'))));
    root.removeAttribute('aria-busy');
    return;
  }
  const error = h('p', { class: 'form-error', role: 'alert' });
  const password = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', minlength: 10, required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('invite_save'));
  const form = h('form', { class: 'stack' }, h('label', { for: 'new-password' }, t('new_password')), password, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      const session = await post('/auth/invite/accept', { token, password: password.value });
      history.replaceState(null, '', '/#/inbox');
      await done(session);
    } catch (err) {
      error.textContent = err.message;
      submit.disabled = false;
    }
  });
  replace(root, card(t('invite_title'), h('p', {}, t('invite_for', { name: who.name, email: who.email ?? '' })), error, form));
  root.removeAttribute('aria-busy');
  password.focus();
}
