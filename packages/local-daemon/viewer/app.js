// The local X-Ray viewer: plain ES modules, no build step, no external assets.
const app = document.getElementById('app');
const EMPTY_FILTERS = { service: '', status: '', errors: false, flag: '', annotation: '', range: '', q: '', min: '', max: '', calls: '' };
/** Rows per page of the list (and per Load more): few enough that a live update under load stays short. */
const LIMIT_STEP = 100;
const state = { filters: { ...EMPTY_FILTERS }, sort: { key: 'start', dir: 'desc' }, selected: null, limit: LIMIT_STEP };

const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const ms = (seconds) => (seconds * 1000 >= 100 ? (seconds * 1000).toFixed(0) : (seconds * 1000).toFixed(1)) + ' ms';
const time = (epoch) => new Date(epoch * 1000).toLocaleTimeString();
/** A JSON answer of the daemon's API; throws with a message the error panel shows. */
async function api(path) {
  let res;
  try {
    res = await fetch(path, { cache: 'no-store' });
  } catch (e) {
    throw new Error(`the daemon's API did not answer (${e.message}); is xray-local still running?`);
  }
  if (!res.ok) throw new Error(`the daemon's API answered ${res.status} for ${path}`);
  return res.json();
}

function showError(e) {
  app.innerHTML = `<div class="panel error" id="api-error" role="alert"><strong>Cannot load this page.</strong> ${esc(e.message)} <button type="button" id="retry">Retry</button></div>`;
  document.getElementById('retry').addEventListener('click', () => route());
}

const loading = (what) => `<div class="panel loading" id="loading" aria-busy="true">Loading ${esc(what)}\u2026</div>`;

/** Filters and sort order from the URL (`#/traces?status=5xx&sort=duration`), so that they can be shared and Back works. */
function filtersFromHash() {
  const hash = location.hash || '#/traces';
  const q = new URLSearchParams(hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : '');
  state.filters = { service: q.get('service') ?? '', status: q.get('status') ?? '', errors: q.get('errors') === '1', flag: q.get('flag') ?? '', annotation: q.get('annotation') ?? '', range: q.get('range') ?? '', q: q.get('q') ?? '', min: q.get('min') ?? '', max: q.get('max') ?? '', calls: q.get('calls') ?? '' };
  const key = q.get('sort');
  state.sort = { key: SORTS[key] ? key : 'start', dir: q.get('dir') === 'asc' ? 'asc' : 'desc' };
}

function hashOf(f, sort) {
  const q = new URLSearchParams();
  for (const k of ['service', 'status', 'flag', 'annotation', 'range', 'q', 'min', 'max', 'calls']) if (f[k]) q.set(k, f[k]);
  if (f.errors) q.set('errors', '1');
  if (sort.key !== 'start' || sort.dir !== 'desc') {
    q.set('sort', sort.key);
    q.set('dir', sort.dir);
  }
  const text = q.toString();
  return `#/traces${text ? `?${text}` : ''}`;
}

/** The columns the list sorts by. */
const SORTS = {
  start: (t) => t.start,
  service: (t) => t.service,
  method: (t) => t.method ?? '',
  url: (t) => t.url ?? '',
  status: (t) => t.status ?? 0,
  duration: (t) => t.duration,
};

function flags(d) {
  const out = [];
  if (d.fault) out.push('<span class="flag fault">fault</span>');
  if (d.error) out.push('<span class="flag error">error</span>');
  if (d.throttle) out.push('<span class="flag throttle">throttle</span>');
  if (d.inProgress || d.in_progress) out.push('<span class="flag progress">in progress</span>');
  return out.join('') || '<span class="flag ok">ok</span>';
}

// ------------------------------------------------------------------ trace list
// The filter form is built once per visit of the page; live updates and filtering only replace the
// results below it, so a value being typed is never wiped by a refresh. Each request carries a
// sequence number and only the newest answer is drawn, so a slow refresh cannot undo a filter.
let listSeq = 0;

function traceQuery(f) {
  const params = new URLSearchParams();
  if (f.service) params.set('service', f.service);
  if (f.status) params.set('status', f.status);
  if (f.errors) params.set('errors', '1');
  if (f.flag) params.set('flag', f.flag);
  if (f.annotation) params.set('annotation', f.annotation);
  if (f.q) params.set('q', f.q);
  if (f.min) params.set('min', f.min);
  if (f.calls) params.set('calls', f.calls);
  if (f.max) params.set('max', f.max);
  params.set('limit', String(state.limit));
  if (f.range) params.set('from', String(Date.now() / 1000 - Number(f.range)));
  return params;
}

