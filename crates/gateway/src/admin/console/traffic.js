// Traffic: per-minute charts of the last hour (requests and errors, tokens,
// cost, latency, time to first token), drawn as inline SVG.
// Endpoint: GET /admin/traffic (every 10 s).
'use strict';

(function () {
  const { h, s, clear, num, usd, ms, api } = SY;

  SY.pages.traffic = { title: 'Traffic', mount };

  const W = 600;
  const H = 170;
  const PAD = { l: 64, r: 8, t: 10, b: 20 };

  // 60 slots, oldest first, ending with the current minute.
  function slots(minutes) {
    const byStart = new Map();
    for (const m of minutes || []) {
      const t = SY.toMillis(m.start);
      if (t !== null) byStart.set(Math.floor(t / 60000), m);
    }
    const now = Math.floor(Date.now() / 60000);
    const out = [];
    for (let i = 59; i >= 0; i--) {
      const k = now - i;
      out.push(Object.assign({ minute: k }, byStart.get(k) || {}));
    }
    return out;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function frame(max, fmt) {
    const g = s('g');
    const y0 = H - PAD.b;
    for (const f of [0, 0.5, 1]) {
      const y = y0 - f * (y0 - PAD.t);
      g.append(s('line', { class: 'axis', x1: PAD.l, x2: W - PAD.r, y1: y, y2: y }),
        s('text', { x: PAD.l - 4, y: y + 3, 'text-anchor': 'end', text: fmt(max * f) }));
    }
    for (const [i, label] of [[0, '-60m'], [30, '-30m'], [59, 'now']]) {
      g.append(s('text', { x: PAD.l + (i + 0.5) * ((W - PAD.l - PAD.r) / 60), y: H - 5, 'text-anchor': 'middle', text: label }));
    }
    return g;
  }

  function time(minute) {
    return new Date(minute * 60000).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false });
  }

  // Stacked bars: series = [[className, label, fn(slot)]...]
  function bars(data, series, fmt) {
    const totals = data.map((d) => series.reduce((a, [, , f]) => a + (f(d) || 0), 0));
    const max = niceMax(Math.max(0, ...totals));
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' }, frame(max, fmt));
    const bw = (W - PAD.l - PAD.r) / 60;
    const y0 = H - PAD.b;
    const scale = (y0 - PAD.t) / max;
    data.forEach((d, i) => {
      let y = y0;
      for (const [cls, label, f] of series) {
        const v = f(d) || 0;
        if (v <= 0) continue;
        const bh = Math.max(1, v * scale);
        y -= bh;
        svg.append(s('rect', { class: 'bar ' + cls, x: PAD.l + i * bw + 1, y, width: Math.max(1, bw - 2), height: bh },
          s('title', { text: time(d.minute) + ' — ' + label + ': ' + fmt(v) })));
      }
    });
    return svg;
  }

  // Lines: series = [[className, label, fn(slot) → number or null]...]
  function linesChart(data, series, fmt) {
    const all = [];
    for (const [, , f] of series) for (const d of data) { const v = f(d); if (v !== null && v !== undefined) all.push(v); }
    const max = niceMax(Math.max(0, ...all));
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' }, frame(max, fmt));
    const bw = (W - PAD.l - PAD.r) / 60;
    const y0 = H - PAD.b;
    const scale = (y0 - PAD.t) / max;
    for (const [cls, label, f] of series) {
      let path = '';
      data.forEach((d, i) => {
        const v = f(d);
        if (v === null || v === undefined) return;
        const x = PAD.l + (i + 0.5) * bw;
        const y = y0 - v * scale;
        path += (path ? ' L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
        svg.append(s('circle', { cx: x, cy: y, r: 2.5, class: 'dot' + (cls ? ' ' + cls : '') },
          s('title', { text: time(d.minute) + ' — ' + label + ': ' + fmt(v) })));
      });
      if (path) svg.insertBefore(s('path', { class: 'line ' + cls, d: path }), svg.firstChild.nextSibling);
    }
    return svg;
  }

  function chart(title, legend, svg) {
    return h('div', { class: 'card chart' },
      h('h3', { text: title }),
      legend ? h('div', { class: 'legend' }, legend.map(([cls, label]) => h('span', null, h('i', { class: cls }), label))) : null,
      svg);
  }

  const avg = (sum, n) => (n > 0 && sum !== undefined ? sum / n : null);

  function mount(main, ctx) {
    const totalsBox = h('div', { class: 'card totals', id: 'traffic-totals' });
    const charts = h('div', { class: 'charts', id: 'traffic-charts' });
    const problems = h('div', { class: 'problems', role: 'alert' });
    main.append(
      h('div', { class: 'toolbar' }, h('h1', { text: 'Traffic' }), h('span', { class: 'muted', text: 'last 60 minutes, per minute; refreshed every 10 s' })),
      problems, totalsBox, charts);

    async function refresh() {
      let r;
      try {
        r = await api('GET', '/admin/traffic');
        SY.clearProblems(problems);
      } catch (e) {
        if (e.status !== 401) SY.showProblems(problems, null, e, 'Could not load');
        return;
      }
      if (!ctx.alive) return;
      const data = slots(r && r.minutes);
      const t = data.reduce((a, d) => {
        for (const k of ['requests', 'errors', 'inputTokens', 'outputTokens', 'costUsd', 'latencyMsSum', 'ttftMsSum', 'ttftCount']) a[k] = (a[k] || 0) + (Number(d[k]) || 0);
        return a;
      }, {});
      clear(totalsBox).append(
        ...[['Requests', num(t.requests)],
          ['Errors', num(t.errors) + (t.requests ? ' (' + ((100 * t.errors) / t.requests).toFixed(1) + '%)' : '')],
          ['Tokens in / out', num(t.inputTokens) + ' / ' + num(t.outputTokens)],
          ['Cost', usd(t.costUsd)],
          ['Avg latency', ms(avg(t.latencyMsSum, t.requests))],
          ['Avg time to first token', ms(avg(t.ttftMsSum, t.ttftCount))]]
          .map(([label, value]) => h('div', null, h('b', { text: value }), h('span', { class: 'muted', text: label }))));
      clear(charts).append(
        chart('Requests', null, bars(data, [['', 'requests', (d) => d.requests]], (v) => num(v, 1))),
        chart('Errors', null, bars(data, [['err', 'errors (status ≥ 400 or a broken stream)', (d) => d.errors]], (v) => num(v, 1))),
        chart('Tokens', [['a', 'input'], ['c', 'output']], bars(data, [
          ['', 'input', (d) => d.inputTokens],
          ['out', 'output', (d) => d.outputTokens]], (v) => compact(v))),
        chart('Cost (USD)', null, bars(data, [['', 'cost', (d) => d.costUsd]], (v) => usd(v))),
        chart('Latency (average per request)', null, linesChart(data, [
          ['', 'latency', (d) => avg(d.latencyMsSum, d.requests)]], (v) => ms(v))),
        chart('Time to first token (average, streams)', null, linesChart(data, [
          ['alt', 'time to first token', (d) => avg(d.ttftMsSum, d.ttftCount)]], (v) => ms(v))));
    }

    ctx.every(10000, refresh);
  }

  function compact(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (v >= 1e3) return (v / 1e3).toFixed(1) + 'k';
    return num(v, 1);
  }
})();
