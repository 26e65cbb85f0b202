// Requests: the latest access-log records, newest first; a click opens one
// (attempts, fallback, tokens, cost, routing, then every other field).
// Endpoint: GET /admin/requests?limit=100 (every 3 s).
'use strict';

(function () {
  const { h, clear, badge, num, usd, ms, clock, api } = SY;

  SY.pages.requests = { title: 'Requests', mount };

  const pick = (r, ...keys) => {
    for (const k of keys) if (r[k] !== undefined && r[k] !== null) return r[k];
    return undefined;
  };

  function statusBadge(st) {
    const n = Number(st);
    return badge(st === undefined ? '?' : String(st), n >= 500 ? 'bad' : n >= 400 ? 'warn' : n > 0 ? 'ok' : 'plain');
  }

  function value(v) {
    if (v === null || v === undefined) return '–';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function kv(entries) {
    return h('dl', { class: 'kv' }, entries.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: value(v) })]));
  }

  // A table over objects whose fields are not known in advance.
  function genericTable(rows) {
    const cols = [];
    for (const r of rows) for (const k of Object.keys(r || {})) if (!cols.includes(k)) cols.push(k);
    return h('table', null,
      h('thead', null, h('tr', null, h('th', { text: '#' }), cols.map((c) => h('th', { text: c })))),
      h('tbody', null, rows.map((r, i) => h('tr', null, h('td', { text: String(i + 1) }),
        cols.map((c) => h('td', { class: c === 'status' ? '' : 'mono' }, c === 'status' ? statusBadge(r[c]) : value(r[c])))))));
  }

  // Why the request went where it went, in words: the route that took it,
  // each attempt (provider, credential, model sent, outcome), the fallback.
  function why(r) {
    const req = pick(r, 'requested_model');
    const out = [];
    if (r.route) {
      out.push('Route “' + r.route + '” took ' + (req ? 'model ' + req : 'this request') +
        (r.consumer ? ' for consumer ' + r.consumer : '') + '.');
    } else {
      out.push('No route took this request' + (r.error ? ': ' + value(r.error) : '') + '.');
    }
    const atts = Array.isArray(r.attempts) ? r.attempts : [];
    atts.forEach((a, i) => {
      const as = a.model && a.model !== req ? ' as ' + a.model : '';
      const outcome = a.error ? a.error : (a.status ? 'HTTP ' + a.status : 'no answer');
      const next = i + 1 < atts.length ? (atts[i + 1].provider !== a.provider ? ', so it fell back' : ', so it retried') : '';
      out.push('Attempt ' + (i + 1) + ': ' + a.provider + ' with ' + a.credential + as + ' → ' + outcome + next + '.');
    });
    if (r.fallback_from) out.push('Served by ' + value(r.provider) + ' after falling back from ' + r.fallback_from + '.');
    return out.join(' ');
  }

  function detail(r) {
    const shown = new Set();
    const take = (keys) => keys.filter((k) => r[k] !== undefined).map((k) => { shown.add(k); return [k, r[k]]; });
    const sections = [h('div', { class: 'why' }, h('h3', { text: 'Why here' }), h('p', { text: why(r) }))];

    const routing = take(['route', 'provider', 'requested_model', 'model', 'response_model', 'consumer', 'fallback_from']);
    for (const k of Object.keys(r)) if (/reason|routing|why/i.test(k) && !/finish|token/.test(k) && !shown.has(k)) routing.push(...take([k]));
    sections.push(h('div', null, h('h3', { text: 'Routing' }), routing.length ? kv(routing) : h('p', { class: 'muted', text: 'not recorded' })));

    const attempts = Array.isArray(r.attempts) ? r.attempts : null;
    shown.add('attempts');
    sections.push(h('div', null, h('h3', { text: 'Attempts' + (attempts ? ' (' + attempts.length + ')' : '') }),
      attempts && attempts.length ? genericTable(attempts) : h('p', { class: 'muted', text: 'none (answered by the gateway itself, or from cache)' })));

    const usage = take(Object.keys(r).filter((k) => /token|cost|usd|price/i.test(k) && !/duration/.test(k)));
    if (usage.length) sections.push(h('div', null, h('h3', { text: 'Tokens and cost' }), kv(usage)));

    const timing = take(Object.keys(r).filter((k) => /duration|overhead|latency|ttft/i.test(k)));
    if (timing.length) sections.push(h('div', null, h('h3', { text: 'Timing (ms)' }), kv(timing)));

    const rest = Object.keys(r).filter((k) => !shown.has(k)).map((k) => [k, r[k]]);
    if (rest.length) sections.push(h('div', null, h('h3', { text: 'Everything else' }), kv(rest)));
    return h('div', { class: 'request-detail' }, sections);
  }

  function mount(main, ctx) {
    const open = new Set();
    let records = [];
    let paused = false;
    const problems = h('div', { class: 'problems', role: 'alert' });
    const body = h('tbody');
    const count = h('span', { class: 'muted' });
    const pause = h('input', { type: 'checkbox', id: 'req-pause', onchange: (e) => { paused = e.target.checked; } });
    let filter = '';
    const filterIn = h('input', { id: 'req-filter', type: 'search', placeholder: 'Filter: model, status, provider, request id…',
      oninput: (e) => { filter = e.target.value.trim().toLowerCase(); render(); } });
    main.append(
      h('div', { class: 'toolbar' }, h('h1', { text: 'Requests' }), filterIn, count,
        h('label', { class: 'inline' }, pause, 'Pause updates')),
      h('p', { class: 'hint', text: 'The last 100 requests, newest first, refreshed every 3 s. Click a row for its attempts, fallbacks, tokens, cost and routing.' }),
      problems,
      h('div', { class: 'card' }, h('table', { id: 'request-table' },
        h('thead', null, h('tr', null, ['time', 'status', 'model', 'route', 'provider', 'consumer', 'tokens in / out', 'cost', 'duration', 'attempts'].map((t) =>
          h('th', { class: /tokens|cost|duration|attempts/.test(t) ? 'num' : '', text: t })))),
        body)));

    const keyOf = (r, i) => String(pick(r, 'request_id', 'requestId', 'id') || pick(r, 'time') + ':' + i);

    function render() {
      clear(body);
      const shown = filter ? records.filter((r) => JSON.stringify(r).toLowerCase().includes(filter)) : records;
      count.textContent = shown.length + (filter ? ' of ' + records.length : '') + ' shown';
      if (!shown.length) {
        body.append(h('tr', null, h('td', { colSpan: 10, class: 'empty', text: records.length ? 'No request matches the filter.' : 'No requests yet. Send one from the Playground.' })));
        return;
      }
      shown.forEach((r, i) => {
        const key = keyOf(r, i);
        const requested = pick(r, 'requested_model', 'requestedModel');
        const sent = pick(r, 'model');
        const tin = pick(r, 'input_token', 'inputTokens', 'input_tokens');
        const tout = pick(r, 'output_token', 'outputTokens', 'output_tokens');
        const atts = Array.isArray(r.attempts) ? r.attempts.length : undefined;
        const row = h('tr', { class: 'clickable', 'data-request': key, title: 'Click for details',
          onclick: () => { if (open.has(key)) open.delete(key); else open.add(key); render(); } },
          h('td', { text: clock(pick(r, 'time', 'timestamp')) }),
          h('td', null, statusBadge(r.status), r.error ? ' ' : null, r.error ? h('span', { class: 'error', text: typeof r.error === 'string' ? r.error : value(r.error.code || r.error) }) : null),
          h('td', { text: requested && sent && requested !== sent ? requested + ' → ' + sent : (requested || sent || '–') }),
          h('td', { text: value(r.route) }),
          h('td', null, value(r.provider), r.fallback_from ? ' ' : null, r.fallback_from ? badge('fallback', 'warn') : null),
          h('td', { text: value(r.consumer) }),
          h('td', { class: 'num', text: num(tin) + ' / ' + num(tout) }),
          h('td', { class: 'num', text: usd(pick(r, 'cost_usd', 'costUsd', 'cost')) }),
          h('td', { class: 'num', text: ms(pick(r, 'duration', 'durationMs')) }),
          h('td', { class: 'num', text: atts === undefined ? '–' : String(atts) }));
        body.append(row);
        if (open.has(key)) body.append(h('tr', { class: 'detail' }, h('td', { colSpan: 10 }, detail(r))));
      });
    }

    async function refresh() {
      if (paused) return;
      let r;
      try {
        r = await api('GET', '/admin/requests?limit=100');
        SY.clearProblems(problems);
      } catch (e) {
        if (e.status !== 401) SY.showProblems(problems, null, e, 'Could not load');
        return;
      }
      if (!ctx.alive) return;
      records = (r && Array.isArray(r.data)) ? r.data : [];
      render();
    }

    ctx.every(3000, refresh);
  }
})();