function traceForm(f) {
  return `
    <h1>Traces <span class="muted" id="trace-count"></span></h1>
    <div class="panel">
      <form class="filters" id="filters">
        <label>Service<select name="service"><option value="">all services</option></select></label>
        <label>Status<input name="status" placeholder="200, 4xx, 5xx" size="8" value="${esc(f.status)}"></label>
        <label>Search<input name="q" placeholder="trace id, URL, annotation" size="22" value="${esc(f.q)}"></label>
        <label>Annotation<input name="annotation" placeholder="key=value" size="14" value="${esc(f.annotation)}"></label>
        <label>Duration \u2265 s<input name="min" placeholder="0.5" size="5" inputmode="decimal" value="${esc(f.min)}"></label>
        <label>Time range<select name="range">
          ${[['', 'all'], ['300', 'last 5 minutes'], ['900', 'last 15 minutes'], ['3600', 'last hour']].map(([v, l]) => `<option value="${v}" ${v === f.range ? 'selected' : ''}>${l}</option>`).join('')}
        </select></label>
        <label>Flag<select name="flag">${[['', 'any'], ['fault', 'faults (5xx)'], ['error', 'errors (4xx)'], ['throttle', 'throttled (429)']].map(([v, l]) => `<option value="${v}" ${v === f.flag ? 'selected' : ''}>${l}</option>`).join('')}</select></label>
        <label><span>&nbsp;</span><span><input type="checkbox" name="errors" ${f.errors ? 'checked' : ''}> errors only</span></label>
        <button class="primary" type="submit">Filter</button>
        <button type="button" id="reset">Reset</button>
      </form>
    </div>
    ${f.calls ? `<p class="calls-filter">Traces that call <strong>${esc(f.calls)}</strong> <a href="#/traces" id="clear-calls">show all</a></p>` : ''}
    <div id="trace-results">${loading('traces')}</div>`;
}

function mountTraceForm() {
  app.innerHTML = traceForm(state.filters);
  const form = document.getElementById('filters');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const min = fd.get('min').trim().replace(/^responsetime\s*>=?\s*/i, '');
    state.filters = { service: fd.get('service'), status: fd.get('status').trim(), annotation: fd.get('annotation').trim(), range: fd.get('range'), errors: fd.get('errors') === 'on', flag: fd.get('flag'), q: fd.get('q').trim(), min, max: min === state.filters.min ? state.filters.max : '', calls: state.filters.calls };
    applyFilters();
  });
  document.getElementById('reset').addEventListener('click', () => {
    state.filters = { ...EMPTY_FILTERS };
    for (const name of ['service', 'status', 'flag', 'annotation', 'range', 'q', 'min']) form.elements[name].value = '';
    form.elements.errors.checked = false;
    applyFilters();
  });
}

/** Puts the filters in the URL (a history entry: Back returns to the previous ones) and redraws. */
function applyFilters() {
  const next = hashOf(state.filters, state.sort);
  if (location.hash !== next) history.pushState(null, '', next);
  renderTraces();
}

async function renderTraces() {
  const seq = ++listSeq;
  const f = state.filters;
  let data;
  try {
    data = await api(`/api/traces?${traceQuery(f)}`);
  } catch (e) {
    if (seq === listSeq) showError(e);
    return;
  }
  if (seq !== listSeq) return; // a newer request is on its way
  if (location.hash && !location.hash.startsWith('#/traces')) return;
  if (!document.getElementById('filters')) mountTraceForm();
  const select = document.querySelector('#filters select[name=service]');
  if (document.activeElement !== select) {
    const current = select.value || f.service;
    select.innerHTML = ['<option value="">all services</option>', ...data.services.map((s) => `<option ${s === current ? 'selected' : ''}>${esc(s)}</option>`)].join('');
  }
  document.getElementById('trace-count').textContent = `(${data.traces.length} shown, ${data.stats.traces} kept)`;
  const { key, dir } = state.sort;
  const by = SORTS[key];
  const sorted = [...data.traces].sort((a, b) => {
    const x = by(a);
    const y = by(b);
    return (x < y ? -1 : x > y ? 1 : 0) * (dir === 'asc' ? 1 : -1);
  });
  const results = document.getElementById('trace-results');
  if (!sorted.length) {
    results.innerHTML = `<div class="panel empty">${data.stats.traces ? 'No trace matches these filters.' : 'No traces yet. Point an SDK at this daemon and make a request.'}</div>`;
    return;
  }
  let tbody = document.querySelector('#trace-list tbody');
  const head = `${key}:${dir}`;
  if (!tbody || tbody.dataset.sort !== head) {
    results.innerHTML = `<div id="histogram"></div><table id="trace-list"><thead><tr>${[['start', 'Time'], ['service', 'Service'], ['method', 'Method'], ['url', 'URL'], ['status', 'Status'], ['duration', 'Duration']]
      .map(([k, label]) => `<th data-sort="${k}" class="sortable${k === key ? ` sorted ${dir}` : ''}" aria-sort="${k === key ? (dir === 'asc' ? 'ascending' : 'descending') : 'none'}">${label}${k === key ? (dir === 'asc' ? ' \u25b2' : ' \u25bc') : ''}</th>`)
      .join('')}<th>Flags</th><th>Annotations</th><th>Trace id</th></tr></thead><tbody data-sort="${head}"></tbody></table><div id="more"></div>`;
    results.querySelector('table').insertAdjacentHTML('afterbegin', '<colgroup><col class="c-time"><col class="c-service"><col class="c-method"><col class="c-url"><col class="c-status"><col class="c-duration"><col class="c-flags"><col class="c-ann"><col class="c-id"></colgroup>');
    tbody = results.querySelector('tbody');
    tbody.addEventListener('click', (e) => {
      const tr = e.target.closest('tr[data-trace]');
      if (tr) location.hash = `#/trace/${encodeURIComponent(tr.dataset.trace)}`;
    });
    for (const th of results.querySelectorAll('th[data-sort]')) {
      th.addEventListener('click', () => {
        const k = th.dataset.sort;
        state.sort = { key: k, dir: state.sort.key === k && state.sort.dir === 'desc' ? 'asc' : 'desc' };
        applyFilters();
      });
    }
  }
  // Keyed, in place: a row is rebuilt only when what it shows changed, and moved only when out of place,
  // so that live updates under load touch a few rows, not the whole list.
  const existing = new Map();
  for (const tr of tbody.children) existing.set(tr.dataset.trace, tr);
  // The rows to build, parsed in one go; the others are the very nodes already shown.
  const htmls = sorted.map(rowHtml);
  const build = [];
  sorted.forEach((t, i) => {
    const tr = existing.get(t.id);
    if (!tr || tr.dataset.html !== htmls[i]) build.push(i);
  });
  const template = document.createElement('template');
  template.innerHTML = build.map((i) => `<tr>${htmls[i]}</tr>`).join('');
  const nodes = sorted.map((t) => existing.get(t.id));
  [...template.content.children].forEach((tr, k) => {
    const i = build[k];
    tr.dataset.trace = sorted[i].id;
    tr.dataset.html = htmls[i];
    const since = tr.querySelector('.ago');
    if (since) since.textContent = ago(sorted[i].start);
    nodes[i] = tr;
  });
  // One DOM operation: unchanged rows stay the same nodes, in their new order.
  let same = nodes.length === tbody.children.length;
  for (let i = 0; same && i < nodes.length; i++) same = tbody.children[i] === nodes[i];
  if (!same) tbody.replaceChildren(...nodes);
  document.getElementById('more').innerHTML =
    data.traces.length >= state.limit ? `<button type="button" id="load-more">Load ${LIMIT_STEP} more</button> <span class="muted">${data.stats.traces - data.traces.length} more kept</span>` : '';
  document.getElementById('load-more')?.addEventListener('click', () => {
    state.limit += LIMIT_STEP;
    renderTraces();
  });
  drawHistogram(data.traces);
}

