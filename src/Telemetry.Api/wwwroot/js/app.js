// The dispatcher's dashboard and the analyst's view: one page, hash routes (#/, #/bins/{id}, #/analytics).
// Everything is built with DOM calls (textContent, never HTML from data); Leaflet and Chart.js come from /vendor.
import * as i18n from './i18n.js';

const { t } = i18n;
const L = window.L;
const Chart = window.Chart;

const STREAMS = ['recyclable', 'kitchen', 'hazardous', 'residual'];
const STREAM_COLOURS = { recyclable: '#1971c2', kitchen: '#2b8a3e', hazardous: '#c92a2a', residual: '#495057' };

const app = {
  session: null,
  fleet: null,
  bins: new Map(),
  live: 'connecting',
  source: null,
  view: null,
  filters: { community: '', stream: '', sort: 'fillDesc' },
  period: '24h',
  analytics: null,
  // Active alerts by id, kept by GET /api/alerts and the events of /api/alerts/stream.
  alerts: { items: new Map(), loaded: false, error: null, source: null, queue: null, generation: 0, live: 'connecting', acking: new Set(), retry: null, index: null },
  jobsState: 'open',
};

// ------------------------------------------------------------------ helpers

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: 'same-origin', ...options, headers: { Accept: 'application/json', ...(options.headers || {}) } });
  if (response.status === 401 && !options.signIn) {
    signedOut();
    throw new ApiError(401, t('signin.refused'));
  }
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      const problem = await response.json();
      message = problem.detail || problem.title || message;
    } catch { /* not a problem document: the status says it */ }
    throw new ApiError(response.status, message);
  }
  return response;
}

const json = async (path, options) => (await api(path, options)).json();

function main() { return document.getElementById('main'); }

function loading() { return el('p', { class: 'state loading', role: 'status', text: t('state.loading') }); }

function failure(error, retry) {
  return el('div', { class: 'state error', role: 'alert' },
    el('p', { text: t('state.error', { error: error.message || String(error) }) }),
    retry ? el('button', { type: 'button', onclick: retry, text: t('state.retry') }) : null);
}

function levelOf(pct) {
  const th = app.fleet.thresholds;
  if (pct === null || pct === undefined) return 'none';
  if (pct >= th.overflowPct) return 'full';
  if (pct >= th.collectionPct) return 'high';
  if (pct >= th.lowerPct) return 'mid';
  return 'low';
}

/** The fullest compartment of a bin (of one stream when given): its fill and id. */
function fullest(bin, stream) {
  let best = null;
  for (const c of bin.compartments) {
    if (stream && c.stream !== stream) continue;
    if (c.fillPct === null || c.fillPct === undefined) continue;
    if (!best || c.fillPct > best.fillPct) best = c;
  }
  return best;
}

/** The project clock, run on from its last reading (in the demo it runs faster than real time). */
function now() {
  const c = app.clock;
  return c ? c.now + (performance.now() - c.at) * c.rate : Date.now();
}

function registryBin(id) { return app.fleet.bins.find(b => b.id === id); }
function community(id) { return app.fleet.communities.find(c => c.id === id); }

function marks(bin) {
  const out = [];
  if (bin.online === false) out.push('offline');
  if (bin.battery !== null && bin.battery !== undefined && bin.battery <= app.fleet.thresholds.lowBatteryPct) out.push('battery');
  if (bin.tilt === true) out.push('tilt');
  return out;
}

const MARK_GLYPHS = { offline: '×', battery: '▁', tilt: '∠' };
const ALERT_GLYPHS = { critical: '!', warning: '!', info: 'i' };

function markLabel(mark) {
  return mark === 'battery' ? t('map.mark.battery', { pct: app.fleet.thresholds.lowBatteryPct }) : t(`map.mark.${mark}`);
}

// ------------------------------------------------------------------ header, session, live updates

function renderHeader() {
  const header = document.getElementById('header');
  header.replaceChildren();
  const route = location.hash || '#/';
  const nav = app.session ? el('nav', { 'aria-label': 'main' },
    el('a', { href: '#/', class: route === '#/' || route.startsWith('#/bins') || route.startsWith('#/sheet') ? 'active' : '', text: t('nav.map') }),
    el('a', { href: '#/analytics', class: route.startsWith('#/analytics') ? 'active' : '', text: t('nav.analytics') })) : null;
  const other = i18n.lang() === 'zh' ? 'en' : 'zh';
  header.append(
    el('div', { class: 'brand' },
      el('span', { class: 'logo', 'aria-hidden': 'true', text: '♻' }),
      el('div', {},
        el('strong', { text: t('app.title') }),
        el('span', { class: 'subtitle', text: t('app.subtitle', { district: app.fleet ? districtName() : '' }) }))),
    nav,
    el('div', { class: 'tools' },
      app.session ? el('button', { id: 'alerts-badge', type: 'button', class: 'alerts-badge', hidden: true, onclick: showAlerts }) : null,
      app.session ? el('span', { id: 'live', class: `live ${app.live}`, role: 'status', text: t(`live.${app.live}`) }) : null,
      el('button', {
        id: 'lang', type: 'button', class: 'lang', lang: other === 'zh' ? 'zh-CN' : 'en',
        'aria-label': t('nav.language'), text: other === 'zh' ? '中文' : 'English',
        onclick: () => { i18n.setLang(other); render(); },
      }),
      app.session ? el('span', { class: 'who', text: t('signin.as', { name: app.session.name, role: t(`role.${app.session.role}`) }) }) : null,
      app.session ? el('button', { id: 'signout', type: 'button', text: t('nav.signout'), onclick: signOut }) : null));
  paintAlertsBadge();
}

function districtName() {
  return i18n.named(app.fleet, 'district');
}

function setLive(state) {
  app.live = state;
  const badge = document.getElementById('live');
  if (badge) {
    badge.className = `live ${state}`;
    badge.textContent = t(`live.${state}`);
  }
}

function connectLive() {
  if (app.source) app.source.close();
  setLive('connecting');
  const source = new EventSource('/api/bins/stream');
  app.source = source;
  source.addEventListener('bins', e => {
    setLive('connected');
    const changed = JSON.parse(e.data);
    for (const b of changed) app.bins.set(b.id, b);
    app.view?.update?.(changed);
  });
  source.onerror = async () => {
    setLive('lost');
    if (source.readyState === EventSource.CLOSED) {
      // The stream was refused (an expired session answers 401): find out, then reconnect or sign in again.
      try {
        await json('/api/session');
        setTimeout(() => { if (app.source === source) connectLive(); }, 2000);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 401)) setTimeout(() => { if (app.source === source) connectLive(); }, 5000);
      }
    }
  };
}

function signedOut() {
  app.session = null;
  app.source?.close();
  app.source = null;
  stopAlerts();
  render();
}

async function signOut() {
  try {
    await api('/api/session', { method: 'DELETE' });
  } finally {
    signedOut();
  }
}

async function start() {
  document.documentElement.lang = i18n.locale();
  window.addEventListener('hashchange', render);
  main().replaceChildren(loading());
  try {
    const response = await fetch('/api/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    app.session = response.ok ? await response.json() : null;
  } catch {
    app.session = null;
  }
  if (app.session) await signedIn();
  else render();
}

async function signedIn() {
  main().replaceChildren(loading());
  try {
    app.fleet = await json('/api/fleet');
    app.clock = { at: performance.now(), now: Date.parse(app.fleet.clock.now), rate: app.fleet.clock.rate || 1 };
    i18n.setZone(app.fleet.timeZone);
    const bins = await json('/api/bins');
    app.bins = new Map(bins.map(b => [b.id, b]));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    renderHeader();
    main().replaceChildren(failure(error, signedIn));
    return;
  }
  connectLive();
  startAlerts();
  render();
}

function signInView() {
  const message = el('p', { id: 'signin-error', class: 'form-error', role: 'alert' });
  const input = el('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const button = el('button', { type: 'submit', class: 'primary', text: t('signin.submit') });
  const form = el('form', {
    id: 'signin', class: 'card signin',
    onsubmit: async e => {
      e.preventDefault();
      message.textContent = '';
      const key = input.value.trim();
      // A key is printable ASCII (telemetry keys new); anything else cannot be one, and fetch could not send it.
      if (!/^[\x21-\x7e]{1,512}$/.test(key)) { message.textContent = t('signin.refused'); return; }
      button.disabled = true;
      try {
        const response = await fetch('/api/session', { method: 'POST', credentials: 'same-origin', headers: { Authorization: `Bearer ${key}`, Accept: 'application/json' } });
        if (response.status === 401 || response.status === 403) { message.textContent = t('signin.refused'); return; }
        if (response.status === 429) { message.textContent = t('signin.limited'); return; }
        if (!response.ok) { message.textContent = t('signin.failed', { error: `HTTP ${response.status}` }); return; }
        app.session = await response.json();
        input.value = '';
        await signedIn();
      } catch (error) {
        message.textContent = t('signin.failed', { error: error.message });
      } finally {
        button.disabled = false;
      }
    },
  },
  el('h1', { text: t('signin.title') }),
  el('p', { text: t('signin.intro') }),
  el('label', { for: 'key', text: t('signin.key') }),
  input, button, message);
  return { node: el('section', { class: 'signin-page' }, form) };
}

// ------------------------------------------------------------------ alerts: the store, its stream, the panel

const SEVERITY_RANK = { info: 1, warning: 2, critical: 3 };
const ALERT_EVENTS = ['raised', 'cleared', 'escalated', 'refired', 'acknowledged'];

/** Dispatchers and admins act on alerts and jobs; analysts only read. */
function canAct() { return app.session?.role === 'dispatcher' || app.session?.role === 'admin'; }

function rank(severity) { return SEVERITY_RANK[severity] || 0; }

/** Most severe first, then the newest. */
function compareAlerts(a, b) {
  return rank(b.severity) - rank(a.severity) || (Date.parse(b.raisedAt) || 0) - (Date.parse(a.raisedAt) || 0) || a.id.localeCompare(b.id);
}

/** Per bin: how many active alerts and the highest severity among them. */
function alertIndex() {
  const store = app.alerts;
  if (!store.index) {
    store.index = new Map();
    for (const a of store.items.values()) {
      const entry = store.index.get(a.bin) || { count: 0, severity: null };
      entry.count++;
      if (rank(a.severity) > rank(entry.severity)) entry.severity = a.severity;
      store.index.set(a.bin, entry);
    }
  }
  return store.index;
}

function alertsOf(binId) { return alertIndex().get(binId) || null; }

function highestSeverity() {
  let top = null;
  for (const a of app.alerts.items.values()) if (rank(a.severity) > rank(top)) top = a.severity;
  return top;
}

/** Tells the header and the page which bins' alerts changed (null: any). */
function alertsChanged(bins) {
  app.alerts.index = null;
  paintAlertsBadge();
  app.view?.alerts?.(bins);
}

function paintAlertsBadge() {
  const badge = document.getElementById('alerts-badge');
  if (!badge) return;
  const n = app.alerts.items.size;
  const top = highestSeverity();
  badge.hidden = n === 0;
  badge.className = `alerts-badge${top ? ` alert-${top}` : ''}`;
  badge.dataset.count = String(n);
  badge.textContent = t('alerts.badge', { n });
  badge.title = t('alerts.badgeLabel', { n, severity: top ? t(`severity.${top}`) : t('none') });
}

/** The header's badge: to the fleet page's panel. */
function showAlerts() {
  const focus = () => document.getElementById('alerts')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  const route = location.hash || '#/';
  if (route === '#/' || route === '#' || route === '') focus();
  else {
    location.hash = '#/';
    setTimeout(focus, 0);
  }
}

function setAlertsLive(state) {
  app.alerts.live = state;
  app.view?.alertsLive?.(state);
}

function startAlerts() {
  stopAlerts();
  connectAlerts();
  loadAlerts();
}

function stopAlerts() {
  const store = app.alerts;
  store.source?.close();
  store.source = null;
  clearTimeout(store.retry);
  store.generation++;
  store.items = new Map();
  store.index = null;
  store.loaded = false;
  store.error = null;
  store.queue = null;
  store.acking.clear();
}

/**
 * The active alerts, afresh. Events that arrive while the request is out are held and applied after its answer
 * (each event carries the whole alert, so applying them in order after the snapshot ends at the newest state).
 */
async function loadAlerts() {
  const store = app.alerts;
  const mine = ++store.generation;
  store.queue = [];
  try {
    const list = await json('/api/alerts?state=active');
    if (mine !== store.generation) return;
    store.items = new Map(list.filter(a => a && a.id && !a.clearedAt).map(a => [a.id, a]));
    const held = store.queue;
    store.queue = null;
    for (const [type, alert] of held) applyAlertEvent(type, alert);
    store.loaded = true;
    store.error = null;
  } catch (error) {
    if (mine !== store.generation) return;
    for (const [type, alert] of store.queue || []) applyAlertEvent(type, alert);
    store.queue = null;
    if (error instanceof ApiError && error.status === 401) return;
    store.error = error;
  }
  alertsChanged(null);
}

function applyAlertEvent(type, alert) {
  const store = app.alerts;
  if (type === 'cleared' || alert.clearedAt) store.items.delete(alert.id);
  else {
    if (type === 'raised' && !store.items.has(alert.id)) alert = { ...alert, fresh: true };
    store.items.set(alert.id, alert);
  }
}

function connectAlerts() {
  const store = app.alerts;
  store.source?.close();
  clearTimeout(store.retry);
  setAlertsLive('connecting');
  const source = new EventSource('/api/alerts/stream');
  store.source = source;
  // Every (re)opening reloads the list: what happened while the stream was down is in it, whatever was replayed.
  source.onopen = () => {
    if (store.source !== source) return;
    setAlertsLive('connected');
    loadAlerts();
  };
  for (const type of ALERT_EVENTS) {
    source.addEventListener(type, e => {
      if (store.source !== source) return;
      let alert;
      try { alert = JSON.parse(e.data); } catch { return; }
      if (!alert || typeof alert.id !== 'string') return;
      if (store.queue) { store.queue.push([type, alert]); return; }
      applyAlertEvent(type, alert);
      alertsChanged([alert.bin]);
    });
  }
  source.onerror = async () => {
    if (store.source !== source) return;
    setAlertsLive('lost');
    if (source.readyState === EventSource.CLOSED) {
      // Refused (an expired session, or the stream is not served): find out, then try again or sign in again.
      const again = delay => { store.retry = setTimeout(() => { if (store.source === source) connectAlerts(); }, delay); };
      try {
        await json('/api/session');
        again(5000);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 401)) again(10000);
      }
    }
  };
}

