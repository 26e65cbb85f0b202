// Providers: the list, the add/edit form (type from the catalog, tokens,
// failover, retries) and the live health of every credential.
// Endpoints: GET/POST /admin/providers, GET/PUT/DELETE /admin/providers/{id},
// POST/DELETE /admin/providers/{id}/tokens[/{i}], GET /admin/catalog,
// GET /admin/credentials (every 2 s).
'use strict';

(function () {
  const { h, clear, field, badge, num, span, toMillis, lines, duration, intOrUndef, api, list, write, enc } = SY;

  SY.pages.providers = { title: 'Providers', mount };

  // Used when GET /admin/catalog is not available.
  const FALLBACK_TYPES = ['openai', 'azure', 'claude', 'gemini', 'vertex', 'bedrock', 'deepseek', 'qwen', 'moonshot',
    'zhipuai', 'baidu', 'doubao', 'groq', 'grok', 'mistral', 'minimax', 'openrouter', 'together-ai', 'fireworks',
    'ollama', 'vllm', 'generic'];

  // Fields the form always has; the catalog's other fields get inputs of their own.
  const COMMON = new Set(['id', 'type', 'apiTokens', 'baseUrl', 'modelMapping', 'failover', 'retryOnFailure']);

  const HINTS = {
    providerDomain: 'Overrides the host only.',
    providerBasePath: 'A prefix put before the provider\'s paths.',
    azureServiceUrl: 'https://RES.openai.azure.com/openai/deployments/DEP/chat/completions?api-version=V, or https://RES.openai.azure.com?api-version=V',
    openaiCustomUrl: 'An OpenAI-compatible URL; a trailing /chat/completions is stripped.',
    qwenDomain: 'DashScope host, e.g. dashscope-intl.aliyuncs.com',
    ollamaServerHost: 'Default 127.0.0.1',
    ollamaServerPort: 'Default 11434',
    claudeVersion: 'The anthropic-version header; default 2023-06-01',
    awsRegion: 'e.g. us-east-1',
    awsAccessKey: 'Or put Bedrock API keys in the tokens instead.',
    awsSecretKey: 'Kept secret: shown masked afterwards.',
    vertexAuthKey: 'A service-account key (JSON), e.g. ${VERTEX_SA_JSON}',
    vertexProjectId: 'With vertexRegion; without them, express mode with an API key.',
  };

  // Type-specific fields (README, "Type-specific fields"), shown with those
  // the catalog says a type needs.
  const TYPE_FIELDS = {
    azure: ['azureServiceUrl'],
    openai: ['openaiCustomUrl'],
    qwen: ['qwenDomain'],
    ollama: ['ollamaServerHost', 'ollamaServerPort'],
    claude: ['claudeVersion'],
    bedrock: ['awsRegion', 'awsAccessKey', 'awsSecretKey', 'awsSessionToken'],
    vertex: ['vertexProjectId', 'vertexRegion', 'vertexAuthKey'],
  };
  const SECRET_FIELDS = new Set(['awsAccessKey', 'awsSecretKey', 'awsSessionToken', 'vertexAuthKey']);
  const ADVANCED = [
    ['providerDomain', 'Overrides the host only.'],
    ['providerBasePath', 'A prefix put before the provider\'s paths.'],
    ['timeout', 'A whole non-streamed request; default 120s.'],
    ['firstByteTimeout', 'Until the first upstream byte; default: the timeout.'],
  ];

  function catalogFields(entry) {
    const raw = entry && (entry.fields || entry.needs || entry.requiredFields || entry.options || []);
    const out = [];
    const add = (name, required, hint) => {
      if (name && !COMMON.has(name) && !out.some((f) => f.name === name)) out.push({ name, required: !!required, hint });
    };
    // What the catalog lists is needed by the type (in one of its modes).
    if (entry && Array.isArray(entry.needs)) for (const n of entry.needs) add(n, true);
    if (Array.isArray(raw)) {
      for (const f of raw) {
        if (typeof f === 'string') add(f, false);
        else if (f && typeof f === 'object') add(f.name || f.field || f.key, f.required, f.description || f.hint || f.help);
      }
    } else if (raw && typeof raw === 'object') {
      for (const [k, v] of Object.entries(raw)) add(k, v === true || v === 'required' || (v && v.required), v && v.description);
    }
    for (const k of entry && Array.isArray(entry.required) ? entry.required : []) {
      const f = out.find((x) => x.name === k);
      if (f) f.required = true; else add(k, true);
    }
    for (const k of TYPE_FIELDS[entry && entry.type] || []) add(k, false);
    return out;
  }

  // modelMapping as [[from, to]...], whether the API sends an object or pairs.
  function mappingEntries(m) {
    if (Array.isArray(m)) return m.map((x) => (Array.isArray(x) ? x : [x.from || x.key, x.to || x.value]));
    return Object.entries(m || {});
  }

  function defaultBase(entry) {
    return entry && (entry.baseUrl || entry.defaultBaseUrl || entry.origin || '');
  }

  function mount(main, ctx) {
    const state = { providers: [], catalog: [], creds: [], credsAt: 0, formOpen: false };
    const problems = h('div', { class: 'problems', role: 'alert' });
    const formBox = h('div');
    const listBox = h('div', { id: 'provider-list' });

    main.append(
      h('div', { class: 'toolbar' },
        h('h1', { text: 'Providers' }),
        h('button', { class: 'primary', id: 'provider-add', type: 'button', text: 'Add provider', onclick: () => openForm(null) })),
      h('p', { class: 'hint', text: 'A provider is one upstream API account: its type (which API it speaks), where it is, and the API tokens the gateway uses in turn. Credential health below is live.' }),
      problems, formBox, listBox);

    async function load() {
      try {
        state.providers = await list('/admin/providers');
      } catch (e) {
        if (e.status !== 401) SY.showProblems(problems, null, e, 'Could not load');
        return;
      }
      render();
    }

    async function loadCatalog() {
      try {
        state.catalog = await list('/admin/catalog');
      } catch (e) {
        state.catalog = [];
      }
      if (!state.catalog.length) state.catalog = FALLBACK_TYPES.map((type) => ({ type }));
    }

    async function pollCreds() {
      state.creds = await list('/admin/credentials');
      state.credsAt = Date.now();
      renderHealth();
    }

    function render() {
      clear(listBox);
      if (!state.providers.length) {
        listBox.append(h('div', { class: 'card empty', text: 'No providers yet. "Add provider" connects the first one.' }));
        return;
      }
      for (const p of state.providers) {
        const fo = p.failover && p.failover.enabled;
        const retry = p.retryOnFailure && p.retryOnFailure.enabled;
        const tokens = Array.isArray(p.apiTokens) ? p.apiTokens : [];
        listBox.append(h('div', { class: 'card provider', 'data-provider': p.id },
          h('div', { class: 'toolbar' },
            h('h2', { text: p.id }),
            badge(p.type || '?'),
            fo ? badge('failover after ' + (p.failover.failureThreshold || 3), 'ok') : badge('no failover'),
            retry ? badge('retries ' + (p.retryOnFailure.maxRetries === undefined ? 1 : p.retryOnFailure.maxRetries), 'ok') : null,
            h('span', { class: 'muted', text: p.baseUrl || '' }),
            h('span', { class: 'muted', text: tokens.length + ' token' + (tokens.length === 1 ? '' : 's') }),
            h('button', { type: 'button', class: 'small edit', text: 'Edit', onclick: () => openForm(p) }),
            h('button', { type: 'button', class: 'small danger', text: 'Delete', onclick: () => remove(p) })),
          h('div', { class: 'health', 'data-health': p.id })));
      }
      renderHealth();
    }

    function renderHealth() {
      const now = Date.now();
      for (const box of listBox.querySelectorAll('[data-health]')) {
        const id = box.dataset.health;
        const creds = state.creds.filter((c) => c.provider === id);
        clear(box);
        if (!creds.length) {
          box.append(h('p', { class: 'hint', text: state.credsAt ? 'No credentials (or health not reported).' : 'Loading health…' }));
          continue;
        }
        box.append(h('table', null,
          h('thead', null, h('tr', null,
            ['#', 'credential', 'state', 'failures in a row', 'last error', 'next probe / out since'].map((t) => h('th', { text: t })))),
          h('tbody', null, creds.map((c) => credentialRow(c, now)))));
      }
    }

    function credentialRow(c, now) {
      const healthy = c.state === 'healthy';
      const when = [];
      if (!healthy) {
        const out = toMillis(c.outSince);
        if (out !== null) when.push('out for ' + span((now - out) / 1000));
      }
      if (c.nextCheckInMs !== null && c.nextCheckInMs !== undefined) {
        const left = Number(c.nextCheckInMs) - (now - state.credsAt);
        when.push(left > 0 ? 'next probe in ' + span(Math.ceil(left / 1000)) : 'probing…');
      }
      const lastAt = toMillis(c.lastErrorAt);
      return h('tr', { 'data-credential': c.credential, 'data-state': c.state },
        h('td', { text: c.index === undefined ? '' : String(c.index) }),
        h('td', { class: 'mono', text: c.credential }),
        h('td', null, badge(c.state || '?', healthy ? 'ok' : 'bad')),
        h('td', { class: 'num', text: num(c.consecutiveFailures) }),
        h('td', { text: c.lastError ? c.lastError + (lastAt ? ' (' + span((now - lastAt) / 1000) + ' ago)' : '') : '–' }),
        h('td', { text: when.join(' · ') || '–' }));
    }

    async function remove(p) {
      const r = await write('DELETE', '/admin/providers/' + enc(p.id), undefined, { title: 'Delete provider ' + p.id + '?', problems });
      if (r) load();
    }

    // ---- the form --------------------------------------------------------------

    function openForm(existing) {
      clear(formBox);
      SY.clearProblems(problems);
      const editing = !!existing;
      const p = existing ? JSON.parse(JSON.stringify(existing)) : {};
      const formProblems = h('div', { class: 'problems', role: 'alert' });

      const typeSel = h('select', { id: 'pf-type' }, state.catalog.map((c) =>
        h('option', { value: c.type, text: c.type + (c.dialect ? ' (' + c.dialect + ')' : '') })));
      typeSel.value = p.type || 'openai';
      const typeHint = h('p', { class: 'hint' });
      const idIn = h('input', { id: 'pf-id', value: p.id || '', placeholder: 'e.g. openai-main', readOnly: editing, required: true });
      const baseIn = h('input', { id: 'pf-baseUrl', value: p.baseUrl || '' });
      const extraBox = h('div', { class: 'grid2' });
      const extraInputs = {};

      const renderType = () => {
        const entry = state.catalog.find((c) => c.type === typeSel.value) || {};
        const base = defaultBase(entry);
        baseIn.placeholder = base || 'http://host:port';
        const needsBase = Array.isArray(entry.needs) && entry.needs.includes('baseUrl');
        SY.append(clear(typeHint), base ? 'Default address: ' + base + '. '
          : needsBase ? 'No default address: set the base URL. ' : 'The address comes from the fields below. ',
          entry.dialect ? 'Speaks the ' + entry.dialect + ' API. ' : '',
          entry.tokenOptional ? 'Tokens are optional for this type. ' : '',
          typeof entry.docs === 'string' && /^https:\/\//.test(entry.docs)
            ? h('a', { href: entry.docs, target: '_blank', rel: 'noopener noreferrer', text: 'Provider docs' }) : null);
        clear(extraBox);
        for (const k of Object.keys(extraInputs)) delete extraInputs[k];
        for (const f of catalogFields(entry)) {
          const secret = SECRET_FIELDS.has(f.name) && !editing;
          const input = h('input', { id: 'pf-' + f.name, type: secret ? 'password' : 'text', autocomplete: secret ? 'off' : null,
            value: p[f.name] === undefined ? '' : String(p[f.name]) });
          extraInputs[f.name] = input;
          extraBox.append(field(f.name + (f.required ? ' (needed)' : ''), input, f.hint || HINTS[f.name], f.name));
        }
      };
      typeSel.addEventListener('change', renderType);

      // Tokens: pasted when adding; listed masked (add/remove one) when editing.
      const tokensIn = h('textarea', { id: 'pf-tokens', rows: 3, placeholder: 'sk-...\nsk-...', spellcheck: false, autocomplete: 'off' });
      const tokenList = h('ul', { class: 'token-list', id: 'pf-token-list' });
      const newToken = h('input', { id: 'pf-new-token', type: 'password', placeholder: 'paste a token', autocomplete: 'off' });
      const renderTokens = () => {
        clear(tokenList);
        const toks = Array.isArray(p.apiTokens) ? p.apiTokens : [];
        if (!toks.length) tokenList.append(h('li', { class: 'muted', text: 'No tokens.' }));
        toks.forEach((t, i) => tokenList.append(h('li', { 'data-token-index': i },
          h('code', { text: t }),
          h('button', { type: 'button', class: 'small danger', text: 'Remove', onclick: () => removeToken(i, t) }))));
      };
      const reloadOne = async () => {
        const fresh = await api('GET', '/admin/providers/' + enc(p.id));
        const obj = fresh && fresh.data ? fresh.data : fresh;
        if (obj) p.apiTokens = obj.apiTokens;
        renderTokens();
        load();
      };
      const addToken = async () => {
        const t = newToken.value.trim();
        if (!t) return;
        const r = await write('POST', '/admin/providers/' + enc(p.id) + '/tokens', { token: t },
          { title: 'Add a token to ' + p.id + '?', problems: formProblems, form });
        if (r) { newToken.value = ''; await reloadOne(); }
      };
      const removeToken = async (i, masked) => {
        const r = await write('DELETE', '/admin/providers/' + enc(p.id) + '/tokens/' + i, undefined,
          { title: 'Remove token ' + masked + ' from ' + p.id + '?', problems: formProblems, form });
        if (r) await reloadOne();
      };

      const selectionSel = h('select', { id: 'pf-tokenSelection' },
        h('option', { value: 'random', text: 'random' }), h('option', { value: 'round-robin', text: 'round-robin' }));
      selectionSel.value = p.tokenSelection || 'random';

      const mappingIn = h('textarea', { id: 'pf-mapping', rows: 3, placeholder: 'gpt-4o = deepseek-chat\n* = deepseek-chat', spellcheck: false,
        value: mappingEntries(p.modelMapping).map(([k, v]) => k + ' = ' + v).join('\n') });

      const fo = p.failover || {};
      const foOn = h('input', { type: 'checkbox', id: 'pf-failover', checked: !!fo.enabled });
      const foThreshold = h('input', { id: 'pf-failureThreshold', type: 'number', min: 1, value: fo.failureThreshold === undefined ? '' : fo.failureThreshold, placeholder: '3' });
      const foModel = h('input', { id: 'pf-healthCheckModel', value: fo.healthCheckModel || '', placeholder: 'e.g. gpt-4o-mini' });
      const foInterval = h('input', { id: 'pf-healthCheckInterval', value: fo.healthCheckInterval === undefined ? '' : String(fo.healthCheckInterval), placeholder: '5s' });
      const foCooldown = h('input', { id: 'pf-cooldown', value: fo.cooldown === undefined ? '' : String(fo.cooldown), placeholder: 'e.g. 30s' });
      const advancedInputs = {};
      const advanced = h('details', { open: ADVANCED.some(([k]) => p[k] !== undefined) },
        h('summary', { text: 'Advanced: host, base path, timeouts' }),
        h('div', { class: 'grid2' }, ADVANCED.map(([k, hint]) => {
          const input = h('input', { id: 'pf-' + k, value: p[k] === undefined ? '' : String(p[k]) });
          advancedInputs[k] = input;
          return field(k, input, hint, k);
        })));
      const rt = p.retryOnFailure || {};
      const rtOn = h('input', { type: 'checkbox', id: 'pf-retry', checked: !!rt.enabled });
      const rtMax = h('input', { id: 'pf-maxRetries', type: 'number', min: 0, value: rt.maxRetries === undefined ? '' : rt.maxRetries, placeholder: '1' });

      const form = h('form', { class: 'card', id: 'provider-form', novalidate: '' },
        h('h2', { text: editing ? 'Edit provider ' + p.id : 'Add a provider' }),
        h('div', { class: 'grid2' },
          field('Type', typeSel, null, 'type'),
          field('Id', idIn, editing ? 'The id names the provider in routes, logs and metrics; it cannot be changed here.' : 'Unique; routes refer to it. Letters, digits, - and _.', 'id')),
        typeHint,
        field('Base URL', baseIn, 'Optional: scheme, host and port (and a base path) to reach instead of the default.', 'baseUrl'),
        extraBox,
        editing
          ? h('div', null, h('label', { text: 'API tokens' }),
            h('p', { class: 'hint', text: 'Shown masked. Each change is applied (and saved) on its own.' }),
            tokenList,
            h('div', { class: 'row-editor', 'data-path': 'apiTokens' }, newToken,
              h('button', { type: 'button', id: 'pf-add-token', text: 'Add token', onclick: addToken })))
          : field('API tokens', tokensIn, 'One per line. ${ENV_VAR} references work. Masked once saved.', 'apiTokens'),
        h('div', { class: 'grid2' }, field('Token selection', selectionSel, 'Which token a request uses: any at random, or each in turn.', 'tokenSelection')),
        advanced,
        field('Model mapping', mappingIn, 'One per line: requested = sent upstream. Keys: exact, prefix* , ~regex, or * for everything else.', 'modelMapping'),
        h('fieldset', null, h('legend', { text: 'Failover' }),
          h('label', { class: 'inline' }, foOn, 'Take a token out of rotation when it keeps failing'),
          h('div', { class: 'grid3' },
            field('Failures in a row', foThreshold, 'failureThreshold; default 3', 'failover.failureThreshold'),
            field('Health-check model', foModel, 'A cheap model this provider serves; a token out of rotation is probed with it.', 'failover.healthCheckModel'),
            field('Health-check interval', foInterval, 'e.g. 5s or 5000 (ms)', 'failover.healthCheckInterval')),
          h('div', { class: 'grid3' },
            field('Or: cooldown', foCooldown, 'Without a health-check model: back in rotation after this pause.', 'failover.cooldown'))),
        h('fieldset', null, h('legend', { text: 'Retries' }),
          h('label', { class: 'inline' }, rtOn, 'Retry a failed request with another token of this provider'),
          h('div', { class: 'grid3' }, field('Max retries', rtMax, 'maxRetries; default 1', 'retryOnFailure.maxRetries'))),
        formProblems,
        h('div', { class: 'form-actions' },
          h('button', { type: 'submit', class: 'primary', id: 'pf-save', text: editing ? 'Save' : 'Add provider' }),
          h('button', { type: 'button', text: editing ? 'Close' : 'Cancel', onclick: () => { clear(formBox); } })));

      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const body = build();
        const r = editing
          ? await write('PUT', '/admin/providers/' + enc(p.id), body, { title: 'Save provider ' + p.id + '?', problems: formProblems, form, before: p })
          : await write('POST', '/admin/providers', body, { title: 'Add provider ' + body.id + '?', problems: formProblems, form });
        if (r) { clear(formBox); load(); }
      });

      function build() {
        const b = JSON.parse(JSON.stringify(p));
        b.type = typeSel.value;
        b.id = idIn.value.trim();
        setOpt(b, 'baseUrl', baseIn.value.trim());
        for (const [k, input] of Object.entries(extraInputs)) {
          const v = input.value.trim();
          setOpt(b, k, /Port$/.test(k) && /^\d+$/.test(v) ? Number(v) : v);
        }
        for (const [k, input] of Object.entries(advancedInputs)) setOpt(b, k, /Timeout$|^timeout$/.test(k) ? duration(input.value) : input.value.trim());
        if (!editing) b.apiTokens = lines(tokensIn.value);
        if (selectionSel.value !== 'random' || b.tokenSelection) b.tokenSelection = selectionSel.value;
        const mapping = {};
        for (const line of lines(mappingIn.value)) {
          const i = line.indexOf('=');
          if (i < 0) mapping[line] = '';
          else mapping[line.slice(0, i).trim()] = line.slice(i + 1).trim();
        }
        if (Object.keys(mapping).length) b.modelMapping = mapping; else delete b.modelMapping;
        if (foOn.checked || b.failover) {
          const f = Object.assign({}, b.failover || {}, { enabled: foOn.checked });
          setOpt(f, 'failureThreshold', intOrUndef(foThreshold.value));
          setOpt(f, 'healthCheckModel', foModel.value.trim());
          setOpt(f, 'healthCheckInterval', duration(foInterval.value));
          setOpt(f, 'cooldown', duration(foCooldown.value));
          b.failover = f;
        }
        if (rtOn.checked || b.retryOnFailure) {
          const r = Object.assign({}, b.retryOnFailure || {}, { enabled: rtOn.checked });
          setOpt(r, 'maxRetries', intOrUndef(rtMax.value));
          b.retryOnFailure = r;
        }
        return b;
      }

      renderType();
      if (editing) renderTokens();
      formBox.append(form);
      (editing ? baseIn : idIn).focus();
    }

    function setOpt(obj, key, value) {
      if (value === undefined || value === null || value === '') delete obj[key];
      else obj[key] = value;
    }

    loadCatalog().then(load);
    ctx.every(2000, pollCreds);
    // The countdowns move between polls.
    ctx.timers.push(setInterval(() => { if (ctx.alive && state.credsAt) renderHealth(); }, 1000));
  }
})();