// The relative times move on by themselves, without redrawing a row.
setInterval(() => {
  for (const el of document.querySelectorAll('#trace-list .ago')) el.textContent = ago(Number(el.dataset.start));
}, 10_000);

/** One row of the trace list; times both absolute (with the date on hover) and relative (filled in apart). */
function rowHtml(t) {
  return `<td title="${esc(isoTime(t.start))}">${time(t.start)} <span class="muted ago" data-start="${esc(t.start)}"></span></td><td>${esc(t.service)}</td><td>${esc(t.method ?? '')}</td>
      <td class="url" title="${esc(t.url)}">${esc(t.url ?? '')}</td><td>${esc(t.status ?? '')}</td>
      <td>${ms(t.duration)}</td><td>${flags(t)}${t.truncated ? `<span class="flag truncated" title="${esc(t.truncated)} documents not kept">truncated</span>` : ''}</td>
      <td class="ann">${esc(Object.entries(t.annotations).map(([k, v]) => `${k}=${v}`).join(' '))}</td>
      <td class="muted">${esc(t.id)}</td>`;
}

/** A histogram of the listed traces' durations; a bar sets the duration filter to its range. */
function drawHistogram(traces) {
  const el = document.getElementById('histogram');
  if (!el || traces.length < 2) {
    if (el) el.innerHTML = '';
    return;
  }
  let max = 0;
  for (const t of traces) max = Math.max(max, t.duration);
  const bins = 24;
  const width = Math.max(max, 1e-3) / bins;
  const counts = new Array(bins).fill(0);
  for (const t of traces) counts[Math.min(bins - 1, Math.floor(t.duration / width))]++;
  let top = 1;
  for (const c of counts) top = Math.max(top, c);
  el.innerHTML = `<svg class="histogram" viewBox="0 0 ${bins * 20} 64" preserveAspectRatio="none" aria-label="durations of the listed traces">${counts
    .map((c, i) => `<rect data-bin="${i}" data-from="${(i * width).toFixed(4)}" data-to="${((i + 1) * width).toFixed(4)}" x="${i * 20 + 1}" y="${60 - (c / top) * 56}" width="18" height="${Math.max((c / top) * 56, c ? 2 : 0) + 0.5}"><title>${c} traces, ${ms(i * width)} to ${ms((i + 1) * width)}</title></rect>`)
    .join('')}</svg><div class="muted histogram-axis"><span>0</span><span>durations of the listed traces (click a bar to filter)</span><span>${ms(max)}</span></div>`;
  for (const rect of el.querySelectorAll('rect')) {
    rect.addEventListener('click', () => {
      state.filters = { ...state.filters, min: rect.dataset.from, max: rect.dataset.to };
      applyFilters();
    });
  }
}

/** The rows of the timeline, depth first, without recursion (a trace may be large), each with its parent row. */
function flatten(segments) {
  const rows = [];
  const stack = [...segments].reverse().map((node) => [node, 0, -1]);
  while (stack.length) {
    const [node, depth, parent] = stack.pop();
    const index = rows.length;
    rows.push({ doc: node.doc, depth, parent, children: node.children.length });
    for (let i = node.children.length - 1; i >= 0; i--) stack.push([node.children[i], depth + 1, index]);
  }
  return rows;
}

const isoTime = (seconds) => {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString();
};