/** POST /api/alerts/{id}/ack; say() shows the outcome in the panel. */
async function acknowledge(alert, say) {
  const store = app.alerts;
  if (store.acking.has(alert.id)) return;
  store.acking.add(alert.id);
  alertsChanged([alert.bin]);
  try {
    await api(`/api/alerts/${encodeURIComponent(alert.id)}/ack`, { method: 'POST' });
    // The stream's `acknowledged` event brings the server's own record; until then, this one.
    const current = store.items.get(alert.id);
    if (current && !current.acknowledgedAt) {
      store.items.set(alert.id, { ...current, acknowledgedAt: new Date(now()).toISOString(), acknowledgedBy: app.session?.name ?? null });
    }
    say(t('alerts.done'), 'good');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
      say(t(error.status === 404 ? 'alerts.gone' : 'alerts.alreadyCleared'), 'bad');
      store.items.delete(alert.id);
      loadAlerts();
    } else if (error instanceof ApiError && error.status === 403) say(t('alerts.forbidden'), 'bad');
    else say(t('alerts.failed', { error: error.message || String(error) }), 'bad');
  } finally {
    store.acking.delete(alert.id);
    alertsChanged([alert.bin]);
  }
}

function severityBadge(severity) {
  return el('span', { class: `severity severity-${severity}`, text: i18n.term('severity', severity) });
}

/** A message line under a panel's title: says what an action did; clears itself after a while. */
function noticeLine(id) {
  const line = el('p', { class: 'notice', id, role: 'status', hidden: true });
  let timer = null;
  const say = (text, tone) => {
    clearTimeout(timer);
    line.textContent = text;
    line.className = `notice ${tone || ''}`;
    line.hidden = !text;
    if (text) timer = setTimeout(() => { line.hidden = true; line.textContent = ''; }, 10_000);
  };
  return { line, say };
}

/** The list of active alerts: every one (the fleet page's #alerts) or one bin's (#bin-alerts on its page). */
function alertsPanel({ bin } = {}) {
  const id = bin ? 'bin-alerts' : 'alerts';
  const count = el('span', { class: 'count-badge', id: `${id}-count`, dataset: { count: '0' } });
  const lost = el('p', { class: 'stream-lost', role: 'status', hidden: true, text: t('alerts.lost') });
  const list = el('ul', { class: 'alert-list', 'aria-live': 'polite', 'aria-label': t(bin ? 'alerts.binTitle' : 'alerts.title') });
  const state = el('div', { class: 'alert-state' });
  const { line: notice, say } = noticeLine(`${id}-notice`);
  const node = el('section', { class: 'card alerts-panel', id, 'aria-labelledby': `${id}-title` },
    el('div', { class: 'card-head' },
      el('h2', { id: `${id}-title` }, t(bin ? 'alerts.binTitle' : 'alerts.title'), ' ', count)),
    lost, notice, state, list);
  const rows = new Map();

  function rowFor(a) {
    let row = rows.get(a.id);
    if (!row) {
      row = { li: el('li', { class: 'alert-row', dataset: { alertId: a.id } }), signature: '' };
      // Raised while the page was open: highlighted once.
      if (a.fresh) { row.li.classList.add('fresh'); delete a.fresh; }
      rows.set(a.id, row);
    }
    return row;
  }

  function paintRow(row, a) {
    const busy = app.alerts.acking.has(a.id);
    const signature = JSON.stringify([a.kind, a.severity, a.bin, a.compartment, a.raisedAt, a.acknowledgedAt, a.acknowledgedBy, busy, i18n.lang(), canAct()]);
    if (row.signature === signature) return;
    row.signature = signature;
    const li = row.li;
    const acknowledged = Boolean(a.acknowledgedAt);
    li.className = `alert-row severity-${a.severity}${acknowledged ? ' acknowledged' : ''}${li.classList.contains('fresh') ? ' fresh' : ''}`;
    Object.assign(li.dataset, { kind: a.kind, severity: a.severity, bin: a.bin, compartment: a.compartment ?? '', acknowledged: String(acknowledged) });
    const kind = i18n.term('kind', a.kind);
    const where = el('span', { class: 'alert-where' },
      el('a', { href: `#/bins/${encodeURIComponent(a.bin)}`, class: 'alert-bin', text: a.bin }),
      a.compartment ? el('span', { class: 'alert-compartment', text: i18n.material(a.compartment) }) : null);
    const raised = el('time', { datetime: a.raisedAt, title: i18n.dateTime(a.raisedAt), text: i18n.shortDateTime(a.raisedAt) });
    const meta = el('span', { class: 'alert-meta' },
      withTime(t('alerts.raised', { time: '\u0000' }), raised),
      acknowledged
        ? el('span', { class: 'acked', title: i18n.dateTime(a.acknowledgedAt) }, '✓ ',
          a.acknowledgedBy ? t('alerts.acked', { name: a.acknowledgedBy, time: i18n.shortDateTime(a.acknowledgedAt) }) : t('alerts.ackedShort'))
        : null);
    const action = canAct() && !acknowledged
      ? el('button', {
        type: 'button', class: 'ack', disabled: busy, 'aria-busy': busy ? 'true' : null,
        'aria-label': t('alerts.ackLabel', { kind, bin: a.bin }), text: t('alerts.ack'),
        onclick: () => acknowledge(a, say),
      })
      : null;
    li.replaceChildren(
      el('div', { class: 'alert-body' },
        el('div', { class: 'alert-line' }, severityBadge(a.severity), el('strong', { class: 'alert-kind', text: kind })),
        el('div', { class: 'alert-line' }, where, meta)),
      action || '');
  }

  function paint() {
    const store = app.alerts;
    const items = [...store.items.values()].filter(a => !bin || a.bin === bin).sort(compareAlerts);
    const top = items.length ? items[0].severity : null;
    count.textContent = String(items.length);
    count.dataset.count = String(items.length);
    count.className = `count-badge${top ? ` alert-${top}` : ''}`;
    count.title = t('alerts.count', { n: items.length });
    lost.hidden = store.live !== 'lost';
    if (!store.loaded && store.error) state.replaceChildren(failure(store.error, loadAlerts));
    else if (!store.loaded) state.replaceChildren(loading());
    else if (items.length === 0) state.replaceChildren(el('p', { class: 'state empty', id: `${id}-empty`, text: t(bin ? 'alerts.binEmpty' : 'alerts.empty') }));
    else state.replaceChildren();
    const keep = new Set(items.map(a => a.id));
    for (const key of rows.keys()) if (!keep.has(key)) rows.delete(key);
    const ordered = items.map(a => { const row = rowFor(a); paintRow(row, a); return row.li; });
    // Moved only when the order changed: a button under a finger stays where it is.
    const current = [...list.children];
    if (current.length !== ordered.length || current.some((li, i) => li !== ordered[i])) list.replaceChildren(...ordered);
  }

  return { node, paint, live: () => { lost.hidden = app.alerts.live !== 'lost'; } };
}

/** A translated sentence with an element where its placeholder was ("Raised {time}" with a <time>). */
function withTime(sentence, element) {
  const [before, after] = sentence.split('\u0000');
  return el('span', {}, before, element, after ?? '');
}

// ------------------------------------------------------------------ collection jobs

const JOB_STATES = ['open', 'requested', 'planned', 'completed', 'cancelled', 'all'];
const OPEN_JOB = new Set(['requested', 'planned']);

