// Routes: which requested models go to which provider, the fallback chain
// tried when it fails, and which consumers may use the route.
// Endpoints: GET/POST /admin/routes, PUT/DELETE /admin/routes/{name};
// GET /admin/providers and /admin/consumers for the choices.
'use strict';

(function () {
  const { h, clear, field, badge, words, list, write, enc } = SY;

  SY.pages.routes = { title: 'Routes', mount };

  function mount(main) {
    const state = { routes: [], providers: [], consumers: [] };
    const problems = h('div', { class: 'problems', role: 'alert' });
    const formBox = h('div');
    const listBox = h('div', { class: 'card' });

    main.append(
      h('div', { class: 'toolbar' },
        h('h1', { text: 'Routes' }),
        h('button', { class: 'primary', id: 'route-add', type: 'button', text: 'Add route', onclick: () => openForm(null) })),
      h('p', { class: 'hint', text: 'A request goes to the first route whose model patterns match its model. If that provider fails, the fallback targets are tried in order.' }),
      problems, formBox, listBox);

    async function load() {
      try {
        [state.routes, state.providers, state.consumers] = await Promise.all([
          list('/admin/routes'), list('/admin/providers'), list('/admin/consumers').catch(() => [])]);
      } catch (e) {
        if (e.status !== 401) SY.showProblems(problems, null, e, 'Could not load');
        return;
      }
      render();
    }

    function chain(r) {
      const t = (r.fallback && r.fallback.targets) || [];
      if (!t.length) return h('span', { class: 'muted', text: 'none' });
      return h('div', { class: 'chips' }, t.map((x, i) => [i ? h('span', { class: 'muted', text: '→' }) : null,
        h('span', { class: 'chip', title: 'fallback ' + (i + 1), text: x.provider + (x.model ? ' / ' + x.model : '') })]));
    }

    function render() {
      clear(listBox);
      if (!state.routes.length) {
        listBox.append(h('div', { class: 'empty', text: state.providers.length > 1
          ? 'No routes: add one to choose a provider per model.'
          : 'No routes: with a single provider every model goes to it.' }));
        return;
      }
      listBox.append(h('table', { id: 'route-table' },
        h('thead', null, h('tr', null, ['#', 'name', 'models', 'provider', 'fallback', 'allowed consumers', ''].map((t) => h('th', { text: t })))),
        h('tbody', null, state.routes.map((r, i) => h('tr', { 'data-route': r.name },
          h('td', { class: 'muted', text: String(i + 1) }),
          h('td', null, h('strong', { text: r.name })),
          h('td', null, h('div', { class: 'chips' }, (r.models && r.models.length ? r.models : ['(every model)']).map((m) => h('span', { class: 'chip', text: m })))),
          h('td', { text: r.provider }),
          h('td', null, chain(r)),
          h('td', null, Array.isArray(r.allow) ? (r.allow.length ? r.allow.join(', ') : badge('nobody', 'warn')) : h('span', { class: 'muted', text: 'every consumer' })),
          h('td', null,
            h('button', { type: 'button', class: 'small move-up', text: '↑', title: 'Match earlier', disabled: i === 0, onclick: () => move(i, -1) }), ' ',
            h('button', { type: 'button', class: 'small move-down', text: '↓', title: 'Match later', disabled: i === state.routes.length - 1, onclick: () => move(i, 1) }), ' ',
            h('button', { type: 'button', class: 'small', text: 'Edit', onclick: () => openForm(r) }), ' ',
            h('button', { type: 'button', class: 'small danger', text: 'Delete', onclick: () => remove(r) })))))));
    }

    // Routes match in order; the order changes with the whole document
    // (GET /admin/config as JSON, then PUT it back with If-Match).
    async function move(i, d) {
      let doc;
      try {
        doc = await SY.api('GET', '/admin/config', undefined, { accept: 'application/json' });
      } catch (e) {
        if (e.status !== 401) SY.showProblems(problems, null, e, 'Could not load');
        return;
      }
      const etag = SY.lastEtag;
      const routes = Array.isArray(doc && doc.routes) ? doc.routes : [];
      const j = i + d;
      if (!routes[i] || !routes[j] || routes[i].name !== state.routes[i].name) {
        load();
        return;
      }
      const before = routes.map((r) => r.name);
      [routes[i], routes[j]] = [routes[j], routes[i]];
      const res = await write('PUT', '/admin/config', doc, {
        title: 'Match route ' + routes[j].name + ' ' + (d < 0 ? 'before ' : 'after ') + routes[i].name + '?',
        problems, headers: etag ? { 'if-match': etag } : undefined, diff: false,
        note: 'Order: ' + before.join(', ') + ' → ' + routes.map((r) => r.name).join(', '),
      });
      if (res) load();
    }

    async function remove(r) {
      const res = await write('DELETE', '/admin/routes/' + enc(r.name), undefined, { title: 'Delete route ' + r.name + '?', problems });
      if (res) load();
    }

    function providerSelect(value, id) {
      const sel = h('select', { id }, h('option', { value: '', text: '— choose a provider —' }),
        state.providers.map((p) => h('option', { value: p.id, text: p.id + ' (' + p.type + ')' })));
      if (value && !state.providers.some((p) => p.id === value)) sel.append(h('option', { value, text: value + ' (unknown)' }));
      sel.value = value || '';
      return sel;
    }

    function openForm(existing) {
      clear(formBox);
      SY.clearProblems(problems);
      const editing = !!existing;
      const r = existing ? JSON.parse(JSON.stringify(existing)) : {};
      const formProblems = h('div', { class: 'problems', role: 'alert' });

      const nameIn = h('input', { id: 'rf-name', value: r.name || '', readOnly: editing, placeholder: 'e.g. gpt' });
      const modelsIn = h('input', { id: 'rf-models', value: (r.models || []).join(', '), placeholder: 'gpt-*, o1-*' });
      const providerSel = providerSelect(r.provider || (state.providers[0] && state.providers[0].id), 'rf-provider');
      const mappingInfo = h('p', { class: 'hint' });
      const showMapping = () => {
        const p = state.providers.find((x) => x.id === providerSel.value);
        const m = p && p.modelMapping ? Object.entries(p.modelMapping) : [];
        mappingInfo.textContent = m.length
          ? 'Model mapping (set on the provider): ' + m.map(([k, v]) => k + ' → ' + (v || '(as requested)')).join(', ')
          : 'This provider has no model mapping: the requested model name is sent as is (edit the provider to map names).';
      };
      providerSel.addEventListener('change', showMapping);

      // The fallback chain: ordered rows of {provider, model}.
      const targets = ((r.fallback && r.fallback.targets) || []).map((t) => ({ provider: t.provider, model: t.model || '' }));
      const targetBox = h('div', { id: 'rf-targets' });
      const renderTargets = () => {
        clear(targetBox);
        if (!targets.length) targetBox.append(h('p', { class: 'hint', text: 'No fallback: a failure is returned to the client.' }));
        targets.forEach((t, i) => {
          const sel = providerSelect(t.provider, 'rf-fb-provider-' + i);
          sel.dataset.path = 'fallback.targets[' + i + '].provider';
          sel.addEventListener('change', () => { t.provider = sel.value; });
          const model = h('input', { id: 'rf-fb-model-' + i, value: t.model, placeholder: 'model (empty: the requested one, mapped)',
            oninput: (e) => { t.model = e.target.value; } });
          model.dataset.path = 'fallback.targets[' + i + '].model';
          const move = (d) => { const j = i + d; [targets[i], targets[j]] = [targets[j], targets[i]]; renderTargets(); };
          targetBox.append(h('div', { class: 'row-editor', 'data-target': i },
            h('span', { class: 'pos', text: (i + 1) + '.' }), sel, model,
            h('button', { type: 'button', class: 'small', text: '↑', title: 'Try earlier', disabled: i === 0, onclick: () => move(-1) }),
            h('button', { type: 'button', class: 'small', text: '↓', title: 'Try later', disabled: i === targets.length - 1, onclick: () => move(1) }),
            h('button', { type: 'button', class: 'small danger', text: 'Remove', onclick: () => { targets.splice(i, 1); renderTargets(); } })));
        });
      };
      const onStatusIn = h('input', { id: 'rf-onStatus', value: ((r.fallback && r.fallback.onStatus) || []).join(', '), placeholder: '4xx, 5xx' });

      // Allowed consumers: none ticked = every consumer.
      const restrict = h('input', { type: 'checkbox', id: 'rf-restrict', checked: Array.isArray(r.allow) });
      const allowBox = h('div', { id: 'rf-allow' });
      const allowed = new Set(r.allow || []);
      const renderAllow = () => {
        clear(allowBox);
        if (!restrict.checked) return;
        if (!state.consumers.length) allowBox.append(h('p', { class: 'hint', text: 'No consumers are configured (Consumers page).' }));
        for (const c of state.consumers) {
          const cb = h('input', { type: 'checkbox', value: c.name, checked: allowed.has(c.name),
            onchange: (e) => { if (e.target.checked) allowed.add(c.name); else allowed.delete(c.name); } });
          allowBox.append(h('label', { class: 'inline' }, cb, c.name));
        }
      };
      restrict.addEventListener('change', renderAllow);

      const form = h('form', { class: 'card', id: 'route-form', novalidate: '' },
        h('h2', { text: editing ? 'Edit route ' + r.name : 'Add a route' }),
        h('div', { class: 'grid3' },
          field('Name', nameIn, editing ? 'Cannot be changed here.' : 'Unique; shown in logs and metrics.', 'name'),
          field('Model patterns', modelsIn, 'Comma-separated globs (* and ?) on the requested model; empty: every model.', 'models'),
          field('Provider', providerSel, null, 'provider')),
        mappingInfo,
        h('fieldset', null, h('legend', { text: 'Fallback chain' }),
          h('p', { class: 'hint', text: 'Tried in order when the provider fails (connection errors and timeouts always; statuses below).' }),
          targetBox,
          h('button', { type: 'button', class: 'small', id: 'rf-add-target', text: 'Add fallback target',
            onclick: () => { targets.push({ provider: (state.providers[0] && state.providers[0].id) || '', model: '' }); renderTargets(); } }),
          field('Fall back on status', onStatusIn, 'e.g. 4xx, 5xx, 429; empty: the default.', 'fallback.onStatus')),
        h('fieldset', null, h('legend', { text: 'Who may use it' }),
          h('label', { class: 'inline' }, restrict, 'Only these consumers (otherwise every consumer)'),
          allowBox),
        formProblems,
        h('div', { class: 'form-actions' },
          h('button', { type: 'submit', class: 'primary', id: 'rf-save', text: editing ? 'Save' : 'Add route' }),
          h('button', { type: 'button', text: 'Cancel', onclick: () => clear(formBox) })));

      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const b = JSON.parse(JSON.stringify(r));
        b.name = nameIn.value.trim();
        const models = words(modelsIn.value);
        if (models.length) b.models = models; else delete b.models;
        b.provider = providerSel.value;
        const t = targets.map((x) => (x.model.trim() ? { provider: x.provider, model: x.model.trim() } : { provider: x.provider }));
        const onStatus = words(onStatusIn.value);
        if (t.length || onStatus.length) {
          b.fallback = Object.assign({}, b.fallback || {}, { targets: t });
          if (onStatus.length) b.fallback.onStatus = onStatus; else delete b.fallback.onStatus;
        } else delete b.fallback;
        if (restrict.checked) b.allow = [...allowed]; else delete b.allow;
        const res = editing
          ? await write('PUT', '/admin/routes/' + enc(r.name), b, { title: 'Save route ' + r.name + '?', problems: formProblems, form, before: r })
          : await write('POST', '/admin/routes', b, { title: 'Add route ' + b.name + '?', problems: formProblems, form });
        if (res) { clear(formBox); load(); }
      });

      showMapping();
      renderTargets();
      renderAllow();
      formBox.append(form);
      (editing ? modelsIn : nameIn).focus();
    }

    load();
  }
})();