/** Round tick steps for a time axis of `span` seconds: about six ticks. */
function tickStep(span) {
  const raw = span / 6;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * power) return m * power;
  return 10 * power;
}

const trace = { id: undefined, rows: [], collapsed: new Set(), zoom: undefined, selected: 0, start: 0, end: 0 };

async function renderTrace(id) {
  if (!document.getElementById('timeline')) app.innerHTML = loading('the trace');
  let res;
  try {
    res = await fetch(`/api/traces/${encodeURIComponent(id)}`);
  } catch (e) {
    showError(new Error(`the daemon's API did not answer (${e.message}); is xray-local still running?`));
    return;
  }
  const data = res.ok ? await res.json() : null;
  if (!data) {
    app.innerHTML = `<div class="panel empty">${res.status === 400 ? `${esc(id)} is not a trace id.` : `Trace ${esc(id)} is not kept (evicted, or never received).`}</div>`;
    return;
  }
  if (trace.id !== id) Object.assign(trace, { id, collapsed: new Set(), zoom: undefined, selected: 0 });
  trace.rows = flatten(data.segments);
  const now = Date.now() / 1000;
  let start = Infinity;
  let end = -Infinity;
  for (const r of trace.rows) {
    start = Math.min(start, Number(r.doc.start_time));
    end = Math.max(end, Number(r.doc.end_time ?? now));
  }
  trace.start = start;
  trace.end = end;
  const s = data.summary;
  app.innerHTML = `
    <h1>Trace <span class="muted">${esc(id)}</span></h1>
    <div class="panel"><dl class="kv">
      <dt>Service</dt><dd>${esc(s.service)} ${s.services.length > 1 ? `<span class="muted">(+ ${esc(s.services.filter((n) => n !== s.service).join(', '))})</span>` : ''}</dd>
      <dt>Request</dt><dd>${esc(s.method ?? '')} ${esc(s.url ?? '')}</dd>
      <dt>Status</dt><dd>${esc(s.status ?? '')} ${flags(s)}</dd>
      <dt>Started</dt><dd>${esc(new Date(s.start * 1000).toLocaleString())} <span class="muted">(${esc(ago(s.start))})</span></dd>
      <dt>Duration</dt><dd>${ms(s.duration)}</dd>
      <dt>Documents</dt><dd>${esc(s.documents)}${s.truncated ? ` <span class="flag truncated">truncated</span> <span class="muted">${esc(s.truncated)} more documents of this trace arrived and were not kept (the daemon's per-trace limit)</span>` : ''}</dd>
    </dl></div>
    <div class="trace-body">
      <div class="timeline-wrap">
        <div class="timeline-tools"><button type="button" id="zoom-reset" ${trace.zoom ? '' : 'hidden'}>Reset zoom</button> <span class="muted">Double-click a row to zoom to it; \u25be/\u25b8 folds a subtree.</span></div>
        <div class="timeline" id="timeline"></div>
      </div>
      <aside class="details panel" id="details"><span class="muted">Click a segment or subsegment to see its details.</span></aside>
    </div>`;
  document.getElementById('zoom-reset').addEventListener('click', () => {
    trace.zoom = undefined;
    drawTimeline();
  });
  drawTimeline();
  selectRow(Math.min(trace.selected, trace.rows.length - 1));
}

/** Whether a row is hidden by a folded ancestor. */
function hidden(i) {
  for (let p = trace.rows[i].parent; p !== -1; p = trace.rows[p].parent) if (trace.collapsed.has(p)) return true;
  return false;
}

function drawTimeline() {
  const [from, to] = trace.zoom ?? [trace.start, trace.end];
  const span = Math.max(to - from, 1e-6);
  const now = Date.now() / 1000;
  const step = tickStep(span);
  const ticks = [];
  for (let t = 0; t <= span + 1e-9 && ticks.length < 20; t += step) ticks.push(t);
  const axis = `<div class="row axis"><div class="axis-label muted">${trace.zoom ? 'zoomed' : ''}</div><div class="track">${ticks
    .map((t) => `<span class="tick" style="left:${(t / span) * 100}%">${ms(t)}</span>`)
    .join('')}</div></div>`;
  const rows = [];
  for (let i = 0; i < trace.rows.length; i++) {
    if (hidden(i)) continue;
    const r = trace.rows[i];
    const d = r.doc;
    const begin = Number(d.start_time);
    const finish = Number(d.end_time ?? now);
    const left = Math.max(0, ((begin - from) / span) * 100);
    const right = Math.min(100, ((finish - from) / span) * 100);
    const width = Math.max(right - left, 0);
    const outside = finish < from || begin > to;
    const cls = ['bar', d.namespace === 'remote' || d.namespace === 'aws' ? 'remote' : '', d.fault ? 'fault' : d.throttle ? 'throttle' : d.error ? 'error' : '', d.in_progress ? 'progress' : ''].join(' ');
    const kind = d.type === 'subsegment' || r.depth > 0 ? (d.namespace ?? 'subsegment') : 'segment';
    const fold = r.children ? `<button type="button" class="fold" data-fold="${i}" aria-label="fold">${trace.collapsed.has(i) ? '\u25b8' : '\u25be'}</button>` : '<span class="fold"></span>';
    rows.push(`<div class="row ${r.depth === 0 && d.type !== 'subsegment' ? 'segment-row' : ''}${i === trace.selected ? ' selected' : ''}" data-row="${i}">
      <div class="name" style="padding-left:${8 + r.depth * 16}px" title="${esc(d.name)}">${fold}${esc(d.name)}<span class="kind">${esc(kind)}</span></div>
      <div class="track">${outside ? '' : `<div class="${cls}" style="left:${left}%;width:${Math.max(width, 0.2)}%"></div>`}
      <span class="ms" style="left:calc(${Math.min(left + width, 88)}% + 4px)">${d.end_time ? ms(d.end_time - d.start_time) : 'in progress'}</span></div>
    </div>`);
  }
  const el = document.getElementById('timeline');
  el.innerHTML = axis + rows.join('');
  document.getElementById('zoom-reset').hidden = !trace.zoom;
  for (const row of el.querySelectorAll('[data-row]')) {
    const i = Number(row.dataset.row);
    row.addEventListener('click', (e) => {
      const fold = e.target.closest?.('[data-fold]');
      if (fold) {
        if (trace.collapsed.has(i)) trace.collapsed.delete(i);
        else trace.collapsed.add(i);
        drawTimeline();
        return;
      }
      selectRow(i);
    });
    row.addEventListener('dblclick', () => {
      const d = trace.rows[i].doc;
      trace.zoom = [Number(d.start_time), Number(d.end_time ?? Date.now() / 1000)];
      drawTimeline();
    });
  }
}

function selectRow(i) {
  trace.selected = i;
  for (const el of app.querySelectorAll('.row.selected')) el.classList.remove('selected');
  app.querySelector(`[data-row="${i}"]`)?.classList.add('selected');
  const doc = trace.rows[i]?.doc;
  if (!doc) return;
  document.getElementById('details').innerHTML = details(doc);
  // An exception recorded on another subsegment: a link to it.
  for (const a of document.querySelectorAll('#details [data-exception]')) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      const holder = trace.rows.findIndex((r) => (r.doc.cause?.exceptions ?? []).some((x) => x.id === a.dataset.exception));
      if (holder !== -1) {
        for (let p = trace.rows[holder].parent; p !== -1; p = trace.rows[p].parent) trace.collapsed.delete(p);
        drawTimeline();
        selectRow(holder);
      }
    });
  }
  const json = JSON.stringify(doc, null, 2);
  document.getElementById('copy-json').addEventListener('click', () => navigator.clipboard?.writeText(json).then(() => (document.getElementById('copy-json').textContent = 'Copied')));
  const download = document.getElementById('download-json');
  download.href = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  download.download = `${String(doc.id).replace(/[^a-zA-Z0-9-]/g, '_')}.json`;
}

const ago = (epoch) => {
  const s = Date.now() / 1000 - epoch;
  if (!Number.isFinite(s)) return '';
  if (s < 60) return `${Math.max(0, Math.round(s))} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
};

function details(d) {
  const section = (title, value) => (value === undefined ? '' : `<h2>${title}</h2><pre>${esc(JSON.stringify(value, null, 2))}</pre>`);
  const cause = d.cause;
  let exceptions = '';
  if (typeof cause === 'string') {
    const holder = trace.rows.find((r) => (r.doc.cause?.exceptions ?? []).some((x) => x.id === cause));
    exceptions = `<h2>Exception</h2><p>${holder ? `Recorded on <a href="#" data-exception="${esc(cause)}">${esc(holder.doc.name)}</a>` : `Recorded on a subsegment not kept: ${esc(cause)}`}</p>`;
  } else if (cause?.exceptions?.length) {
    exceptions = `<h2>Exceptions</h2>${cause.exceptions.map((e) => `<div class="exception"><strong>${esc(e.type ?? 'Error')}</strong>: ${esc(e.message ?? '')} ${e.remote ? '<span class="muted">(remote)</span>' : ''}
      ${e.cause ? `<div>caused by <a href="#" data-exception="${esc(e.cause)}">${esc(e.cause)}</a></div>` : ''}
      <div class="stack">${(e.stack ?? []).map((f) => `at ${esc(f.label ?? '<anonymous>')} (${esc(f.path)}:${esc(f.line ?? '')})`).join('<br>')}</div></div>`).join('')}`;
  }
  return `<h2>${esc(d.name)} <span class="muted">${esc(d.id)}</span></h2>
    <dl class="kv"><dt>Start</dt><dd>${esc(isoTime(d.start_time))}</dd>
    <dt>Duration</dt><dd>${d.end_time ? ms(d.end_time - d.start_time) : 'in progress'}</dd>
    ${d.namespace ? `<dt>Namespace</dt><dd>${esc(d.namespace)}</dd>` : ''}
    ${d.origin ? `<dt>Origin</dt><dd>${esc(d.origin)}</dd>` : ''}
    ${d.user ? `<dt>User</dt><dd>${esc(d.user)}</dd>` : ''}
    <dt>Flags</dt><dd>${flags(d)}</dd></dl>
    ${exceptions}${section('HTTP', d.http)}${section('SQL', d.sql)}${section('Annotations', d.annotations)}${section('Metadata', d.metadata)}${section('AWS', d.aws)}
    <h2>Raw JSON <button type="button" id="copy-json">Copy</button> <a id="download-json" class="button" href="#">Download</a></h2>
    <pre class="raw" id="raw-json">${esc(JSON.stringify(d, null, 2))}</pre>`;
}

// ------------------------------------------------------------------ service map
/** The map's time range from the URL (`#/map?range=900`). */
function mapRange() {
  const hash = location.hash;
  const q = new URLSearchParams(hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : '');
  return q.get('range') ?? '';
}

/**
 * A layered layout: columns by call depth from the nodes nothing calls (the client first), then, a few
 * times over, each column ordered by the mean position of its neighbours (the barycenter heuristic),
 * which keeps edges short and crossings few for the maps a team has (15 services, 30 edges).
 */
function layout(nodes, edges) {
  const depth = new Map();
  const incoming = new Set(edges.filter((e) => e.from !== e.to).map((e) => e.to));
  const roots = nodes.filter((n) => !incoming.has(n.id));
  const queue = (roots.length ? roots : [nodes[0]]).map((n) => [n.id, 0]);
  while (queue.length) {
    const [id, d] = queue.shift();
    if (depth.has(id)) continue;
    depth.set(id, d);
    for (const e of edges) if (e.from === id && !depth.has(e.to)) queue.push([e.to, d + 1]);
  }
  for (const n of nodes) if (!depth.has(n.id)) depth.set(n.id, 0);
  // What the services call (databases, caches, AWS, hosts) stands in one column on the right, as in the console.
  let deepest = 0;
  for (const n of nodes) if (n.type === 'service' || n.type === 'client') deepest = Math.max(deepest, depth.get(n.id));
  for (const n of nodes) if (n.type !== 'service' && n.type !== 'client') depth.set(n.id, deepest + 1);
  const columns = [];
  for (const n of nodes) (columns[depth.get(n.id)] ??= []).push(n.id);
  const cols = columns.filter(Boolean);
  const index = new Map();
  const reindex = () => cols.forEach((c) => c.forEach((id, i) => index.set(id, i)));
  reindex();
  const neighbours = new Map(nodes.map((n) => [n.id, []]));
  for (const e of edges) {
    neighbours.get(e.from)?.push(e.to);
    neighbours.get(e.to)?.push(e.from);
  }
  for (let pass = 0; pass < 6; pass++) {
    for (const col of pass % 2 ? [...cols].reverse() : cols) {
      const centre = (id) => {
        const ns = neighbours.get(id).filter((x) => index.has(x));
        return ns.length ? ns.reduce((sum, x) => sum + index.get(x), 0) / ns.length : index.get(id);
      };
      col.sort((x, y) => centre(x) - centre(y));
      reindex();
    }
  }
  const colWidth = 250;
  const rowHeight = 120;
  let tallest = 1;
  for (const c of cols) tallest = Math.max(tallest, c.length);
  const pos = new Map();
  cols.forEach((col, d) => {
    const offset = ((tallest - col.length) * rowHeight) / 2;
    col.forEach((id, i) => pos.set(id, { x: 100 + d * colWidth, y: 60 + offset + i * rowHeight }));
  });
  return { pos, width: Math.max(cols.length * colWidth + 40, 600), height: tallest * rowHeight + 40 };
}

async function renderMap() {
  if (!document.getElementById('service-map')) app.innerHTML = loading('the service map');
  const range = mapRange();
  let map;
  try {
    map = await api(`/api/map${range ? `?from=${Date.now() / 1000 - Number(range)}` : ''}`);
  } catch (e) {
    if (location.hash.startsWith('#/map')) showError(e);
    return;
  }
  const { nodes, edges } = map;
  if (!location.hash.startsWith('#/map')) return;
  const rangeSelect = `<label class="range">Time range <select id="map-range">${[['', 'all traces kept'], ['300', 'last 5 minutes'], ['900', 'last 15 minutes'], ['3600', 'last hour']]
    .map(([v, l]) => `<option value="${v}" ${v === range ? 'selected' : ''}>${l}</option>`)
    .join('')}</select></label>`;
  if (!nodes.length) {
    app.innerHTML = `<h1>Service map</h1>${rangeSelect}<div class="panel empty">No traces ${range ? 'in this time range' : 'yet'}.</div>`;
    bindRange();
    return;
  }
  const { pos, width, height } = layout(nodes, edges);
  const color = (n) => (n.errorRate > 0.5 ? 'var(--fault)' : n.errorRate > 0 ? 'var(--error)' : 'var(--ok)');
  const fill = { client: '#eef0f2', service: '#e8f1fb', remote: '#f1ebfb', database: '#fdf3e3', aws: '#fff4e5' };
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  app.innerHTML = `<h1>Service map <span class="muted">(${nodes.length} nodes, ${edges.length} edges)</span></h1>
  <div class="map-tools">${rangeSelect}
    <div class="legend" id="map-legend">
      ${Object.entries({ client: 'client', service: 'traced service', database: 'database or cache', aws: 'AWS service', remote: 'other remote' }).map(([t, l]) => `<span><i style="background:${fill[t]}"></i>${l}</span>`).join('')}
      <span><b style="border-color:var(--ok)"></b>no errors</span><span><b style="border-color:var(--error)"></b>some errors</span><span><b style="border-color:var(--fault)"></b>mostly errors</span>
      <span class="muted">edges: requests \u00b7 mean latency \u00b7 errors (4xx, 429, 5xx) / faults (5xx)${edges.length > 20 ? ' (point at an edge to read it)' : ''}; click a node for its traces</span>
    </div></div>
  <svg class="map${edges.length > 20 ? ' dense' : ''}" id="service-map" viewBox="0 0 ${width} ${height}" height="${height}">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#879596"/></marker></defs>
    ${edges.map((e) => {
      const a = pos.get(e.from); const b = pos.get(e.to);
      if (!a || !b || e.from === e.to) return '';
      const dx = b.x - a.x; const dy = b.y - a.y; const len = Math.hypot(dx, dy) || 1;
      const x1 = a.x + (dx / len) * 34, y1 = a.y + (dy / len) * 34, x2 = b.x - (dx / len) * 36, y2 = b.y - (dy / len) * 36;
      const stroke = e.faultRate > 0 ? 'var(--fault)' : e.errorRate > 0 ? 'var(--error)' : '#879596';
      return `<g class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}"><title>${esc(e.from)} \u2192 ${esc(e.to)}: ${esc(e.requests)} requests, ${esc(e.meanMs.toFixed(1))} ms mean, ${pct(e.errorRate)} errors, ${pct(e.faultRate)} faults</title><line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${stroke}" marker-end="url(#arrow)"/>
        <text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 6}">${esc(e.requests)} req \u00b7 ${esc(e.meanMs.toFixed(1))} ms \u00b7 ${pct(e.errorRate)} err${e.faults ? ` \u00b7 ${pct(e.faultRate)} fault` : ''}</text></g>`;
    }).join('')}
    ${nodes.map((n) => {
      const p = pos.get(n.id);
      return `<g class="node" data-node="${esc(n.id)}" data-type="${esc(n.type)}" tabindex="0" role="link"><circle cx="${p.x}" cy="${p.y}" r="32" fill="${fill[n.type] ?? '#eee'}" stroke="${color(n)}"/>
        <text x="${p.x}" y="${p.y + 50}">${esc(n.name)}</text>
        <text x="${p.x}" y="${p.y + 4}" class="muted">${n.type === 'service' ? '' : esc(n.type)}</text>
        <text x="${p.x}" y="${p.y + 66}" fill="#5f6b7a">${esc(n.requests)} \u00b7 ${esc(n.meanMs.toFixed(1))} ms</text></g>`;
    }).join('')}
  </svg>`;
  bindRange();
  for (const g of app.querySelectorAll('#service-map .node')) {
    const open = () => {
      const type = g.dataset.type;
      if (type === 'client') return;
      const filter = type === 'service' ? `service=${encodeURIComponent(g.dataset.node)}` : `calls=${encodeURIComponent(g.dataset.node)}`;
      location.hash = `#/traces?${filter}`;
    };
    g.addEventListener('click', open);
    g.addEventListener('keydown', (e) => e.key === 'Enter' && open());
  }
}

