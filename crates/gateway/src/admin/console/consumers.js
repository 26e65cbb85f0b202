// Consumers: who may call the gateway, with their keys (masked; a new key is
// shown once), the models they may use, their rate limits and their budget.
// Endpoints: GET/POST /admin/consumers, PUT/DELETE /admin/consumers/{name},
// POST /admin/consumers/{name}/keys, DELETE /admin/consumers/{name}/keys/{i}.
'use strict';

(function () {
  const { h, clear, field, badge, num, usd, span, words, lines, intOrUndef, list, write, dialog, enc } = SY;

  SY.pages.consumers = { title: 'Consumers', mount };

  const LIMITS = [
    ['requestsPerSecond', 'Requests / second'], ['requestsPerMinute', 'Requests / minute'],
    ['requestsPerHour', 'Requests / hour'], ['requestsPerDay', 'Requests / day'],
    ['tokensPerSecond', 'Tokens / second'], ['tokensPerMinute', 'Tokens / minute'],
    ['tokensPerHour', 'Tokens / hour'], ['tokensPerDay', 'Tokens / day'],
  ];

  function showKeyOnce(name, key) {
    return dialog({
      title: 'New key for ' + name,
      body: h('div', null,
        h('p', { text: 'Copy it now: this is the only time it is shown. The gateway keeps only its SHA-256 digest.' }),
        h('p', { class: 'secret', id: 'new-key', text: key }),
        h('p', { class: 'hint', text: 'Clients send it as Authorization: Bearer <key> (or x-api-key).' })),
      okText: 'Done',
      cancelText: null,
    });
  }

  function limitSummary(l) {
    if (!l) return h('span', { class: 'muted', text: 'none' });
    const parts = LIMITS.filter(([k]) => l[k] !== undefined && l[k] !== null).map(([k, label]) => num(l[k]) + ' ' + label.toLowerCase().replace(' / ', '/'));
    return h('span', { text: parts.join(', ') || 'none' });
  }

  function spendCell(c) {
    if (!c.budget) return h('span', { class: 'muted', text: 'no budget' });
    const sp = c.spend || {};
    const used = Number(sp.usd || 0);
    const cap = Number(sp.budgetUsd !== undefined ? sp.budgetUsd : c.budget.usd);
    const pct = cap > 0 ? Math.min(100, (used / cap) * 100) : 0;
    const bar = h('progress', { max: 100, value: pct });
    return h('div', null,
      h('div', null, usd(used) + ' of ' + usd(cap) + ' per ' + (c.budget.period || sp.period || '?'), ' ',
        sp.exhausted ? badge('spent', 'bad') : null),
      bar,
      sp.renewsInSeconds !== undefined ? h('div', { class: 'hint', text: 'renews in ' + span(sp.renewsInSeconds) }) : null,
      sp.periodEndsAt ? h('div', { class: 'hint', text: 'period ends ' + SY.clock(sp.periodEndsAt) }) : null,
      sp.error ? h('div', { class: 'error', text: sp.error }) : null);
  }

  function mount(main) {
    const state = { consumers: [] };
    const problems = h('div', { class: 'problems', role: 'alert' });
    const formBox = h('div');
    const listBox = h('div', { class: 'card' });

    main.append(
      h('div', { class: 'toolbar' },
        h('h1', { text: 'Consumers' }),
        h('button', { class: 'primary', id: 'consumer-add', type: 'button', text: 'Add consumer', onclick: () => openForm(null) })),
      h('p', { class: 'hint', text: 'A consumer is a team or application with its own keys. With consumers configured, every client must send a key; provider tokens never leave the gateway.' }),
      problems, formBox, listBox);

    async function load() {
      try {
        state.consumers = await list('/admin/consumers');
      } catch (e) {
        if (e.status !== 401) SY.showProblems(problems, null, e, 'Could not load');
        return;
      }
      render();
    }

    function render() {
      clear(listBox);
      if (!state.consumers.length) {
        listBox.append(h('div', { class: 'empty', text: 'No consumers: anyone who reaches the gateway may call it.' }));
        return;
      }
      listBox.append(h('table', { id: 'consumer-table' },
        h('thead', null, h('tr', null, ['name', 'keys', 'models', 'limits', 'budget and spend', ''].map((t) => h('th', { text: t })))),
        h('tbody', null, state.consumers.map((c) => h('tr', { 'data-consumer': c.name },
          h('td', null, h('strong', { text: c.name })),
          h('td', null, h('ul', { class: 'token-list' }, (c.keys || []).map((k, i) => h('li', null, h('code', { text: k }),
            h('button', { type: 'button', class: 'small danger', title: 'Remove this key', text: '×', onclick: () => removeKey(c, i, k) })))),
          h('button', { type: 'button', class: 'small', text: 'New key', onclick: () => addKey(c) })),
          h('td', null, c.models ? h('div', { class: 'chips' }, c.models.map((m) => h('span', { class: 'chip', text: m }))) : h('span', { class: 'muted', text: 'all' })),
          h('td', null, limitSummary(c.limits)),
          h('td', null, spendCell(c)),
          h('td', null,
            h('button', { type: 'button', class: 'small', text: 'Edit', onclick: () => openForm(c) }), ' ',
            h('button', { type: 'button', class: 'small danger', text: 'Delete', onclick: () => remove(c) })))))));
    }

    async function addKey(c) {
      const r = await write('POST', '/admin/consumers/' + enc(c.name) + '/keys', undefined, { title: 'Make a new key for ' + c.name + '?', problems, quiet: true });
      if (!r) return;
      const key = r.key || (r.data && r.data.key);
      if (key) await showKeyOnce(c.name, key);
      load();
    }

    async function removeKey(c, i, masked) {
      const r = await write('DELETE', '/admin/consumers/' + enc(c.name) + '/keys/' + i, undefined, { title: 'Remove key ' + masked + ' of ' + c.name + '?', problems });
      if (r) load();
    }

    async function remove(c) {
      const r = await write('DELETE', '/admin/consumers/' + enc(c.name), undefined, { title: 'Delete consumer ' + c.name + '?', problems });
      if (r) load();
    }

    function openForm(existing) {
      clear(formBox);
      SY.clearProblems(problems);
      const editing = !!existing;
      const c = existing ? JSON.parse(JSON.stringify(existing)) : {};
      delete c.spend;
      const formProblems = h('div', { class: 'problems', role: 'alert' });

      const nameIn = h('input', { id: 'cf-name', value: c.name || '', readOnly: editing, placeholder: 'e.g. team-a' });
      const keysIn = h('textarea', { id: 'cf-keys', rows: 2, spellcheck: false, placeholder: 'empty: a new key is made and shown once' });
      const modelsIn = h('input', { id: 'cf-models', value: (c.models || []).join(', '), placeholder: 'gpt-*, claude-*' });
      const limits = c.limits || {};
      const limitInputs = LIMITS.map(([k, label]) => [k, label, h('input', { id: 'cf-' + k, type: 'number', min: 0, value: limits[k] === undefined ? '' : limits[k] })]);
      const reserveIn = h('input', { id: 'cf-outputReserve', type: 'number', min: 0, value: limits.outputReserve === undefined ? '' : limits.outputReserve, placeholder: '256' });
      const budget = c.budget || {};
      const usdIn = h('input', { id: 'cf-budget-usd', type: 'number', min: 0, step: 'any', value: budget.usd === undefined ? '' : budget.usd, placeholder: 'no budget' });
      const periodIn = h('input', { id: 'cf-budget-period', value: budget.period === undefined ? '' : String(budget.period), placeholder: '30d' });

      const form = h('form', { class: 'card', id: 'consumer-form', novalidate: '' },
        h('h2', { text: editing ? 'Edit consumer ' + c.name : 'Add a consumer' }),
        h('div', { class: 'grid2' },
          field('Name', nameIn, editing ? 'Cannot be changed here.' : 'Shown in logs and metrics; routes allow consumers by name.', 'name'),
          field('Allowed models', modelsIn, 'Comma-separated globs; empty: every model.', 'models')),
        editing ? h('p', { class: 'hint', text: 'Keys are added and removed from the list (New key, ×).' })
          : field('Keys', keysIn, 'Optional: existing keys (or their sha256:<hex> form), one per line.', 'keys'),
        h('fieldset', null, h('legend', { text: 'Rate limits' }),
          h('p', { class: 'hint', text: 'Sliding windows; empty: no limit.' }),
          h('div', { class: 'grid4' }, limitInputs.map(([k, label, input]) => field(label, input, null, 'limits.' + k))),
          h('div', { class: 'grid4' }, field('Output reserve', reserveIn, 'Tokens reserved for the answer when a request sets no max_tokens.', 'limits.outputReserve'))),
        h('fieldset', null, h('legend', { text: 'Budget' }),
          h('div', { class: 'grid4' },
            field('USD per period', usdIn, 'Empty: no budget.', 'budget.usd'),
            field('Period', periodIn, 'e.g. 1d, 7d, 30d', 'budget.period'))),
        formProblems,
        h('div', { class: 'form-actions' },
          h('button', { type: 'submit', class: 'primary', id: 'cf-save', text: editing ? 'Save' : 'Add consumer' }),
          h('button', { type: 'button', text: 'Cancel', onclick: () => clear(formBox) })));

      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const b = JSON.parse(JSON.stringify(c));
        b.name = nameIn.value.trim();
        // No keys: the gateway makes one and answers it this once.
        if (!editing) b.keys = lines(keysIn.value);
        const models = words(modelsIn.value);
        if (models.length) b.models = models; else delete b.models;
        const l = Object.assign({}, b.limits || {});
        for (const [k, , input] of limitInputs) {
          const v = intOrUndef(input.value);
          if (v === undefined) delete l[k]; else l[k] = v;
        }
        const reserve = intOrUndef(reserveIn.value);
        if (reserve === undefined) delete l.outputReserve; else l.outputReserve = reserve;
        if (Object.keys(l).length) b.limits = l; else delete b.limits;
        const cap = intOrUndef(usdIn.value);
        if (cap !== undefined) b.budget = { usd: cap, period: periodIn.value.trim() || '30d' }; else delete b.budget;
        const r = editing
          ? await write('PUT', '/admin/consumers/' + enc(c.name), b, { title: 'Save consumer ' + c.name + '?', problems: formProblems, form, before: c })
          : await write('POST', '/admin/consumers', b, { title: 'Add consumer ' + b.name + '?', problems: formProblems, form });
        if (!r) return;
        clear(formBox);
        const key = r.key || (r.data && r.data.key);
        if (key) await showKeyOnce(b.name, key);
        load();
      });

      formBox.append(form);
      (editing ? modelsIn : nameIn).focus();
    }

    load();
    SY.rateLimits(main);
  }
})();