function compareJobs(a, b) {
  const open = j => (OPEN_JOB.has(j.state) ? 0 : 1);
  const urgent = j => (j.priority === 'urgent' ? 0 : 1);
  const deadline = j => (j.deadline ? Date.parse(j.deadline) : Infinity);
  return open(a) - open(b) || urgent(a) - urgent(b) || deadline(a) - deadline(b)
    || (Date.parse(b.requestedAt) || 0) - (Date.parse(a.requestedAt) || 0) || String(a.id).localeCompare(String(b.id));
}

/**
 * Collection jobs: every one of a state (the fleet page's #jobs, with a state filter) or one bin's open jobs
 * (#bin-jobs on its page). Refreshed every 10 s while shown, and after each action.
 */
function jobsPanel({ bin, onJobs } = {}) {
  const id = bin ? 'bin-jobs' : 'jobs';
  const stateFilter = () => (bin ? 'open' : app.jobsState);
  const stateSelect = bin ? null : el('select', { id: 'jobs-state', onchange: e => { app.jobsState = e.target.value; rows.clear(); tbody.replaceChildren(); load(); } },
    ...JOB_STATES.map(s => el('option', { value: s, selected: app.jobsState === s, text: t(`jobs.filter.${s}`) })));
  const count = el('span', { class: 'count-badge', id: `${id}-count`, dataset: { count: '0' } });
  const { line: notice, say } = noticeLine(`${id}-notice`);
  const state = el('div', { class: 'jobs-state' }, loading());
  const columns = [
    bin ? null : ['bin', 'jobs.col.bin'],
    ['compartments', 'jobs.col.compartments'], ['stream', 'jobs.col.stream'], ['reason', 'jobs.col.reason'],
    ['priority', 'jobs.col.priority'], ['deadline', 'jobs.col.deadline'], ['state', 'jobs.col.state'], ['vehicle', 'jobs.col.vehicle'],
    canAct() ? ['actions', 'jobs.col.actions'] : null,
  ].filter(Boolean);
  const tbody = el('tbody');
  const table = el('table', { class: 'jobs', id: `${id}-table`, hidden: true },
    el('thead', {}, el('tr', {}, ...columns.map(([key, label]) => el('th', { scope: 'col', class: `col-${key}`, text: t(label) })))),
    tbody);
  const node = el('section', { class: 'card jobs-panel', id, 'aria-labelledby': `${id}-title` },
    el('div', { class: 'card-head' },
      el('h2', { id: `${id}-title` }, t(bin ? 'jobs.binTitle' : 'jobs.title'), ' ', count),
      stateSelect ? el('label', { class: 'inline-label' }, el('span', { text: t('jobs.show') }), stateSelect) : null),
    notice, state, el('div', { class: 'table-wrap' }, table));
  const rows = new Map();
  const busy = new Set();
  let timer = null;
  let generation = 0;
  let loaded = false;
  let stopped = false;

  async function load() {
    const mine = ++generation;
    const filter = stateFilter();
    let jobs;
    try {
      jobs = await json(`/api/jobs?state=${encodeURIComponent(filter)}`);
    } catch (error) {
      if (mine !== generation || stopped) return;
      if (error instanceof ApiError && error.status === 401) return;
      // A failed refresh keeps the table it had; a failed first load says so in its place.
      if (loaded) say(t('jobs.refreshFailed', { error: error.message || String(error) }), 'bad');
      else state.replaceChildren(failure(error, load));
      return;
    }
    if (mine !== generation || stopped) return;
    loaded = true;
    if (bin) jobs = jobs.filter(j => j.bin === bin);
    paint(jobs.sort(compareJobs));
    onJobs?.(jobs);
  }

  function paint(jobs) {
    count.textContent = String(jobs.length);
    count.dataset.count = String(jobs.length);
    count.className = `count-badge${jobs.some(j => j.priority === 'urgent' && OPEN_JOB.has(j.state)) ? ' urgent' : ''}`;
    count.title = t('jobs.count', { n: jobs.length });
    table.hidden = jobs.length === 0;
    state.replaceChildren(jobs.length === 0
      ? el('p', { class: 'state empty', id: `${id}-empty`, text: t(bin ? 'jobs.binEmpty' : stateFilter() === 'open' ? 'jobs.empty' : 'jobs.none') })
      : '');
    const keep = new Set(jobs.map(j => j.id));
    for (const key of rows.keys()) if (!keep.has(key)) rows.delete(key);
    const ordered = jobs.map(job => {
      let row = rows.get(job.id);
      if (!row) { row = { tr: el('tr', { dataset: { jobId: job.id } }), signature: '' }; rows.set(job.id, row); }
      paintRow(row, job);
      return row.tr;
    });
    const current = [...tbody.children];
    if (current.length !== ordered.length || current.some((tr, i) => tr !== ordered[i])) tbody.replaceChildren(...ordered);
  }

  function paintRow(row, job) {
    const open = OPEN_JOB.has(job.state);
    const overdue = open && job.deadline && Date.parse(job.deadline) < now();
    const signature = JSON.stringify([job, busy.has(job.id), overdue]);
    if (row.signature === signature) return;
    row.signature = signature;
    const tr = row.tr;
    Object.assign(tr.dataset, { state: job.state, priority: job.priority, bin: job.bin });
    tr.className = `${job.priority === 'urgent' ? 'urgent' : ''}${open ? '' : ' closed'}`.trim();
    const cells = {
      bin: () => el('a', { href: `#/bins/${encodeURIComponent(job.bin)}`, text: job.bin }),
      compartments: () => (job.compartments || []).map(c => el('span', { class: 'pill', text: i18n.material(c) })),
      stream: () => [el('span', { class: `stream-dot stream-${job.stream}` }), i18n.term('stream', job.stream)],
      reason: () => i18n.term('reason', job.reason),
      priority: () => el('span', { class: `pill priority-${job.priority}${job.priority === 'urgent' ? ' bad' : ''}`, text: `${job.priority === 'urgent' ? '! ' : ''}${i18n.term('priority', job.priority)}` }),
      deadline: () => job.deadline
        ? [el('time', { datetime: job.deadline, title: i18n.dateTime(job.deadline), text: i18n.shortDateTime(job.deadline) }),
          overdue ? el('span', { class: 'overdue', text: ` · ${t('jobs.overdue')}` }) : null]
        : t('none'),
      state: () => el('span', {
        class: `pill job-state job-${job.state}`,
        title: job.requestedAt ? t('jobs.requestedBy', { time: i18n.dateTime(job.requestedAt), name: job.requestedBy || t('none') }) : null,
        text: i18n.term('job', job.state),
      }),
      vehicle: () => job.vehicle ? el('span', { class: 'vehicle', text: String(job.vehicle) }) : t('none'),
      actions: () => open ? el('div', { class: 'row-actions' },
        el('button', { type: 'button', class: 'complete', disabled: busy.has(job.id), 'aria-label': t('jobs.completeLabel', { bin: job.bin }), text: t('jobs.complete'), onclick: () => act(job, 'complete') }),
        el('button', { type: 'button', class: 'cancel', disabled: busy.has(job.id), 'aria-label': t('jobs.cancelLabel', { bin: job.bin }), text: t('jobs.cancel'), onclick: () => act(job, 'cancel') }))
        : null,
    };
    // data-label: the column's name, shown above each field where the rows become cards (upright tablets).
    tr.replaceChildren(...columns.map(([key, label]) => el('td', { class: `col-${key}`, dataset: { label: t(label) } }, cells[key]())));
  }

  async function act(job, action) {
    if (busy.has(job.id)) return;
    busy.add(job.id);
    // Both buttons of the row disabled while the request is out.
    for (const b of rows.get(job.id)?.tr.querySelectorAll('button') || []) b.disabled = true;
    try {
      await json(`/api/jobs/${encodeURIComponent(job.id)}/${action}`, { method: 'POST' });
      say(t(action === 'complete' ? 'jobs.completed' : 'jobs.cancelledDone'), 'good');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      if (error instanceof ApiError && error.status === 404) say(t('jobs.gone'), 'bad');
      else if (error instanceof ApiError && error.status === 409) say(t('jobs.notOpen'), 'bad');
      else if (error instanceof ApiError && error.status === 403) say(t('jobs.forbidden'), 'bad');
      else say(t('jobs.failed', { error: error.message || String(error) }), 'bad');
    } finally {
      busy.delete(job.id);
      if (rows.get(job.id)) rows.get(job.id).signature = '';
      if (!stopped) load();
    }
  }

  return {
    node,
    load,
    say,
    start() {
      stopped = false;
      load();
      // Not while the tab is hidden: the next visible tick catches up.
      timer = setInterval(() => { if (!document.hidden) load(); }, 10_000);
    },
    stop() { stopped = true; generation++; clearInterval(timer); },
  };
}