function bindRange() {
  document.getElementById('map-range')?.addEventListener('change', (e) => {
    const v = e.target.value;
    location.hash = v ? `#/map?range=${v}` : '#/map';
  });
}

// ------------------------------------------------------------------ rejected datagrams
async function renderRejected() {
  if (!document.getElementById('rejections')) app.innerHTML = loading('the rejected datagrams');
  let answer;
  try {
    answer = await api('/api/stats');
  } catch (e) {
    if (location.hash.startsWith('#/rejected')) showError(e);
    return;
  }
  const { stats, rejections } = answer;
  app.innerHTML = `<h1>Rejected datagrams <span class="muted">(${stats.rejected} of ${stats.datagrams})</span></h1>
    ${rejections.length ? `<table id="rejections"><thead><tr><th>Time</th><th>Bytes</th><th>Reason</th><th>Start of the datagram</th></tr></thead><tbody>
    ${rejections.map((r) => `<tr><td>${new Date(r.at).toLocaleTimeString()}</td><td>${esc(r.bytes)}</td><td>${esc(r.reason)}</td><td class="url"><code>${esc(r.excerpt)}</code></td></tr>`).join('')}</tbody></table>`
      : '<div class="panel empty">Every datagram so far was accepted.</div>'}`;
}

// ------------------------------------------------------------------ centralized sampling
const pct = (x) => `${(x * 100).toFixed(x * 100 < 10 && x > 0 ? 1 : 0)} %`;
/** A rule's match fields that are not `*`, for the table. */
function ruleMatch(r) {
  const parts = [['service', r.ServiceName], ['type', r.ServiceType], ['host', r.Host], ['method', r.HTTPMethod], ['path', r.URLPath], ['resource', r.ResourceARN]]
    .filter(([, v]) => v !== '*')
    .map(([k, v]) => `${k} <code>${esc(v)}</code>`);
  for (const [k, v] of Object.entries(r.Attributes ?? {})) parts.push(`attribute ${esc(k)} <code>${esc(v)}</code>`);
  return parts.length ? parts.join(', ') : '<span class="muted">every request</span>';
}

