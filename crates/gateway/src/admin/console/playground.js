// Playground: one chat through the whole gateway (routing, limits, fallback),
// streamed by default; the answer is drawn delta by delta as SSE arrives.
// Endpoint: POST /admin/playground/v1/chat/completions (a consumer key, if
// given, goes as x-api-key; the admin token is stripped by the gateway).
'use strict';

(function () {
  const { h, clear, badge, num, ms, list } = SY;

  SY.pages.playground = { title: 'Playground', mount };

  // Kept while the tab lives (not the consumer key: it is re-typed).
  const last = { model: '', message: 'Hello! Who are you?', system: '', stream: true };

  function mount(main, ctx) {
    const models = h('datalist', { id: 'pg-models' });
    const modelIn = h('input', { id: 'pg-model', value: last.model, placeholder: 'e.g. gpt-4o-mini', list: 'pg-models', autocomplete: 'off' });
    const keyIn = h('input', { id: 'pg-key', type: 'password', autocomplete: 'off', placeholder: 'only when consumers are configured' });
    const systemIn = h('textarea', { id: 'pg-system', rows: 2, value: last.system, placeholder: 'optional' });
    const msgIn = h('textarea', { id: 'pg-message', rows: 6, value: last.message });
    const streamIn = h('input', { type: 'checkbox', id: 'pg-stream', checked: last.stream });
    const maxIn = h('input', { id: 'pg-max-tokens', type: 'number', min: 1, placeholder: 'provider default' });
    const send = h('button', { type: 'submit', class: 'primary', id: 'pg-send', text: 'Send' });
    const stop = h('button', { type: 'button', id: 'pg-stop', text: 'Stop', disabled: true });
    const output = h('div', { id: 'pg-output', 'aria-live': 'polite' });
    const status = h('div', { id: 'pg-status', class: 'muted' });
    const meta = h('div', { class: 'meta', id: 'pg-meta' });
    let controller = null;

    const form = h('form', { class: 'card', id: 'pg-form' },
      h('h2', { text: 'Request' }),
      SY.field('Model', modelIn, 'The model a client would ask for; routes decide where it goes.'),
      models,
      SY.field('Consumer key', keyIn, 'Sent as x-api-key, as a client would.'),
      SY.field('System prompt', systemIn),
      SY.field('Message', msgIn),
      h('div', { class: 'grid2' },
        h('label', { class: 'inline' }, streamIn, 'Stream'),
        SY.field('Max tokens', maxIn)),
      h('div', { class: 'form-actions' }, send, stop));

    main.append(
      h('div', { class: 'toolbar' }, h('h1', { text: 'Playground' })),
      h('p', { class: 'hint', text: 'Sends a chat completion through the gateway exactly as a client would, so the route, model mapping, limits, retries and fallbacks all apply.' }),
      h('div', { class: 'playground' }, form,
        h('div', { class: 'card' }, h('h2', { text: 'Answer' }), status, output, meta)));

    // Model suggestions: literal route patterns and mapping keys.
    Promise.all([list('/admin/routes').catch(() => []), list('/admin/providers').catch(() => [])]).then(([routes, providers]) => {
      const names = new Set();
      for (const r of routes) for (const m of r.models || []) if (!/[*?]/.test(m)) names.add(m);
      for (const p of providers) for (const k of Object.keys(p.modelMapping || {})) if (!/[*?~]/.test(k)) names.add(k);
      for (const n of names) models.append(h('option', { value: n }));
      if (!modelIn.value && names.size) modelIn.value = [...names][0];
    });

    function finish() {
      controller = null;
      send.disabled = false;
      stop.disabled = true;
    }

    stop.addEventListener('click', () => { if (controller) controller.abort(); });

    function showMeta(res, extra) {
      const items = [];
      const hdr = (name, label) => { const v = res.headers.get(name); if (v) items.push([label, v]); };
      items.push(['status', String(res.status)]);
      hdr('x-switchyard-provider', 'provider');
      hdr('x-switchyard-model', 'model sent');
      hdr('x-switchyard-fallback-from', 'fallback from');
      hdr('x-request-id', 'request id');
      for (const e of extra) items.push(e);
      clear(meta).append(h('dl', { class: 'kv' }, items.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])));
    }

    function usageText(u) {
      if (!u) return null;
      return num(u.prompt_tokens) + ' in / ' + num(u.completion_tokens) + ' out';
    }

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (controller) return;
      last.model = modelIn.value.trim();
      last.message = msgIn.value;
      last.system = systemIn.value;
      last.stream = streamIn.checked;
      if (!last.model) { modelIn.focus(); return; }
      const messages = [];
      if (last.system.trim()) messages.push({ role: 'system', content: last.system });
      messages.push({ role: 'user', content: last.message });
      const body = { model: last.model, messages, stream: last.stream };
      if (last.stream) body.stream_options = { include_usage: true };
      const max = SY.intOrUndef(maxIn.value);
      if (max !== undefined) body.max_tokens = max;
      const headers = SY.authHeaders({ 'content-type': 'application/json' });
      if (keyIn.value.trim()) headers['x-api-key'] = keyIn.value.trim();

      clear(output);
      clear(meta);
      output.classList.remove('error');
      status.textContent = 'Waiting for the first token…';
      delete status.dataset.done;
      send.disabled = true;
      stop.disabled = false;
      controller = new AbortController();
      const t0 = performance.now();
      let firstAt = null;
      let res;
      try {
        res = await fetch('/admin/playground/v1/chat/completions', { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal, cache: 'no-store' });
      } catch (e) {
        status.textContent = e.name === 'AbortError' ? 'Stopped.' : 'The gateway cannot be reached: ' + e.message;
        finish();
        return;
      }
      const ctype = res.headers.get('content-type') || '';
      if (!res.ok || !ctype.includes('text/event-stream')) {
        const text = await res.text().catch(() => '');
        let data = null;
        try { data = JSON.parse(text); } catch (_) { /* not JSON */ }
        if (res.ok && data && data.choices) {
          const m = data.choices[0] && data.choices[0].message;
          output.textContent = (m && (m.content || (m.tool_calls && JSON.stringify(m.tool_calls, null, 2)))) || '';
          status.textContent = 'Done in ' + ms(performance.now() - t0) + '.';
          status.dataset.done = 'true';
          showMeta(res, [['finish reason', (data.choices[0] || {}).finish_reason || '–'], ['usage', usageText(data.usage) || '–']]);
        } else if (res.status === 401 && data && data.error && data.error.code === 'invalid_admin_token') {
          SY.showLogin('The admin token was refused: log in again.');
        } else {
          output.classList.add('error');
          output.textContent = (data && data.error && data.error.message) || text || 'HTTP ' + res.status;
          status.textContent = '';
          status.append(badge(String(res.status), 'bad'), ' ', (data && data.error && data.error.code) || 'error');
          showMeta(res, []);
        }
        finish();
        return;
      }

      // SSE: events end with a blank line; `data:` lines carry JSON chunks.
      showMeta(res, []);
      status.textContent = 'Streaming…';
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      let usage = null;
      let finishReason = null;
      let chunks = 0;
      const handle = (data) => {
        if (data === '[DONE]') return;
        let obj;
        try { obj = JSON.parse(data); } catch (_) { return; }
        if (obj.error) {
          output.append(h('div', { class: 'error', text: '\n[' + (obj.error.code || 'error') + '] ' + (obj.error.message || '') }));
          return;
        }
        if (obj.usage) usage = obj.usage;
        for (const c of obj.choices || []) {
          const d = c.delta || {};
          const text = d.content || d.reasoning_content || '';
          if (text) {
            if (firstAt === null) firstAt = performance.now();
            output.append(document.createTextNode(text));
            chunks++;
          }
          if (d.tool_calls) output.append(document.createTextNode(JSON.stringify(d.tool_calls)));
          if (c.finish_reason) finishReason = c.finish_reason;
        }
      };
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += decoder.decode(value, { stream: true });
          let m;
          while ((m = /\r?\n\r?\n/.exec(buf))) {
            const event = buf.slice(0, m.index);
            buf = buf.slice(m.index + m[0].length);
            const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
            if (data) handle(data);
          }
          if (!ctx.alive) { controller.abort(); break; }
        }
        status.textContent = 'Done in ' + ms(performance.now() - t0) + (firstAt !== null ? ', first token after ' + ms(firstAt - t0) : '') + '.';
        status.dataset.done = 'true';
      } catch (e) {
        status.textContent = e.name === 'AbortError' ? 'Stopped.' : 'The stream broke: ' + e.message;
      }
      showMeta(res, [['chunks', String(chunks)], ['finish reason', finishReason || '–'], ['usage', usageText(usage) || '–']]);
      finish();
    });
  }
})();