/** A bin's "Request collection": its compartments to tick, those an open job covers greyed out. */
function requestForm(reg, jobs) {
  const boxes = new Map();
  const { line: notice, say } = noticeLine('request-notice');
  const button = el('button', { type: 'submit', class: 'primary', id: 'request-job', text: t('jobs.request') });
  const choices = el('div', { class: 'choices' }, ...reg.compartments.map(c => {
    const box = el('input', { type: 'checkbox', name: 'compartment', value: c.id, id: `request-${c.id}` });
    const note = el('span', { class: 'covered', hidden: true, text: `(${t('jobs.covered')})` });
    boxes.set(c.id, { box, note });
    return el('label', { class: 'choice', for: `request-${c.id}` }, box, el('span', { class: `stream-dot stream-${c.stream}` }), i18n.material(c.id), note);
  }));
  const form = el('form', {
    id: 'request-collection', class: 'request',
    onsubmit: async e => {
      e.preventDefault();
      const compartments = [...boxes].filter(([, b]) => b.box.checked && !b.box.disabled).map(([c]) => c);
      if (compartments.length === 0) { say(t('jobs.pickOne'), 'bad'); return; }
      button.disabled = true;
      try {
        await json('/api/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ bin: reg.id, compartments }) });
        for (const c of compartments) boxes.get(c).box.checked = false;
        say(t('jobs.requestedDone'), 'good');
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return;
        if (error instanceof ApiError && error.status === 409) say(t('jobs.conflict'), 'bad');
        else if (error instanceof ApiError && error.status === 403) say(t('jobs.forbidden'), 'bad');
        else say(t('jobs.failed', { error: error.message || String(error) }), 'bad');
      } finally {
        button.disabled = false;
        jobs.load();
      }
    },
  },
  el('fieldset', {}, el('legend', { text: t('jobs.pick') }), choices),
  el('div', { class: 'request-actions' }, button, notice));

  return {
    node: form,
    /** Greys out the compartments an open job of this bin already covers. */
    covered(open) {
      const taken = new Set(open.filter(j => OPEN_JOB.has(j.state)).flatMap(j => j.compartments || []));
      for (const [c, { box, note }] of boxes) {
        box.disabled = taken.has(c);
        if (box.disabled) box.checked = false;
        note.hidden = !taken.has(c);
      }
    },
  };
}

// ------------------------------------------------------------------ routes: the map layer, the panel, the driver's sheet

/** How often the fleet page asks for the plans and the trucks' positions (real time). */
const ROUTES_EVERY_MS = 5000;

function routesQuery(vehicle) { return vehicle ? `/api/routes?vehicle=${encodeURIComponent(vehicle)}` : '/api/routes'; }

function sheetHref(route) { return `#/sheet/${encodeURIComponent(route.planId)}/${encodeURIComponent(route.vehicle)}`; }

/** "07:00–15:00" in the registry's zone, with the local day. */
function shiftText(route) {
  return t('routes.shift', { day: i18n.day(route.shiftStart), from: i18n.time(route.shiftStart), to: i18n.time(route.shiftEnd) });
}

function binStops(route) { return route.stops.filter(s => s.kind === 'bin'); }

function stopLabel(stop) {
  return stop.kind === 'facility' || stop.kind === 'depot' ? i18n.named(stop) : `${stop.place} · ${i18n.named(stop)}`;
}

/** POST /api/jobs/{id}/complete or /cancel for a job on a route; say() reports. */
async function closeJob(jobId, action, say) {
  try {
    await json(`/api/jobs/${encodeURIComponent(jobId)}/${action}`, { method: 'POST' });
    say(t(action === 'complete' ? 'jobs.completed' : 'jobs.cancelledDone'), 'good');
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return false;
    if (error instanceof ApiError && error.status === 404) say(t('jobs.gone'), 'bad');
    else if (error instanceof ApiError && error.status === 409) say(t('jobs.notOpen'), 'bad');
    else if (error instanceof ApiError && error.status === 403) say(t('jobs.forbidden'), 'bad');
    else say(t('jobs.failed', { error: error.message || String(error) }), 'bad');
    return false;
  }
}

/**
 * The routes of the fleet page: each vehicle's route on the map (a line in its stream's colour, numbered stops with their
 * ETA, the truck at its latest position) and in the panel (stops, distance, trips, the sheet; a dispatcher completes or
 * cancels a stop's job), and the jobs a plan left out. GET /api/routes every few seconds while shown.
 */
function routesPanel({ onJobChanged } = {}) {
  const count = el('span', { class: 'count-badge', id: 'routes-count', dataset: { count: '0' } });
  const toggle = el('input', { type: 'checkbox', id: 'routes-toggle', checked: app.showRoutes !== false, onchange: e => { app.showRoutes = e.target.checked; paintLayer(); } });
  const { line: notice, say } = noticeLine('routes-notice');
  const state = el('div', { class: 'routes-state' }, loading());
  const list = el('div', { class: 'route-list', id: 'route-list' });
  const unserved = el('div', { class: 'unserved', id: 'unserved' });
  const waiting = el('div', { class: 'waiting', id: 'routes-waiting' });
  const node = el('section', { class: 'card routes-panel', id: 'routes', 'aria-labelledby': 'routes-title' },
    el('div', { class: 'card-head' },
      el('h2', { id: 'routes-title' }, t('routes.title'), ' ', count),
      el('label', { class: 'inline-label', for: 'routes-toggle' }, toggle, el('span', { text: t('routes.onMap') }))),
    notice, state, list, waiting, unserved);
  let map = null;
  const lines = L.layerGroup();
  const trucks = L.layerGroup();
  const truckMarkers = new Map();
  let answer = null;
  let drawn = '';
  let listed = '';
  let timer = null;
  let generation = 0;
  let stopped = false;

  async function load() {
    const mine = ++generation;
    let next;
    try {
      next = await json(routesQuery());
    } catch (error) {
      if (mine !== generation || stopped) return;
      if (error instanceof ApiError && error.status === 401) return;
      if (answer) say(t('routes.refreshFailed', { error: error.message || String(error) }), 'bad');
      else state.replaceChildren(failure(error, load));
      return;
    }
    if (mine !== generation || stopped) return;
    answer = next;
    paint();
  }

  function paint() {
    if (!answer) return;
    const routes = answer.routes;
    count.textContent = String(routes.length);
    count.dataset.count = String(routes.length);
    count.title = t('routes.count', { n: routes.length });
    state.replaceChildren(routes.length === 0 ? el('p', { class: 'state empty', id: 'routes-empty', text: t('routes.empty') }) : '');
    const waits = answer.waiting || [];
    const signature = JSON.stringify([routes.map(r => [r.planId, r.revision, r.vehicle]), answer.unserved, waits, i18n.lang(), canAct()]);
    if (signature !== listed) {
      listed = signature;
      list.replaceChildren(...routes.map(routeCard));
      // Shifts that started without a truck: their jobs wait for the stream's following shift (Routing:WaitOverflowHours).
      waiting.replaceChildren(...(waits.length === 0 ? [] : [
        el('h3', { text: t('routes.waiting', { n: waits.length }) }),
        el('ul', { class: 'waiting-list' }, ...waits.map(w => el('li', { dataset: { planId: w.planId, stream: w.stream } },
          el('span', { class: `stream-dot stream-${w.stream}` }),
          el('strong', { text: i18n.term('stream', w.stream) }), ' ',
          el('span', { class: 'route-shift', text: shiftText(w) }), ' · ',
          el('span', { class: 'waiting-why', text: t('routes.waitingWhy', {
            jobs: w.jobs, next: `${i18n.day(w.followingStart)} ${i18n.time(w.followingStart)}`,
            hours: i18n.number(w.overflowHours, 1), limit: i18n.number(w.waitOverflowHours, 0) }) }))))]));
      unserved.replaceChildren(...(answer.unserved.length === 0 ? [] : [
        el('h3', { text: t('routes.unserved', { n: answer.unserved.length }) }),
        el('ul', { class: 'unserved-list' }, ...answer.unserved.map(u => el('li', { dataset: { jobId: u.jobId, bin: u.bin } },
          el('span', { class: `stream-dot stream-${u.stream}` }),
          el('a', { href: `#/bins/${encodeURIComponent(u.bin)}`, text: u.bin }), ' · ',
          el('span', { class: 'reason', text: i18n.term('unserved', u.reason) }))))]));
    }
    paintLayer();
  }

  function routeCard(route) {
    const stops = binStops(route);
    const items = route.stops.filter(s => s.kind !== 'depot' || s.seq === 0).map(s => el('li', { dataset: { seq: String(s.seq), place: s.place, kind: s.kind } },
      el('span', { class: 'stop-seq', text: s.seq === 0 ? '' : String(s.seq) }),
      el('time', { datetime: s.eta, class: 'stop-eta', text: i18n.time(s.eta) }),
      el('span', { class: 'stop-name', text: stopLabel(s) }),
      s.compartments.length ? el('span', { class: 'stop-compartments' }, ...s.compartments.map(c => el('span', { class: 'pill', text: i18n.material(c) }))) : null,
      canAct() && s.jobId ? el('span', { class: 'row-actions' },
        el('button', { type: 'button', class: 'complete', 'aria-label': t('jobs.completeLabel', { bin: s.place }), text: t('jobs.complete'), onclick: e => act(e.target, s.jobId, 'complete') }),
        el('button', { type: 'button', class: 'cancel', 'aria-label': t('jobs.cancelLabel', { bin: s.place }), text: t('jobs.cancel'), onclick: e => act(e.target, s.jobId, 'cancel') }))
        : null));
    return el('article', { class: `route-card stream-edge-${route.stream}`, dataset: { vehicle: route.vehicle, planId: route.planId, stream: route.stream } },
      el('div', { class: 'route-head' },
        el('span', { class: `stream-dot stream-${route.stream}` }),
        el('strong', { class: 'route-vehicle', text: route.vehicle }),
        el('span', { class: 'route-stream', text: i18n.term('stream', route.stream) }),
        el('span', { class: 'route-shift', text: shiftText(route) })),
      el('div', { class: 'route-figures', text: t('routes.figures', { stops: stops.length, km: i18n.number(route.distanceKm, 1), trips: route.trips }) }),
      el('div', { class: 'route-actions' },
        el('button', { type: 'button', class: 'show-route', text: t('routes.show'), onclick: () => focus(route) }),
        el('a', { class: 'button sheet-link', href: sheetHref(route), text: t('routes.sheet') })),
      el('details', { class: 'route-stops' }, el('summary', { text: t('routes.stops', { n: stops.length }) }), el('ol', {}, ...items)));
  }

  async function act(button, jobId, action) {
    const row = button.closest('li');
    for (const b of row.querySelectorAll('button')) b.disabled = true;
    const done = await closeJob(jobId, action, say);
    for (const b of row.querySelectorAll('button')) b.disabled = false;
    if (done) onJobChanged?.();
    if (!stopped) load();
  }

  function focus(route) {
    if (!map) return;
    const points = route.stops.map(s => [s.map.latitude, s.map.longitude]);
    if (points.length) map.fitBounds(L.latLngBounds(points), { padding: [30, 30] });
    if (app.showRoutes === false) { app.showRoutes = true; toggle.checked = true; paintLayer(); }
    document.getElementById('map')?.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
  }

  function paintLayer() {
    if (!map || !answer) return;
    const shown = app.showRoutes !== false;
    if (shown && !map.hasLayer(lines)) { lines.addTo(map); trucks.addTo(map); }
    if (!shown && map.hasLayer(lines)) { lines.remove(); trucks.remove(); }
    const signature = JSON.stringify([answer.routes.map(r => [r.planId, r.revision, r.vehicle]), i18n.lang()]);
    if (signature !== drawn) {
      drawn = signature;
      lines.clearLayers();
      for (const route of answer.routes) drawRoute(route);
    }
    // Trucks move in place (their markers are kept), so a tooltip or a tap on one is not lost at every refresh.
    const seen = new Set();
    for (const v of answer.vehicles) {
      seen.add(v.id);
      const at = [v.map.latitude, v.map.longitude];
      const tip = el('span', { text: t('routes.truck', { id: v.id, stream: i18n.term('stream', v.stream), speed: i18n.number(v.speedKmh, 0), time: i18n.dateTime(v.ts) }) });
      let marker = truckMarkers.get(v.id);
      if (!marker) {
        marker = L.marker(at, { keyboard: false, zIndexOffset: 1000, icon: L.divIcon({ className: '', html: el('span', { class: `truck-marker stream-${v.stream}`, dataset: { vehicle: v.id }, text: v.id }), iconSize: null }) })
          .bindTooltip(tip).addTo(trucks);
        truckMarkers.set(v.id, marker);
      } else {
        marker.setLatLng(at);
        marker.setTooltipContent(tip);
      }
      const e = marker.options.icon.options.html;
      e.dataset.lat = String(v.lat);
      e.dataset.lon = String(v.lon);
      e.dataset.ts = v.ts;
    }
    for (const [id, marker] of truckMarkers) if (!seen.has(id)) { marker.remove(); truckMarkers.delete(id); }
  }

  function drawRoute(route) {
    const colour = STREAM_COLOURS[route.stream] || '#333';
    const points = route.stops.map(s => [s.map.latitude, s.map.longitude]);
    const line = L.polyline(points, { color: colour, weight: 4, opacity: 0.85, className: `route-line route-${route.stream}`, interactive: false });
    // Leaflet makes a new path element each time the layer is added (the switch hides and shows it): named on every add.
    line.on('add', () => {
      const path = line.getElement();
      if (path) Object.assign(path.dataset, { vehicle: route.vehicle, stream: route.stream, planId: route.planId, points: String(points.length) });
    });
    line.addTo(lines);
    for (const s of route.stops) {
      if (s.kind === 'depot') continue;
      const marker = el('span', { class: `stop-marker stream-${route.stream} kind-${s.kind}`, dataset: { vehicle: route.vehicle, seq: String(s.seq), place: s.place, eta: s.eta } },
        el('span', { class: 'stop-number', text: String(s.seq) }),
        el('span', { class: 'stop-time', text: i18n.time(s.eta) }));
      L.marker([s.map.latitude, s.map.longitude], { keyboard: false, zIndexOffset: 500, icon: L.divIcon({ className: '', html: marker, iconSize: [22, 22] }) })
        .bindTooltip(el('span', { text: t('routes.stopTip', { vehicle: route.vehicle, seq: s.seq, name: stopLabel(s), eta: i18n.time(s.eta) }) }))
        .addTo(lines);
    }
  }

  return {
    node,
    attach(m) { map = m; paintLayer(); },
    start() {
      stopped = false;
      load();
      timer = setInterval(() => { if (!document.hidden) load(); }, ROUTES_EVERY_MS);
    },
    stop() { stopped = true; generation++; clearInterval(timer); },
  };
}

/** A vehicle's route as a sheet for its driver: stops in order with addresses, compartments, ETA and load; printable. */
function routeSheetView(planId, vehicle) {
  const body = el('div', { class: 'sheet-body' }, loading());
  const node = el('section', { class: 'sheet', id: 'route-sheet', dataset: { vehicle, planId } },
    el('div', { class: 'sheet-tools no-print' },
      el('a', { href: '#/', class: 'back', text: t('sheet.back') }),
      el('button', { type: 'button', id: 'print', class: 'primary', text: t('sheet.print'), onclick: () => window.print() })),
    body);
  let generation = 0;

  async function load() {
    const mine = ++generation;
    let answer;
    try {
      answer = await json(routesQuery(vehicle));
    } catch (error) {
      if (mine === generation) body.replaceChildren(failure(error, load));
      return;
    }
    if (mine !== generation || app.view?.node !== node) return;
    const mineRoutes = answer.routes.filter(r => r.vehicle === vehicle);
    const route = mineRoutes.find(r => r.planId === planId) || null;
    if (!route) {
      body.replaceChildren(el('p', { class: 'state error', role: 'alert', id: 'sheet-missing', text: t('sheet.missing', { vehicle }) }),
        ...mineRoutes.map(r => el('p', {}, el('a', { href: sheetHref(r), text: t('sheet.other', { shift: shiftText(r) }) }))));
      return;
    }
    paint(route);
  }

  function paint(route) {
    const depot = route.stops[0];
    const row = (label, value) => [el('dt', { text: label }), el('dd', {}, value)];
    const stops = route.stops;
    const table = el('table', { class: 'sheet-stops', id: 'sheet-stops' },
      el('thead', {}, el('tr', {}, ...['seq', 'eta', 'departs', 'stop', 'address', 'compartments', 'kg', 'load', 'done']
        .map(c => el('th', { scope: 'col', class: `col-${c}`, text: t(`sheet.col.${c}`) })))),
      el('tbody', {}, ...stops.map(s => el('tr', { dataset: { seq: String(s.seq), place: s.place, kind: s.kind } },
        el('td', { class: 'col-seq', text: String(s.seq) }),
        el('td', { class: 'col-eta' }, el('time', { datetime: s.eta, text: i18n.time(s.eta) })),
        el('td', { class: 'col-departs' }, el('time', { datetime: s.departs, text: i18n.time(s.departs) })),
        el('td', { class: 'col-stop', text: s.kind === 'bin' ? s.place : t(`stop.${s.kind}`) }),
        el('td', { class: 'col-address', text: i18n.named(s) }),
        el('td', { class: 'col-compartments', text: s.compartments.map(c => i18n.material(c)).join(i18n.lang() === 'zh' ? '、' : ', ') }),
        el('td', { class: 'col-kg num', text: s.kind === 'depot' ? '' : i18n.number(s.kg, 0) }),
        el('td', { class: 'col-load num', text: i18n.number(s.loadKg, 0) }),
        el('td', { class: 'col-done', text: s.kind === 'depot' ? '' : '☐' })))));
    body.replaceChildren(
      el('h1', { id: 'sheet-title', text: t('sheet.title', { vehicle: route.vehicle }) }),
      el('dl', { class: 'sheet-meta', id: 'sheet-meta' },
        ...row(t('sheet.vehicle'), route.vehicle),
        ...row(t('sheet.stream'), i18n.term('stream', route.stream)),
        ...row(t('sheet.shift'), shiftText(route)),
        ...row(t('sheet.depot'), i18n.named(depot)),
        ...row(t('sheet.summary'), t('routes.figures', { stops: binStops(route).length, km: i18n.number(route.distanceKm, 1), trips: route.trips })),
        ...row(t('sheet.planned'), t('sheet.plannedAt', { time: i18n.dateTime(route.plannedAt), revision: route.revision }))),
      el('div', { class: 'table-wrap' }, table),
      el('p', { class: 'sheet-foot', text: t('sheet.foot', { zone: app.fleet.timeZone }) }));
    document.title = `${t('sheet.title', { vehicle: route.vehicle })} · ${districtName()}`;
  }

  return { node, mounted() { load(); }, destroy() { generation++; } };
}

// ------------------------------------------------------------------ router

function render() {
  app.view?.destroy?.();
  app.view = null;
  renderHeader();
  let view;
  if (!app.session) view = signInView();
  else if (!app.fleet) { main().replaceChildren(loading()); return; }
  else {
    const route = location.hash || '#/';
    const bin = route.match(/^#\/bins\/([^/]+)$/);
    if (bin) {
      let id;
      try { id = decodeURIComponent(bin[1]); } catch { id = bin[1]; }
      view = binView(id);
    }
    else if (route.startsWith('#/analytics')) view = analyticsView();
    else if (route.match(/^#\/sheet\/([^/]+)\/([^/]+)$/)) {
      const [, plan, vehicle] = route.match(/^#\/sheet\/([^/]+)\/([^/]+)$/);
      let ids;
      try { ids = [decodeURIComponent(plan), decodeURIComponent(vehicle)]; } catch { ids = [plan, vehicle]; }
      view = routeSheetView(ids[0], ids[1]);
    }
    else view = fleetView();
  }
  app.view = view;
  main().replaceChildren(view.node);
  view.mounted?.();
  document.title = `${t('app.title')} · ${app.fleet ? districtName() : ''}`;
}

// ------------------------------------------------------------------ fleet: map and list

function fleetView() {
  const th = app.fleet.thresholds;
  const mapEl = el('div', { id: 'map', class: 'map', role: 'region', 'aria-label': t('map.title') });
  const legend = el('ul', { class: 'legend', 'aria-label': t('map.legend') },
    el('li', { class: 'legend-title', text: t('map.legend') }),
    ...['none', 'low', 'mid', 'high', 'full'].map(level => el('li', {},
      el('span', { class: `swatch level-${level}` }),
      level === 'none' ? t('map.level.none')
        : level === 'low' ? t('map.level.low', { pct: th.lowerPct })
          : level === 'mid' ? t('map.level.mid', { from: th.lowerPct, to: th.collectionPct })
            : level === 'high' ? t('map.level.high', { from: th.collectionPct })
              : t('map.level.full', { pct: th.overflowPct }))),
    ...['offline', 'battery', 'tilt'].map(mark => el('li', {}, el('span', { class: `mark mark-${mark}`, text: MARK_GLYPHS[mark] }), markLabel(mark))),
    el('li', {}, el('span', { class: 'facility-swatch' }), t('map.facility')),
    el('li', {}, el('span', { class: 'route-swatch' }), t('map.route')),
    el('li', {}, el('span', { class: 'truck-swatch', text: '▶' }), t('map.truck')),
    el('li', { class: 'legend-title', text: t('map.alerts') }),
    ...['critical', 'warning', 'info'].map(sev => el('li', { dataset: { alertSeverity: sev } },
      el('span', { class: `swatch alert-ring alert-${sev}` }),
      el('span', { class: `mark mark-alert alert-${sev}`, text: ALERT_GLYPHS[sev] }),
      t('map.alert', { severity: t(`severity.${sev}`) }))));

  const communitySelect = el('select', { id: 'filter-community', onchange: e => { app.filters.community = e.target.value; refreshList(); refreshMarkers(); } },
    el('option', { value: '', text: t('list.all') }),
    ...app.fleet.communities.map(c => el('option', { value: c.id, selected: app.filters.community === c.id, text: i18n.named(c) })));
  const streamSelect = el('select', { id: 'filter-stream', onchange: e => { app.filters.stream = e.target.value; refreshList(); refreshMarkers(); } },
    el('option', { value: '', text: t('list.all') }),
    ...STREAMS.map(s => el('option', { value: s, selected: app.filters.stream === s, text: t(`stream.${s}`) })));
  const sortSelect = el('select', { id: 'sort', onchange: e => { app.filters.sort = e.target.value; refreshList(); } },
    ...['fillDesc', 'fillAsc', 'id'].map(s => el('option', { value: s, selected: app.filters.sort === s, text: t(`list.sort.${s}`) })));
  const count = el('p', { id: 'bin-count', class: 'count', role: 'status' });
  const tbody = el('tbody');
  const table = el('table', { id: 'bin-list', class: 'bins' },
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col', text: t('col.bin') }),
      el('th', { scope: 'col', text: t('col.community') }),
      el('th', { scope: 'col', class: 'fill-col' },
        el('button', { type: 'button', class: 'sort-toggle', id: 'sort-fill', onclick: () => { app.filters.sort = app.filters.sort === 'fillDesc' ? 'fillAsc' : 'fillDesc'; sortSelect.value = app.filters.sort; refreshList(); } }, t('col.fill'), ' ⇅')),
      el('th', { scope: 'col', text: t('col.status') }),
      el('th', { scope: 'col', class: 'optional', text: t('col.lastSeen') }))),
    tbody);

  const alerts = alertsPanel();
  const jobs = jobsPanel();
  const routes = routesPanel({ onJobChanged: () => jobs.load() });
  const node = el('div', { class: 'fleet-page' },
    el('section', { class: 'fleet' },
      el('div', { class: 'map-panel card' }, mapEl, legend),
      // The side column: the alerts above the list; on a desktop it is as tall as the map and each part scrolls inside.
      el('div', { class: 'side' }, el('div', { class: 'side-inner' },
        alerts.node,
        el('div', { class: 'list-panel card' },
          el('h2', { text: t('list.title') }),
          el('div', { class: 'filters' },
            el('label', {}, el('span', { text: t('list.community') }), communitySelect),
            el('label', {}, el('span', { text: t('list.stream') }), streamSelect),
            el('label', {}, el('span', { text: t('list.sort') }), sortSelect)),
          count,
          el('div', { class: 'table-wrap' }, table))))),
    routes.node,
    jobs.node);

  let map = null;
  const markers = new Map();
  let pending = false;

  const streamsOf = new Map(app.fleet.bins.map(b => [b.id, new Set(b.compartments.map(c => c.stream))]));

  /** In the community filter, and with a compartment of the stream filter (bins without one fade on the map). */
  function visible(bin) {
    return (!app.filters.community || bin.community === app.filters.community)
      && (!app.filters.stream || streamsOf.get(bin.id)?.has(app.filters.stream));
  }

  function markerElement(id) {
    const e = el('span', { class: 'bin-marker', dataset: { bin: id } }, el('span', { class: 'badges' }));
    return e;
  }

  function paintMarker(id) {
    const marker = markers.get(id);
    const bin = app.bins.get(id);
    if (!marker || !bin) return;
    const e = marker.options.icon.options.html;
    const top = fullest(bin, app.filters.stream);
    const level = levelOf(top?.fillPct);
    const alerted = alertsOf(id);
    e.dataset.level = level;
    e.className = `bin-marker level-${level}${alerted ? ` alert-${alerted.severity}` : ''}`;
    if (alerted) {
      e.dataset.alertSeverity = alerted.severity;
      e.dataset.alerts = String(alerted.count);
    } else {
      delete e.dataset.alertSeverity;
      delete e.dataset.alerts;
    }
    const m = marks(bin);
    e.dataset.marks = m.join(' ');
    const badges = m.map(mark => el('span', { class: `mark mark-${mark}`, text: MARK_GLYPHS[mark] }));
    if (alerted) badges.unshift(el('span', { class: `mark mark-alert alert-${alerted.severity}`, text: ALERT_GLYPHS[alerted.severity] || '!' }));
    e.firstChild.replaceChildren(...badges);
    const reg = registryBin(id);
    const alertText = alerted ? ` · ${t('map.alertsOf', { n: alerted.count, severity: i18n.term('severity', alerted.severity) })}` : '';
    // An element, never a string: Leaflet puts string content in as HTML.
    marker.setTooltipContent(el('span', { text: `${id} · ${i18n.named(reg, 'address')} · ${top ? i18n.percent(top.fillPct) : t('map.level.none')}${m.length ? ' · ' + m.map(markLabel).join(', ') : ''}${alertText}` }));
    marker.setOpacity(visible(bin) ? 1 : 0.2);
  }

  function refreshMarkers() { for (const id of markers.keys()) paintMarker(id); }

  /** The list redrawn once per frame, however many events came. */
  function scheduleList() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; refreshList(); });
  }

  // Rows are kept per bin and updated in place: a live event never replaces the row under a click or the focus.
  const rowsById = new Map();

  function rowFor(bin) {
    let row = rowsById.get(bin.id);
    if (!row) {
      const tr = el('tr', { dataset: { bin: bin.id }, onclick: e => { if (!e.target.closest('a')) location.hash = `#/bins/${encodeURIComponent(bin.id)}`; } },
        el('td', {}, el('a', { href: `#/bins/${encodeURIComponent(bin.id)}`, text: bin.id })),
        el('td', { text: i18n.named(community(bin.community)) }),
        el('td', { class: 'fill-cell' }),
        el('td', { class: 'status-cell' }),
        el('td', { class: 'optional' }));
      row = { tr, signature: '' };
      rowsById.set(bin.id, row);
    }
    return row;
  }

  function paintRow(row, bin, top) {
    const level = levelOf(top?.fillPct);
    const m = marks(bin);
    const alerted = alertsOf(bin.id);
    const signature = JSON.stringify([level, top?.fillPct, top?.id, bin.online, bin.battery, bin.tilt, bin.lastSeen, m, alerted]);
    if (row.signature === signature) return;
    row.signature = signature;
    row.tr.dataset.level = level;
    row.tr.className = alerted ? `alert-${alerted.severity}` : '';
    if (alerted) row.tr.dataset.alertSeverity = alerted.severity;
    else delete row.tr.dataset.alertSeverity;
    const [, , fillCell, statusCell, seenCell] = row.tr.children;
    const bar = el('span', { class: `bar-fill level-${level}` });
    // Bar widths through CSSOM (the content security policy allows no inline style attributes).
    bar.style.width = `${Math.min(100, top?.fillPct ?? 0)}%`;
    fillCell.replaceChildren(
      el('span', { class: 'bar' }, bar),
      el('span', { class: 'pct', text: top ? i18n.percent(top.fillPct) : t('none') }),
      top ? el('span', { class: 'material', text: i18n.material(top.id) }) : '');
    statusCell.replaceChildren(
      el('span', { class: `pill ${bin.online === false ? 'bad' : bin.online ? 'good' : ''}`, text: t(bin.online === false ? 'status.offline' : bin.online ? 'status.online' : 'status.unknown') }),
      bin.battery !== null && bin.battery !== undefined
        ? el('span', { class: `pill ${m.includes('battery') ? 'bad' : ''}`, title: t('col.battery') }, el('span', { class: 'battery-icon', 'aria-hidden': 'true' }), i18n.percent(bin.battery))
        : '',
      bin.tilt ? el('span', { class: 'pill bad', text: t('status.tilt') }) : '',
      alerted ? el('span', {
        class: `pill alert-pill alert-${alerted.severity}`,
        title: t('map.alertsOf', { n: alerted.count, severity: i18n.term('severity', alerted.severity) }),
        text: t('list.alerts', { severity: i18n.term('severity', alerted.severity), n: alerted.count }),
      }) : '');
    seenCell.textContent = i18n.dateTime(bin.lastSeen);
  }

  function refreshList() {
    const rows = [...app.bins.values()].filter(visible).map(bin => ({ bin, top: fullest(bin, app.filters.stream) }));
    const fill = r => r.top?.fillPct ?? -1;
    if (app.filters.sort === 'fillDesc') rows.sort((a, b) => fill(b) - fill(a) || a.bin.id.localeCompare(b.bin.id));
    else if (app.filters.sort === 'fillAsc') rows.sort((a, b) => fill(a) - fill(b) || a.bin.id.localeCompare(b.bin.id));
    else rows.sort((a, b) => a.bin.id.localeCompare(b.bin.id));
    count.textContent = t('list.count', { shown: rows.length, total: app.bins.size });
    if (rows.length === 0) {
      tbody.replaceChildren(el('tr', {}, el('td', { colspan: 5, class: 'state', text: t('state.noBins') })));
      return;
    }
    const ordered = rows.map(({ bin, top }) => { const row = rowFor(bin); paintRow(row, bin, top); return row.tr; });
    // Moved only when the order changed (the same row elements, so a click in progress still lands).
    const current = [...tbody.children];
    if (current.length !== ordered.length || current.some((tr, i) => tr !== ordered[i])) tbody.replaceChildren(...ordered);
  }

  return {
    node,
    mounted() {
      const tiles = app.fleet.map;
      map = L.map(mapEl, { zoomSnap: 0.25, zoomControl: false, attributionControl: false, maxZoom: tiles.maxZoom || 19 });
      L.control.zoom({ zoomInTitle: t('map.zoomIn'), zoomOutTitle: t('map.zoomOut') }).addTo(map);
      if (tiles.tileUrl) {
        L.tileLayer(tiles.tileUrl, { maxZoom: tiles.maxZoom || 18, subdomains: tiles.subdomains || 'abc' }).addTo(map);
        if (tiles.attribution) {
          // Leaflet writes attribution as HTML: the setting is shown as text.
          L.control.attribution({ prefix: false }).addAttribution(escapeHtml(tiles.attribution)).addTo(map);
        }
      } else {
        mapEl.classList.add('plain');
      }
      L.control.scale({ imperial: false }).addTo(map);
      const points = [];
      // Community names at the middle of their bins, shown when zoomed in.
      for (const c of app.fleet.communities) {
        const bins = app.fleet.bins.filter(b => b.community === c.id);
        if (bins.length === 0) continue;
        const lat = bins.reduce((s, b) => s + b.map.latitude, 0) / bins.length;
        const lon = bins.reduce((s, b) => s + b.map.longitude, 0) / bins.length;
        L.marker([lat, lon], { interactive: false, keyboard: false, icon: L.divIcon({ className: 'community-label', html: el('span', { text: i18n.named(c) }), iconSize: null }) }).addTo(map);
      }
      for (const f of app.fleet.facilities) {
        const ll = [f.map.latitude, f.map.longitude];
        points.push(ll);
        L.marker(ll, { keyboard: false, icon: L.divIcon({ className: '', html: el('span', { class: `facility-marker kind-${f.kind}`, dataset: { facility: f.id }, text: t(`facility.${f.kind}`).slice(0, 1) }), iconSize: [24, 24] }) })
          .bindTooltip(el('span', { text: `${t(`facility.${f.kind}`)}: ${i18n.named(f)}` })).addTo(map);
      }
      for (const b of app.fleet.bins) {
        const ll = [b.map.latitude, b.map.longitude];
        points.push(ll);
        const marker = L.marker(ll, { title: b.id, alt: b.id, riseOnHover: true, icon: L.divIcon({ className: '', html: markerElement(b.id), iconSize: [22, 22] }) })
          .bindTooltip(el('span', { text: b.id }))
          .on('click', () => { location.hash = `#/bins/${encodeURIComponent(b.id)}`; })
          .addTo(map);
        markers.set(b.id, marker);
      }
      map.fitBounds(L.latLngBounds(points), { padding: [24, 24] });
      const zoomClass = () => mapEl.classList.toggle('show-communities', map.getZoom() >= 14);
      map.on('zoomend', zoomClass);
      zoomClass();
      refreshMarkers();
      refreshList();
      alerts.paint();
      jobs.start();
      routes.attach(map);
      routes.start();
    },
    alerts(bins) {
      alerts.paint();
      if (bins) for (const id of bins) paintMarker(id);
      else refreshMarkers();
      scheduleList();
    },
    alertsLive() { alerts.live(); },
    update(changed) {
      for (const b of changed) paintMarker(b.id);
      scheduleList();
    },
    destroy() { jobs.stop(); routes.stop(); map?.remove(); },
  };
}