let samplingTimer;
async function renderSampling() {
  // Redrawn while shown, also without traffic: clients go quiet, the rules file changes.
  clearTimeout(samplingTimer);
  samplingTimer = setTimeout(function tick() {
    if (!location.hash.startsWith('#/sampling')) return;
    if (document.hidden) samplingTimer = setTimeout(tick, 5000);
    else renderSampling();
  }, 5000);
  if (!document.getElementById('sampling-rules')) app.innerHTML = loading('the sampling rules');
  let answer;
  try {
    answer = await api('/api/sampling');
  } catch (e) {
    if (location.hash.startsWith('#/sampling')) showError(e);
    return;
  }
  if (!location.hash.startsWith('#/sampling')) return;
  const rows = answer.rules
    .slice()
    // Matching order, as SDKs use the rules: priority, then name, the Default rule last.
    .sort((a, b) => (a.rule.RuleName === 'Default') - (b.rule.RuleName === 'Default') || a.rule.Priority - b.rule.Priority || (a.rule.RuleName < b.rule.RuleName ? -1 : 1))
    .map(({ rule, requests, sampled, borrowed, clients }) => {
      const share = clients.length
        ? clients.map((c) => `<li><code>${esc(c.clientId)}</code> quota ${esc(c.quota)}/s · ${esc(c.requests)} requests, ${esc(c.sampled)} sampled, ${esc(c.borrowed)} borrowed · ${esc(ago(c.lastReport))}</li>`).join('')
        : '<li class="muted">no client reports to it</li>';
      const version = rule.Version === 1 ? '' : ` <span class="badge warn" title="SDKs use only version 1 rules">version ${esc(rule.Version)}</span>`;
      return `<tr data-rule="${esc(rule.RuleName)}"><td><strong>${esc(rule.RuleName)}</strong>${version}</td><td>${esc(rule.Priority)}</td><td>${ruleMatch(rule)}</td>
        <td>${esc(rule.ReservoirSize)}/s then ${pct(rule.FixedRate)}</td><td>${esc(requests)}</td><td>${esc(sampled)}</td><td>${esc(borrowed)}</td><td><ul class="clients">${share}</ul></td></tr>`;
    })
    .join('');
  app.innerHTML = `<h1>Sampling rules <span class="muted">(served to SDKs on the daemon's TCP port, in matching order)</span></h1>
    ${answer.problem ? `<div class="panel error" role="alert">${esc(answer.problem)}</div>` : ''}
    <table id="sampling-rules"><thead><tr><th>Rule</th><th>Priority</th><th>Matches</th><th>Reservoir, then rate</th><th>Requests</th><th>Sampled</th><th>Borrowed</th><th>Clients (reservoir share)</th></tr></thead>
    <tbody>${rows}</tbody></table>
    <p class="muted">Counts are what the SDKs reported (every 10 s); the page redraws every 5 s. Each rule's reservoir is split between its clients: those whose quota still holds or that reported in the last two intervals; the quotas in force never add up to more than the reservoir. Start the daemon with <code>--sampling-rules rules.json</code> (the output of <code>aws xray get-sampling-rules</code>) to try your account's rules; the file is re-read when it changes.</p>`;
}

