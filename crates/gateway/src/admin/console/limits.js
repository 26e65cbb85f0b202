// Rate-limit rules keyed by something else than the consumer (a header, a
// query parameter, the client's address), shown under Consumers.
// Endpoints: GET/POST /admin/rateLimits, PUT/DELETE /admin/rateLimits/{name}.
'use strict';

(function () {
  const { h, clear, field, num, intOrUndef, list, write, enc } = SY;

  const LIMITS = [
    ['requestsPerSecond', 'Requests / second'], ['requestsPerMinute', 'Requests / minute'],
    ['requestsPerHour', 'Requests / hour'], ['requestsPerDay', 'Requests / day'],
    ['tokensPerSecond', 'Tokens / second'], ['tokensPerMinute', 'Tokens / minute'],
    ['tokensPerHour', 'Tokens / hour'], ['tokensPerDay', 'Tokens / day'],
  ];
  SY.LIMITS = LIMITS;

  function summary(rule) {
    const parts = LIMITS.filter(([k]) => rule[k] !== undefined && rule[k] !== null)
      .map(([k, label]) => num(rule[k]) + ' ' + label.toLowerCase().replace(' / ', '/'));
    if (rule.outputReserve !== undefined) parts.push('reserve ' + num(rule.outputReserve) + ' output tokens');
    return parts.join(', ') || 'no limit';
  }

  // The section: a list, and a form for one rule.
  SY.rateLimits = function (container) {
    let rules = [];
    const problems = h('div', { class: 'problems', role: 'alert' });
    const formBox = h('div');
    const listBox = h('div');
    container.append(h('div', { class: 'card', id: 'rate-limits' },
      h('div', { class: 'toolbar' },
        h('h2', { text: 'Rate-limit rules' }),
        h('button', { type: 'button', id: 'rl-add', text: 'Add rule', onclick: () => openForm(null) })),
      h('p', { class: 'hint', text: 'Limits counted per value of something else than the consumer: a header (one user of a shared app), a query parameter, or the client\'s address. A rule applies only to requests that carry its header or parameter.' }),
      problems, formBox, listBox));

    async function load() {
      try {
        rules = await list('/admin/rateLimits');
      } catch (e) {
        if (e.status !== 401) SY.showProblems(problems, null, e, 'Could not load');
        return;
      }
      clear(listBox);
      if (!rules.length) {
        listBox.append(h('p', { class: 'empty', text: 'No rules.' }));
        return;
      }
      listBox.append(h('table', null,
        h('thead', null, h('tr', null, ['name', 'counted by', 'limits', ''].map((t) => h('th', { text: t })))),
        h('tbody', null, rules.map((r) => h('tr', { 'data-rule': r.name },
          h('td', null, h('strong', { text: r.name })),
          h('td', { class: 'mono', text: r.by }),
          h('td', { text: summary(r) }),
          h('td', null,
            h('button', { type: 'button', class: 'small', text: 'Edit', onclick: () => openForm(r) }), ' ',
            h('button', { type: 'button', class: 'small danger', text: 'Delete', onclick: () => remove(r) })))))));
    }

    async function remove(r) {
      const res = await write('DELETE', '/admin/rateLimits/' + enc(r.name), undefined, { title: 'Delete rule ' + r.name + '?', problems });
      if (res) load();
    }

    function openForm(existing) {
      clear(formBox);
      const editing = !!existing;
      const r = existing ? JSON.parse(JSON.stringify(existing)) : {};
      const formProblems = h('div', { class: 'problems', role: 'alert' });
      const nameIn = h('input', { id: 'rl-name', value: r.name || '', readOnly: editing, placeholder: 'e.g. per-user' });
      const [kind0, arg0] = String(r.by || 'header:x-user-id').split(/:(.*)/);
      const kindSel = h('select', { id: 'rl-by-kind' },
        [['header', 'a request header'], ['param', 'a query parameter'], ['ip', 'the client address'], ['consumer', 'the consumer']]
          .map(([v, t]) => h('option', { value: v, text: t })));
      kindSel.value = kind0;
      const argIn = h('input', { id: 'rl-by-name', value: arg0 || '', placeholder: 'x-user-id' });
      const syncArg = () => { argIn.disabled = !['header', 'param'].includes(kindSel.value); };
      kindSel.addEventListener('change', syncArg);
      syncArg();
      const inputs = LIMITS.map(([k, label]) => [k, h('input', { id: 'rl-' + k, type: 'number', min: 0, value: r[k] === undefined ? '' : r[k] }), label]);
      const reserveIn = h('input', { id: 'rl-outputReserve', type: 'number', min: 0, value: r.outputReserve === undefined ? '' : r.outputReserve, placeholder: '256' });

      const form = h('form', { class: 'card', id: 'rate-limit-form', novalidate: '' },
        h('h2', { text: editing ? 'Edit rule ' + r.name : 'Add a rate-limit rule' }),
        h('div', { class: 'grid3' },
          field('Name', nameIn, 'Shown in 429 messages and metrics.', 'name'),
          field('Counted by', kindSel, null, 'by'),
          field('Header or parameter name', argIn, null)),
        h('div', { class: 'grid4' }, inputs.map(([k, input, label]) => field(label, input, null, k))),
        h('div', { class: 'grid4' }, field('Output reserve', reserveIn, 'Tokens reserved for the answer when a request sets no max_tokens.', 'outputReserve')),
        formProblems,
        h('div', { class: 'form-actions' },
          h('button', { type: 'submit', class: 'primary', id: 'rl-save', text: editing ? 'Save' : 'Add rule' }),
          h('button', { type: 'button', text: 'Cancel', onclick: () => clear(formBox) })));

      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const b = JSON.parse(JSON.stringify(r));
        b.name = nameIn.value.trim();
        b.by = argIn.disabled ? kindSel.value : kindSel.value + ':' + argIn.value.trim();
        for (const [k, input] of inputs) {
          const v = intOrUndef(input.value);
          if (v === undefined) delete b[k]; else b[k] = v;
        }
        const reserve = intOrUndef(reserveIn.value);
        if (reserve === undefined) delete b.outputReserve; else b.outputReserve = reserve;
        const res = editing
          ? await write('PUT', '/admin/rateLimits/' + enc(r.name), b, { title: 'Save rule ' + r.name + '?', problems: formProblems, form, before: r })
          : await write('POST', '/admin/rateLimits', b, { title: 'Add rule ' + b.name + '?', problems: formProblems, form });
        if (res) { clear(formBox); load(); }
      });
      formBox.append(form);
      (editing ? kindSel : nameIn).focus();
    }

    load();
  };
})();