// ------------------------------------------------------------------ one bin

const PERIODS = {
  '24h': { hours: 24, every: '15m', tick: 6 * 3600_000, ahead: 24, forecastEvery: '30m' },
  '7d': { hours: 24 * 7, every: '1h', tick: 86400_000, ahead: 72, forecastEvery: '1h' },
  '30d': { hours: 24 * 30, every: '6h', tick: 5 * 86400_000, ahead: 24 * 7, forecastEvery: '6h' },
};

/** Instants from..to at multiples of step after a local midnight in the registry's zone. */
function localTicks(from, to, step) {
  const origin = i18n.localMidnight(i18n.localDate(from));
  const ticks = [];
  for (let v = origin + Math.ceil((from - origin) / step) * step; v <= to; v += step) ticks.push(v);
  return ticks;
}

function binView(id) {
  const reg = registryBin(id);
  if (!reg) {
    return { node: el('section', { class: 'bin-page' }, el('a', { href: '#/', class: 'back', text: t('bin.back') }), el('p', { class: 'state error', role: 'alert', text: t('bin.notFound', { id }) })) };
  }
  const health = el('dl', { class: 'health', id: 'device-health' });
  const compartments = el('div', { class: 'compartments', id: 'compartments' });
  const charts = el('div', { class: 'charts', id: 'charts' }, loading());
  const events = el('div', { class: 'events', id: 'events' }, loading());
  const periodSelect = el('select', { id: 'period', onchange: e => { app.period = e.target.value; loadHistory(); } },
    ...Object.keys(PERIODS).map(p => el('option', { value: p, selected: app.period === p, text: t(`period.${p}`) })));
  const instances = [];
  const alerts = alertsPanel({ bin: id });
  let request = null;
  const jobs = jobsPanel({ bin: id, onJobs: open => request?.covered(open) });
  if (canAct()) {
    request = requestForm(reg, jobs);
    jobs.node.append(request.node);
  }

  const node = el('section', { class: 'bin-page', id: 'bin-page', dataset: { bin: id } },
    el('a', { href: '#/', class: 'back', text: t('bin.back') }),
    el('div', { class: 'bin-title' },
      el('h1', { text: id }),
      el('p', { class: 'address', text: `${i18n.named(community(reg.community))} · ${i18n.named(reg, 'address')}` })),
    el('div', { class: 'bin-grid' },
      el('div', { class: 'card' }, el('h2', { text: t('bin.health') }), health),
      el('div', { class: 'card' }, el('h2', { text: t('bin.compartments') }), compartments)),
    el('div', { class: 'bin-grid bin-actions' }, alerts.node, jobs.node),
    el('div', { class: 'card' },
      el('div', { class: 'card-head' },
        el('h2', { text: t('bin.history') }),
        el('label', {}, el('span', { text: t('bin.period') }), periodSelect)),
      charts),
    el('div', { class: 'card' }, el('h2', { text: t('bin.events') }), events));

  function paint() {
    const bin = app.bins.get(id);
    if (!bin) return;
    const row = (label, value, cls) => [el('dt', { text: label }), el('dd', { class: cls || '' }, value)];
    const time = iso => iso ? el('time', { datetime: iso, text: i18n.dateTime(iso) }) : t('none');
    health.replaceChildren(
      ...row(t('bin.online'), t(bin.online === false ? 'status.offline' : bin.online ? 'status.online' : 'status.unknown'), bin.online === false ? 'bad' : ''),
      ...row(t('bin.lastSeen'), time(bin.lastSeen)),
      ...row(t('bin.battery'), i18n.percent(bin.battery), marks(bin).includes('battery') ? 'bad' : ''),
      ...row(t('bin.temp'), bin.tempC === null || bin.tempC === undefined ? t('none') : t('unit.c', { n: i18n.number(bin.tempC) })),
      ...row(t('bin.tilt'), bin.tilt === null || bin.tilt === undefined ? t('none') : t(bin.tilt ? 'bin.tilt.yes' : 'bin.tilt.no'), bin.tilt ? 'bad' : ''),
      ...row(t('bin.door'), bin.doorOpen === null || bin.doorOpen === undefined ? t('none') : t(bin.doorOpen ? 'bin.door.yes' : 'bin.door.no')));
    compartments.replaceChildren(...bin.compartments.map(c => {
      const level = levelOf(c.fillPct);
      const bar = el('span', { class: `bar-fill level-${level}` });
      bar.style.width = `${Math.min(100, c.fillPct ?? 0)}%`;
      return el('div', { class: 'compartment', dataset: { compartment: c.id, level } },
        el('div', { class: 'compartment-head' },
          el('span', { class: `stream-dot stream-${c.stream}` }),
          el('strong', { text: i18n.material(c.id) }),
          el('span', { class: 'pct', text: i18n.percent(c.fillPct) })),
        el('span', { class: 'bar' }, bar),
        el('div', { class: 'compartment-meta' },
          el('span', { text: `${t('bin.weight')}: ${i18n.kg(c.netKg)}` }),
          prediction(c.prediction, 'threshold', t('bin.reaches', { pct: i18n.percent(c.prediction?.thresholdPct ?? app.fleet.thresholds.collectionPct) })),
          prediction(c.prediction, 'full', t('bin.full'))));
    }));
  }

  /** "Reaches 80 %: Tue 14:00 (12:30 – 16:10)": the predicted time and its 80 % band, or why there is none. */
  function prediction(p, which, label) {
    if (!p) return null;
    const at = p[`${which}At`];
    const low = p[`${which}Low`];
    const high = p[`${which}High`];
    const madeAt = Date.parse(p.madeAt);
    let text;
    if (!at) text = t('bin.beyond');
    else if (Date.parse(at) <= madeAt) text = t('bin.now');
    else text = `${i18n.shortDateTime(at)} (${t('bin.band', { from: low ? i18n.shortDateTime(low) : '…', to: high ? i18n.shortDateTime(high) : '…' })})`;
    return el('span', { class: 'prediction', title: t('chart.band'), dataset: { predicted: which, at: at || '' }, text: `${label}: ${text}` });
  }

  async function loadEvents(from, to, mine) {
    let answer;
    try {
      answer = await json(`/api/bins/${encodeURIComponent(id)}/events?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`);
    } catch (error) {
      if (mine === generation) events.replaceChildren(failure(error, loadHistory));
      return null;
    }
    if (mine !== generation || app.view?.node !== node) return null;
    try {
      paintEvents(answer);
    } catch (error) {
      events.replaceChildren(failure(error, loadHistory));
      return null;
    }
    return answer;
  }

  function paintEvents(answer) {
    const rows = [
      ...answer.collections.map(c => ({ time: c.time, kind: 'collection', text: t('event.collected', { material: i18n.material(c.compartment), kg: i18n.kg(c.kgCollected), before: i18n.percent(c.fillBeforePct) }), compartment: c.compartment })),
      ...answer.deviceEvents.map(d => ({ time: d.time, kind: d.kind, text: d.kind === 'reboot' ? `seq → ${d.seq ?? '?'}` : '', compartment: '' })),
    ].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
    if (rows.length === 0) {
      events.replaceChildren(el('p', { class: 'state empty', text: t('events.none') }));
    } else {
      events.replaceChildren(el('table', { class: 'events-table' },
        el('thead', {}, el('tr', {}, el('th', { text: t('events.time') }), el('th', { text: t('events.what') }), el('th', { text: t('events.detail') }))),
        el('tbody', {}, ...rows.map(r => el('tr', { dataset: { kind: r.kind, compartment: r.compartment } },
          el('td', {}, el('time', { datetime: r.time, text: i18n.dateTime(r.time) })),
          el('td', { text: t(`event.${r.kind}`) }),
          el('td', { text: r.text }))))));
    }
  }

  let generation = 0;

  async function loadHistory() {
    // Only the newest request draws: an answer to an older period (or after leaving the page) is dropped.
    const mine = ++generation;
    for (const c of instances.splice(0)) c.destroy();
    charts.replaceChildren(loading());
    const period = PERIODS[app.period];
    const to = Math.round(now());
    const from = to - period.hours * 3600_000;
    const until = to + period.ahead * 3600_000;
    events.replaceChildren(loading());
    // Events and the forecast are extras of the charts: if either fails, the charts are drawn without it.
    const eventsLoaded = loadEvents(from, to, mine).catch(() => null);
    const forecastLoaded = json(`/api/bins/${encodeURIComponent(id)}/forecast?every=${period.forecastEvery}`).catch(() => ({ compartments: [] }));
    let history;
    try {
      history = await json(`/api/bins/${encodeURIComponent(id)}/history?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&every=${period.every}`);
    } catch (error) {
      charts.replaceChildren(failure(error, loadHistory));
      return;
    }
    const [forecast, collected] = await Promise.all([forecastLoaded, eventsLoaded]);
    if (mine !== generation || app.view?.node !== node) return;
    const withTime = period.hours <= 24;
    const any = history.compartments.some(c => c.buckets.length > 0);
    if (!any) {
      charts.replaceChildren(el('p', { class: 'state empty', text: t('state.noData') }));
      return;
    }
    charts.replaceChildren();
    for (const c of history.compartments) {
      const canvas = el('canvas', { dataset: { chart: `history-${c.id}` }, role: 'img', 'aria-label': `${i18n.material(c.id)}: ${t('chart.fill')}, ${t('chart.weight')}` });
      const box = el('figure', { class: 'chart-box', dataset: { compartment: c.id } },
        el('figcaption', {}, el('span', { class: `stream-dot stream-${c.stream}` }), i18n.material(c.id)),
        el('div', { class: 'chart-area' }, canvas));
      charts.append(box);
      const fill = c.buckets.filter(b => (b.cleanPct ?? b.fillPct) !== null).map(b => ({ x: Date.parse(b.start), y: b.cleanPct ?? b.fillPct }));
      const raw = c.buckets.filter(b => b.fillPct !== null).map(b => ({ x: Date.parse(b.start), y: b.fillPct }));
      const weight = c.buckets.filter(b => b.netKg !== null).map(b => ({ x: Date.parse(b.start), y: b.netKg }));
      const curve = (forecast.compartments.find(f => f.id === c.id)?.curve || [])
        .map(p => ({ x: Date.parse(p.time), y: p.pct, low: p.lowPct, high: p.highPct })).filter(p => p.x <= until);
      const emptied = (collected?.collections || []).filter(e => e.compartment === c.id)
        .map(e => ({ x: Date.parse(e.time), y: e.fillBeforePct })).filter(p => p.x >= from);
      const colour = STREAM_COLOURS[c.stream] || '#333';
      const chart = new Chart(canvas, {
        type: 'line',
        data: {
          datasets: [
            { label: t('chart.clean'), data: fill, borderColor: colour, backgroundColor: colour + '22', fill: true, yAxisID: 'pct', pointRadius: 0, borderWidth: 2, tension: 0.2 },
            { label: t('chart.raw'), data: raw, borderColor: colour + '66', yAxisID: 'pct', pointRadius: 0, borderWidth: 1 },
            { label: t('chart.weight'), data: weight, borderColor: '#868e96', borderDash: [4, 3], yAxisID: 'kg', pointRadius: 0, borderWidth: 1.5, stepped: true },
            { label: t('chart.forecast'), data: curve, borderColor: colour, borderDash: [6, 4], yAxisID: 'pct', pointRadius: 0, borderWidth: 2 },
            { label: t('chart.band'), data: curve.map(p => ({ x: p.x, y: p.high })), borderColor: 'transparent', backgroundColor: colour + '33', fill: '+1', yAxisID: 'pct', pointRadius: 0 },
            { label: '', data: curve.map(p => ({ x: p.x, y: p.low })), borderColor: 'transparent', yAxisID: 'pct', pointRadius: 0 },
            { label: t('chart.collection'), type: 'scatter', data: emptied, borderColor: '#212529', backgroundColor: '#fff', pointStyle: 'triangle', pointRadius: 6, rotation: 180, yAxisID: 'pct' },
          ],
        },
        options: {
          locale: i18n.locale(),
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          parsing: false,
          interaction: { mode: 'index', intersect: false },
          scales: {
            x: {
              type: 'linear', min: from, max: until,
              ticks: { callback: v => i18n.axisTime(v, withTime) },
              // Ticks on whole local hours or days (every 6 h, every day, every 5 days), not wherever the scale lands.
              afterBuildTicks: axis => { axis.ticks = localTicks(from, until, period.tick).map(value => ({ value })); },
            },
            pct: { position: 'left', min: 0, max: 100, title: { display: true, text: t('chart.fill') } },
            kg: { position: 'right', min: 0, grid: { drawOnChartArea: false }, title: { display: true, text: t('chart.weight') } },
          },
          plugins: {
            legend: { labels: { boxWidth: 12, filter: item => item.text !== '' } },
            tooltip: { callbacks: { title: items => items.length ? i18n.dateTime(items[0].parsed.x) : '' } },
          },
        },
      });
      canvas.dataset.points = String(fill.length + weight.length);
      canvas.dataset.forecast = String(curve.length);
      canvas.dataset.collections = String(emptied.length);
      instances.push(chart);
    }
  }

  return {
    node,
    mounted() { paint(); alerts.paint(); jobs.start(); loadHistory(); },
    update(changed) { if (changed.some(b => b.id === id)) paint(); },
    alerts(bins) { if (!bins || bins.includes(id)) alerts.paint(); },
    alertsLive() { alerts.live(); },
    destroy() { generation++; jobs.stop(); for (const c of instances.splice(0)) c.destroy(); },
  };
}