// ------------------------------------------------------------------ routing and live updates
function route() {
  const hash = location.hash || '#/traces';
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', hash.startsWith(`#/${a.dataset.nav}`) || (a.dataset.nav === 'traces' && hash.startsWith('#/trace/')));
  if (hash.startsWith('#/trace/')) {
    let id;
    try {
      id = decodeURIComponent(hash.slice(8));
    } catch {
      id = hash.slice(8);
    }
    return renderTrace(id);
  }
  if (hash.startsWith('#/map')) return renderMap();
  if (hash.startsWith('#/rejected')) return renderRejected();
  if (hash.startsWith('#/sampling')) return renderSampling();
  filtersFromHash();
  app.innerHTML = '';
  mountTraceForm();
  return renderTraces();
}

window.addEventListener('hashchange', route);
window.addEventListener('popstate', route);
route();

// Clears every trace: a same-origin JSON POST, the only kind the daemon takes.
document.getElementById('clear')?.addEventListener('click', async () => {
  if (!confirm('Forget every trace the daemon holds?')) return;
  await fetch('/api/clear', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  route();
});

const live = document.getElementById('live');
const events = new EventSource('/api/events');
let pending = false;
let lastDraw = 0;
events.addEventListener('update', (e) => {
  const stats = JSON.parse(e.data);
  const badge = document.getElementById('rejected-count');
  badge.textContent = stats.rejected;
  badge.classList.toggle('warn', stats.rejected > 0);
  const hash = location.hash || '#/traces';
  if (pending || hash.startsWith('#/trace/')) return;
  pending = true;
  // Re-draw the list (below its filter form, which keeps what is being typed) or the map, at most every
  // 400 ms however fast traces arrive, and in an idle moment of the page.
  const wait = Math.max(150, lastDraw + 400 - performance.now());
  setTimeout(() => {
    const draw = () => {
      pending = false;
      lastDraw = performance.now();
      // The page shown now, not the one of the update: a click may have left the map for the list in
      // the meantime (drawing the map then wiped the list and left "loading the service map").
      const current = location.hash || '#/traces';
      if (current.startsWith('#/traces')) renderTraces();
      else if (current.startsWith('#/map')) renderMap();
      else if (current.startsWith('#/rejected')) renderRejected();
      else if (current.startsWith('#/sampling')) renderSampling();
    };
    if (typeof requestIdleCallback === 'function') requestIdleCallback(draw, { timeout: 300 });
    else draw();
  }, wait);
});
events.addEventListener('open', () => live.classList.remove('off'));
events.addEventListener('error', () => live.classList.add('off'));
