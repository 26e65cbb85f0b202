// Switchyard console: the shared pieces (DOM helpers, the API client, the
// login, the router, the dry-run/apply dialog, problem display). Each page is
// its own file and registers itself in SY.pages; boot.js starts the app.
//
// Rules kept everywhere: text goes into the DOM as textContent (never
// innerHTML); the admin token lives in sessionStorage only.
'use strict';

const SY = (window.SY = { pages: {} });

(function () {
  const TOKEN_KEY = 'switchyard.adminToken';

  // ---- DOM -----------------------------------------------------------------

  // h('div', {class: 'x', text: 'y', onclick: fn, 'data-path': 'id'}, child...)
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    setProps(el, props);
    append(el, children);
    return el;
  }

  const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'type', 'placeholder', 'title', 'min', 'max', 'step', 'rows', 'name', 'id', 'htmlFor', 'autocomplete', 'open', 'colSpan', 'required', 'readOnly', 'spellcheck']);

  function setProps(el, props) {
    if (!props) return;
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false && !PROPS.has(k)) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = String(v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (PROPS.has(k)) el[k] = v;
      else el.setAttribute(k, String(v));
    }
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') el.textContent = String(v);
      else if (v !== undefined && v !== null) el.setAttribute(k, String(v));
    }
    append(el, children);
    return el;
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  // A labelled input with a hint; `path` is the field path problems name.
  function field(label, input, hint, path) {
    if (path) input.dataset.path = path;
    return h('label', null, label, input, hint ? h('p', { class: 'hint', text: hint }) : null);
  }

  function badge(text, kind) {
    return h('span', { class: 'badge ' + (kind || 'plain'), text });
  }

  // ---- formatting ------------------------------------------------------------

  function num(n, digits) {
    if (n === null || n === undefined || n === '') return '–';
    const x = Number(n);
    if (!Number.isFinite(x)) return String(n);
    return x.toLocaleString('en-US', { maximumFractionDigits: digits === undefined ? 0 : digits });
  }

  function usd(n) {
    if (n === null || n === undefined) return '–';
    const x = Number(n);
    if (!Number.isFinite(x)) return String(n);
    return '$' + (x !== 0 && Math.abs(x) < 0.01 ? x.toFixed(6) : x.toFixed(2));
  }

  // Milliseconds as "850 ms", "2.4 s", "3m 05s".
  function ms(n) {
    if (n === null || n === undefined) return '–';
    const x = Number(n);
    if (!Number.isFinite(x)) return String(n);
    if (x < 1000) return Math.round(x) + ' ms';
    if (x < 60000) return (x / 1000).toFixed(1) + ' s';
    return span(x / 1000);
  }

  // Seconds as "45s", "3m 05s", "2h 10m".
  function span(sec) {
    sec = Math.max(0, Math.floor(sec));
    if (sec < 60) return sec + 's';
    if (sec < 3600) return Math.floor(sec / 60) + 'm ' + String(sec % 60).padStart(2, '0') + 's';
    return Math.floor(sec / 3600) + 'h ' + String(Math.floor((sec % 3600) / 60)).padStart(2, '0') + 'm';
  }

  // A time as the API gives it (Unix seconds, Unix ms, or an ISO string) → ms.
  function toMillis(t) {
    if (t === null || t === undefined || t === '') return null;
    if (typeof t === 'number') return t < 1e11 ? t * 1000 : t;
    const n = Number(t);
    if (Number.isFinite(n)) return toMillis(n);
    const p = Date.parse(t);
    return Number.isNaN(p) ? null : p;
  }

  function clock(t) {
    const m = toMillis(t);
    if (m === null) return '–';
    const d = new Date(m);
    return d.toLocaleTimeString('en-GB', { hour12: false });
  }

  // "a, b\nc" → ['a', 'b', 'c']
  function words(text) {
    return String(text || '').split(/[\n,]+/).map((x) => x.trim()).filter(Boolean);
  }

  function lines(text) {
    return String(text || '').split('\n').map((x) => x.trim()).filter(Boolean);
  }

  // "5000" → 5000 (milliseconds), "5s" → "5s", "" → undefined
  function duration(text) {
    const t = String(text || '').trim();
    if (!t) return undefined;
    return /^\d+$/.test(t) ? Number(t) : t;
  }

  function intOrUndef(text) {
    const t = String(text || '').trim();
    if (!t) return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : t;
  }

  // ---- toast -----------------------------------------------------------------

  let toastTimer = null;
  function toast(message, bad) {
    const el = document.getElementById('toast');
    el.textContent = message;
    el.className = bad ? 'bad' : '';
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, bad ? 7000 : 3500);
  }

  // ---- the API ---------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || (typeof body === 'string' && body) || 'HTTP ' + status);
      this.status = status;
      this.code = e.code || null;
      this.param = e.param || null;
      this.problems = Array.isArray(e.problems) ? e.problems : [];
    }
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  }

  function authHeaders(extra) {
    const headers = Object.assign({}, extra || {});
    const t = token();
    if (t) headers.authorization = 'Bearer ' + t;
    return headers;
  }

  // JSON in and out; a 401 sends the user back to the login screen.
  async function api(method, path, body, extraHeaders) {
    const headers = authHeaders(extraHeaders);
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, { error: { message: 'the gateway cannot be reached (' + e.message + ')' } });
    }
    const text = await r.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = text; }
    }
    if (r.status === 401) {
      showLogin(SY.tokenRequired === false
        ? 'The gateway refused the request (401).'
        : 'The admin token was refused: log in again.');
      throw new ApiError(401, data);
    }
    if (!r.ok) throw new ApiError(r.status, data);
    SY.lastEtag = r.headers.get('etag');
    return data;
  }

  function withDryRun(path) {
    return path + (path.includes('?') ? '&' : '?') + 'dryRun=true';
  }

  const enc = encodeURIComponent;

  // ---- problems next to a form ---------------------------------------------

  function clearProblems(box, form) {
    if (box) clear(box);
    if (form) {
      for (const el of form.querySelectorAll('.invalid')) el.classList.remove('invalid');
      for (const el of form.querySelectorAll('.field-error')) el.remove();
    }
  }

  // "providers[1] (b).apiTokens[0]" → "apiTokens[0]"; the form's fields are
  // named relative to the object being edited.
  function relativePath(p) {
    return String(p || '').replace(/^(providers|routes|consumers|rateLimits)\[\d+\](\s*\([^)]*\))?\.?/, '');
  }

  function matchesPath(problemPath, fieldPath) {
    const p = relativePath(problemPath);
    if (!p || !fieldPath) return false;
    return p === fieldPath || p.startsWith(fieldPath + '.') || p.startsWith(fieldPath + '[');
  }

  // `heading`: what failed ("Not applied", the default, or "Could not load").
  function showProblems(box, form, err, heading) {
    clearProblems(box, form);
    const problems = err.problems || [];
    const what = heading || 'Not applied';
    if (box) {
      box.append(h('strong', { text: what + (err.status ? ' (' + err.status + (err.code ? ' ' + err.code : '') + '): ' : ': ') }),
        h('span', { text: err.message }));
      if (problems.length) {
        box.append(h('ul', null, problems.map((p) =>
          h('li', null, p.path ? [h('code', { text: p.path }), ' — '] : null, p.message || JSON.stringify(p)))));
      }
    }
    if (form) {
      for (const p of problems) {
        const targets = [...form.querySelectorAll('[data-path]')].filter((el) => matchesPath(p.path, el.dataset.path));
        // The most specific field the problem names.
        targets.sort((a, b) => b.dataset.path.length - a.dataset.path.length);
        const el = targets[0];
        if (!el) continue;
        el.classList.add('invalid');
        el.insertAdjacentElement('afterend', h('div', { class: 'field-error', text: p.message || '' }));
      }
    }
    if (!box) toast(err.message, true);
  }

  // ---- dialog ----------------------------------------------------------------

  // Resolves true (OK) or false (Cancel, Escape). `onOk` may return false or
  // throw to keep the dialog open (its error shows in the dialog).
  function dialog({ title, body, okText, cancelText, onOk }) {
    const dlg = document.getElementById('dialog');
    const ok = document.getElementById('dialog-ok');
    const cancel = document.getElementById('dialog-cancel');
    const err = document.getElementById('dialog-error');
    document.getElementById('dialog-title').textContent = title;
    clear(document.getElementById('dialog-body')).append(body);
    err.textContent = '';
    ok.textContent = okText || 'OK';
    ok.disabled = false;
    cancel.textContent = cancelText || 'Cancel';
    cancel.hidden = cancelText === null;
    return new Promise((resolve) => {
      let settled = false;
      const done = (v) => {
        if (settled) return;
        settled = true;
        ok.onclick = cancel.onclick = dlg.oncancel = dlg.onclose = null;
        if (dlg.open) dlg.close();
        // Nothing shown once (a new key) stays in the page.
        clear(document.getElementById('dialog-body'));
        resolve(v);
      };
      ok.onclick = async () => {
        if (!onOk) return done(true);
        ok.disabled = true;
        try {
          if ((await onOk()) !== false) return done(true);
        } catch (e) {
          err.textContent = e.message;
        }
        ok.disabled = false;
      };
      cancel.onclick = () => done(false);
      dlg.oncancel = (e) => { e.preventDefault(); done(false); };
      // Closed from elsewhere (the login screen after a 401): a cancel. A
      // late close event of the dialog before finds this one open: ignored.
      dlg.onclose = () => { if (!dlg.open) done(false); };
      dlg.showModal();
      ok.focus();
    });
  }

  // One entry of a `changes` list, whatever its shape.
  function describeChange(c) {
    if (c === null || c === undefined) return '';
    if (typeof c !== 'object') return String(c);
    const rest = Object.assign({}, c);
    const head = [];
    for (const k of ['op', 'action', 'kind', 'change', 'type', 'resource', 'path', 'id', 'name']) {
      if (typeof rest[k] === 'string' || typeof rest[k] === 'number') {
        head.push(String(rest[k]));
        delete rest[k];
      }
    }
    if (typeof rest.message === 'string') {
      head.push(rest.message);
      delete rest.message;
    }
    const more = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
    return head.join(' ') + more;
  }

  function changeList(changes) {
    const list = Array.isArray(changes) ? changes : [];
    if (!list.length) return h('p', { class: 'muted', text: 'No changes: the configuration would stay as it is.' });
    return h('ul', { class: 'changes' }, list.map((c) => h('li', { text: describeChange(c) })));
  }

  // The fields a write changes, compared in the browser (the gateway's
  // `changes` name the objects; this names the fields). Secrets masked.
  function flatten(v, prefix, out) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (!keys.length && prefix) out[prefix] = '{}';
      for (const k of keys) flatten(v[k], prefix ? prefix + '.' + k : k, out);
    } else if (Array.isArray(v) && v.some((x) => x && typeof x === 'object')) {
      v.forEach((x, i) => flatten(x, prefix + '[' + i + ']', out));
    } else if (v !== undefined) {
      out[prefix] = v;
    }
    return out;
  }

  const SECRET = /apiTokens|keys|token$|Token$|Key$|Secret/;
  function maskValue(path, v) {
    if (!SECRET.test(path)) return JSON.stringify(v);
    const one = (x) => {
      const t = String(x);
      if (t.includes('…') || t.startsWith('${') || t.startsWith('sha256:')) return t;
      return t.length > 8 ? t.slice(0, 3) + '…' + t.slice(-4) : '***';
    };
    return JSON.stringify(Array.isArray(v) ? v.map(one) : one(v));
  }

  function fieldDiff(before, after) {
    const a = flatten(before || {}, '', {});
    const b = flatten(after || {}, '', {});
    const out = [];
    for (const k of Object.keys(b)) {
      if (!(k in a)) out.push(['add', '+ ' + k + ': ' + maskValue(k, b[k])]);
      else if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(['chg', '~ ' + k + ': ' + maskValue(k, a[k]) + ' → ' + maskValue(k, b[k])]);
    }
    for (const k of Object.keys(a)) if (!(k in b)) out.push(['del', '- ' + k + ': ' + maskValue(k, a[k])]);
    return out;
  }

  function diffList(before, after) {
    const d = fieldDiff(before, after);
    if (!d.length) return null;
    return h('div', { class: 'diff' }, h('h3', { text: before ? 'Fields changed' : 'Fields' }),
      h('ul', { class: 'changes' }, d.map(([cls, text]) => h('li', { class: cls, text }))));
  }

  // Every config write: a dry run first, its `changes` shown with Apply and
  // Cancel; problems (of the dry run or the write) go next to the form.
  // Resolves to the write's answer, or null when cancelled or refused.
  async function write(method, path, body, opts) {
    const o = opts || {};
    clearProblems(o.problems, o.form);
    let preview;
    try {
      preview = await api(method, withDryRun(path), body, o.headers);
    } catch (e) {
      if (e.status !== 401) showProblems(o.problems, o.form, e);
      return null;
    }
    let result = null;
    const applied = await dialog({
      title: o.title || 'Apply this change?',
      body: h('div', null,
        h('p', { class: 'hint', text: method + ' ' + path + ' — checked by the gateway (dry run); nothing has changed yet.' }),
        changeList(preview && preview.changes),
        o.note ? h('p', { class: 'mono', text: o.note }) : null,
        body && typeof body === 'object' && o.diff !== false ? diffList(o.before, body) : null),
      okText: 'Apply',
      onOk: async () => {
        try {
          result = await api(method, path, body, o.headers);
        } catch (e) {
          if (e.status !== 401) showProblems(o.problems, o.form, e);
          if (e.problems && e.problems.length) return true; // shown by the form
          throw e;
        }
        return true;
      },
    });
    if (!applied || !result) return null;
    if (result.version) setVersion(result.version);
    if (!o.quiet) toast((o.title || 'Applied').replace(/\?$/, '') + ': done' + (result.persisted ? ', saved to the config file' : ''));
    return result;
  }

  // ---- login, router, timers -------------------------------------------------

  function setVersion(v) {
    const el = document.getElementById('version');
    el.textContent = v ? 'config ' + String(v).slice(0, 12) : '';
    el.title = v ? 'config version in force: ' + v : '';
  }

  function showLogin(message) {
    stopPage();
    sessionStorage.removeItem(TOKEN_KEY);
    document.getElementById('top').hidden = true;
    document.getElementById('page').hidden = true;
    document.getElementById('login').hidden = false;
    const dlg = document.getElementById('dialog');
    if (dlg.open) dlg.close();
    document.getElementById('login-message').textContent = message || '';
    const input = document.getElementById('login-token');
    input.value = '';
    input.focus();
  }

  async function login(ev) {
    ev.preventDefault();
    const input = document.getElementById('login-token');
    const msg = document.getElementById('login-message');
    const t = input.value.trim();
    if (!t) return;
    msg.textContent = '';
    let r;
    try {
      r = await fetch('/admin/providers', { headers: { authorization: 'Bearer ' + t }, cache: 'no-store' });
    } catch (e) {
      msg.textContent = 'The gateway cannot be reached: ' + e.message;
      return;
    }
    if (r.status === 401) {
      msg.textContent = 'That is not the admin token (401).';
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, t);
    showApp();
  }

  function logout() {
    showLogin(SY.tokenRequired ? 'Logged out.' : '');
    if (!SY.tokenRequired) showApp();
  }

  function showApp() {
    document.getElementById('login').hidden = true;
    document.getElementById('top').hidden = false;
    document.getElementById('page').hidden = false;
    document.getElementById('logout').hidden = !SY.tokenRequired;
    api('GET', '/admin/reload').then((r) => setVersion(r && (r.version || (r.current && r.current.version))), () => {});
    route();
  }

  // The page in view: its timers stop when another page (or login) replaces it.
  let current = { timers: [], alive: false };

  function stopPage() {
    current.alive = false;
    for (const t of current.timers) clearInterval(t);
    current.timers = [];
  }

  function route() {
    if (!document.getElementById('login').hidden) return;
    const name = (location.hash.replace(/^#\/?/, '').split('/')[0]) || 'providers';
    const page = SY.pages[name];
    if (!page) {
      location.hash = '#/providers';
      return;
    }
    stopPage();
    const ctx = { timers: [], alive: true };
    current = ctx;
    // Poll `fn` every `period` ms while the page is shown; never two at once.
    ctx.every = (period, fn) => {
      let busy = false;
      const tick = async () => {
        if (busy || !ctx.alive || document.hidden) return;
        busy = true;
        try { await fn(); } catch (e) { if (e.status !== 401) console.warn(e.message); } finally { busy = false; }
      };
      ctx.timers.push(setInterval(tick, period));
      tick();
    };
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.page === name);
    document.title = page.title + ' · Switchyard';
    const main = clear(document.getElementById('page'));
    try {
      page.mount(main, ctx);
    } catch (e) {
      main.append(h('p', { class: 'error', text: 'This page failed: ' + e.message }));
    }
  }

  async function boot() {
    document.getElementById('login-form').addEventListener('submit', login);
    document.getElementById('logout').addEventListener('click', logout);
    window.addEventListener('hashchange', route);
    SY.tokenRequired = true;
    try {
      const r = await fetch('/console/session.json', { cache: 'no-store' });
      if (r.ok) SY.tokenRequired = (await r.json()).tokenRequired !== false;
    } catch (_) { /* keep asking for the token */ }
    if (SY.tokenRequired && !token()) {
      showLogin('');
      return;
    }
    showApp();
  }

  // Loads a list resource (`{data: [...]}`) → array.
  async function list(path) {
    const r = await api('GET', path);
    return (r && Array.isArray(r.data)) ? r.data : (Array.isArray(r) ? r : []);
  }

  Object.assign(SY, {
    h, s, clear, field, badge, num, usd, ms, span, toMillis, clock, words, lines, duration, intOrUndef,
    toast, api, list, write, dialog, showProblems, clearProblems, changeList, enc, boot, ApiError,
    authHeaders, setVersion, showLogin, append: (el, ...children) => { append(el, children); return el; },
  });
})();