// ------------------------------------------------------------------ diversion

function analyticsView() {
  const today = i18n.localDate(now());
  const weekAgo = i18n.localDate(now() - 6 * 86400_000);
  const saved = app.analytics || { from: weekAgo, to: today, groupBy: 'community', community: '', bin: '' };
  const from = el('input', { id: 'from', type: 'date', value: saved.from, required: true, min: '2000-01-01', max: '2099-12-31' });
  const to = el('input', { id: 'to', type: 'date', value: saved.to, required: true, min: '2000-01-01', max: '2099-12-31' });
  const groupBy = el('select', { id: 'group-by' }, ...['community', 'stream', 'material', 'day'].map(g => el('option', { value: g, selected: saved.groupBy === g, text: t(`group.${g}`) })));
  const communitySelect = el('select', { id: 'analytics-community' },
    el('option', { value: '', text: t('list.all') }),
    ...app.fleet.communities.map(c => el('option', { value: c.id, selected: saved.community === c.id, text: i18n.named(c) })));
  const binSelect = el('select', { id: 'analytics-bin' });
  const fillBins = () => {
    const chosen = binSelect.value || saved.bin;
    binSelect.replaceChildren(el('option', { value: '', text: t('list.all') }),
      ...app.fleet.bins.filter(b => !communitySelect.value || b.community === communitySelect.value)
        .map(b => el('option', { value: b.id, selected: chosen === b.id, text: `${b.id} · ${i18n.named(b, 'address')}` })));
  };
  communitySelect.addEventListener('change', () => { binSelect.value = ''; fillBins(); });
  fillBins();
  const error = el('p', { class: 'form-error', role: 'alert', id: 'analytics-error' });
  const csv = el('button', { id: 'csv', type: 'button', disabled: true, text: t('analytics.csv') });
  const results = el('div', { id: 'analytics-results' });
  let chart = null;
  let query = null;
  let generation = 0;

  function currentQuery() {
    const date = /^(20\d\d)-\d\d-\d\d$/;
    if (!date.test(from.value) || !date.test(to.value) || to.value < from.value) return null;
    const start = i18n.localMidnight(from.value);
    const [y, m, d] = to.value.split('-').map(Number);
    const next = new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
    const end = i18n.localMidnight(next);
    if (end - start > 366 * 86400_000) return null;
    const q = new URLSearchParams({ from: new Date(start).toISOString(), to: new Date(end).toISOString(), groupBy: groupBy.value });
    if (communitySelect.value) q.set('community', communitySelect.value);
    if (binSelect.value) q.set('bin', binSelect.value);
    return q;
  }

  function groupName(grouping, groupKey, g) {
    switch (grouping) {
      case 'community': return i18n.named(community(groupKey)) || g.name;
      case 'stream': return t(`stream.${groupKey}`);
      case 'material': return i18n.material(groupKey);
      default: {
        const [y, m, d] = groupKey.split('-').map(Number);
        return new Intl.DateTimeFormat(i18n.locale(), { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric', weekday: 'short' }).format(new Date(Date.UTC(y, m - 1, d)));
      }
    }
  }

  async function show(e) {
    e?.preventDefault();
    error.textContent = '';
    const q = currentQuery();
    if (!q) { error.textContent = t('analytics.badPeriod'); return; }
    app.analytics = { from: from.value, to: to.value, groupBy: groupBy.value, community: communitySelect.value, bin: binSelect.value };
    const mine = ++generation;
    const grouping = q.get('groupBy');
    const period = { from: from.value, to: to.value };
    chart?.destroy();
    chart = null;
    csv.disabled = true;
    results.replaceChildren(loading());
    let report;
    try {
      report = await json(`/api/analytics/diversion?${q}`);
    } catch (err) {
      results.replaceChildren(failure(err, show));
      return;
    }
    // Only the newest request is shown (the table, the chart and the CSV always belong to one query).
    if (mine !== generation || app.view?.node !== node) return;
    query = q;
    csv.dataset.period = `${period.from}-${period.to}`;
    csv.disabled = false;
    const totalKg = STREAMS.reduce((s, k) => s + report.total.depositedKg[k], 0);
    const summary = el('div', { class: 'summary', id: 'analytics-summary' },
      el('div', { class: 'figure lead' }, el('span', { text: t('analytics.rate') }), el('strong', { dataset: { rate: report.total.diversionRate ?? '' }, text: i18n.rate(report.total.diversionRate) })),
      ...STREAMS.map(s => el('div', { class: 'figure' }, el('span', {}, el('span', { class: `stream-dot stream-${s}` }), t(`stream.${s}`)), el('strong', { text: i18n.kg(report.total.depositedKg[s]) }))));
    if (report.groups.length === 0 || totalKg === 0) {
      results.replaceChildren(summary, el('p', { class: 'state empty', text: t('state.noDeposits') }));
      return;
    }
    const canvas = el('canvas', { id: 'analytics-chart', role: 'img', 'aria-label': t('analytics.title') });
    const table = el('table', { id: 'analytics-table', class: 'report' },
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col', text: t(`group.${grouping}`) }),
        ...STREAMS.map(s => el('th', { scope: 'col', class: 'num', text: `${t(`stream.${s}`)} (kg)` })),
        el('th', { scope: 'col', class: 'num', text: t('analytics.rate') }))),
      el('tbody', {}, ...report.groups.map(g => el('tr', { dataset: { key: g.key } },
        el('th', { scope: 'row', text: groupName(grouping, g.key, g) }),
        ...STREAMS.map(s => el('td', { class: 'num', dataset: { stream: s, kg: g.depositedKg[s] }, text: i18n.number(g.depositedKg[s], 1) })),
        el('td', { class: 'num', dataset: { rate: g.diversionRate ?? '' }, text: i18n.rate(g.diversionRate) })))),
      el('tfoot', {}, el('tr', { dataset: { key: 'total' } },
        el('th', { scope: 'row', text: t('analytics.total') }),
        ...STREAMS.map(s => el('td', { class: 'num', dataset: { stream: s, kg: report.total.depositedKg[s] }, text: i18n.number(report.total.depositedKg[s], 1) })),
        el('td', { class: 'num', text: i18n.rate(report.total.diversionRate) }))));
    results.replaceChildren(summary,
      el('div', { class: 'chart-area wide' }, canvas),
      el('div', { class: 'table-wrap' }, table));
    chart?.destroy();
    chart = new Chart(canvas, {
      type: 'bar',
      data: {
        labels: report.groups.map(g => groupName(grouping, g.key, g)),
        datasets: [
          ...STREAMS.map(s => ({ type: 'bar', label: t(`stream.${s}`), data: report.groups.map(g => g.depositedKg[s]), backgroundColor: STREAM_COLOURS[s], stack: 'kg', yAxisID: 'kg' })),
          { type: 'line', label: t('analytics.rate'), data: report.groups.map(g => g.diversionRate === null ? null : g.diversionRate * 100), borderColor: '#f08c00', backgroundColor: '#f08c00', yAxisID: 'rate', pointRadius: 3 },
        ],
      },
      options: {
        locale: i18n.locale(),
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true, ticks: { autoSkip: true, maxRotation: 60 } },
          kg: { stacked: true, position: 'left', title: { display: true, text: 'kg' }, ticks: { callback: v => i18n.number(v, 0) } },
          rate: { position: 'right', min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: t('analytics.rate') }, ticks: { callback: v => i18n.percent(v) } },
        },
        plugins: { legend: { labels: { boxWidth: 12 } } },
      },
    });
    canvas.dataset.groups = String(report.groups.length);
  }

  csv.addEventListener('click', async () => {
    if (!query) return;
    error.textContent = '';
    try {
      const response = await api(`/api/analytics/diversion?${query}`, { headers: { Accept: 'text/csv' } });
      const blob = await response.blob();
      const a = el('a', { href: URL.createObjectURL(blob), download: `diversion-${query.get('groupBy')}-${csv.dataset.period}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (err) {
      error.textContent = t('state.error', { error: err.message });
    }
  });

  const node = el('section', { class: 'analytics', id: 'analytics' },
    el('div', { class: 'card' },
      el('h1', { text: t('analytics.title') }),
      el('p', { class: 'intro', text: t('analytics.intro', { zone: app.fleet.timeZone }) }),
      el('form', { class: 'filters', id: 'analytics-form', onsubmit: show },
        el('label', {}, el('span', { text: t('analytics.from') }), from),
        el('label', {}, el('span', { text: t('analytics.to') }), to),
        el('label', {}, el('span', { text: t('analytics.groupBy') }), groupBy),
        el('label', {}, el('span', { text: t('analytics.community') }), communitySelect),
        el('label', {}, el('span', { text: t('analytics.bin') }), binSelect),
        el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', id: 'show', text: t('analytics.show') }), csv)),
      error),
    el('div', { class: 'card' }, results));

  return { node, mounted() { show(); }, destroy() { generation++; chart?.destroy(); } };
}

start();
