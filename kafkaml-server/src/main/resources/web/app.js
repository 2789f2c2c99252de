/*
 * kafkaml dashboard: one static page over the REST API (/api/v1) and its Server-Sent Events; no build step.
 * Pages are hash routes (#/models, #/configurations, #/deployments[/<id>], #/datasources, #/inferences).
 * Every form is checked here before it is sent; the server's one-line reason is shown where the action was taken.
 */
'use strict';

const API = '/api/v1';
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

/* What a page started (event streams, timers), closed when another page is shown. */
let running = [];

function stopRunning() {
  running.forEach((stop) => { try { stop(); } catch (e) { /* already closed */ } });
  running = [];
}

/* ---------- DOM and HTTP helpers ---------- */

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.substring(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, reason) {
    super(reason);
    this.status = status;
  }
}

function token() {
  return localStorage.getItem('kafkaml.token');
}

/* Calls the API; resolves to the parsed JSON (or null), rejects with an ApiError carrying the server's reason. */
async function api(method, path, body, contentType) {
  const headers = {};
  let payload = body;
  if (body !== undefined && body !== null && !(body instanceof Blob) && !(body instanceof ArrayBuffer)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  } else if (contentType) {
    headers['Content-Type'] = contentType;
  }
  if (method !== 'GET') headers['X-Requested-With'] = 'kafkaml-dashboard'; // body-less POSTs too (stop, cancel)
  if (method !== 'GET' && token()) headers['Authorization'] = 'Bearer ' + token();
  let response;
  try {
    response = await fetch(API + path, { method, headers, body: payload });
  } catch (e) {
    throw new ApiError(0, 'The kafkaml server cannot be reached (' + e.message + ')');
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = text; }
  }
  if (!response.ok) {
    if (response.status === 401) askToken();
    const reason = data && typeof data === 'object' ? (data.reason || data.error || JSON.stringify(data)) : (data || response.statusText);
    throw new ApiError(response.status, reason);
  }
  return data;
}

function askToken() {
  const given = window.prompt('This server needs a bearer token for changes. Token:');
  if (given) localStorage.setItem('kafkaml.token', given.trim());
  showTokenState();
}

function showTokenState() {
  const el = document.getElementById('token-state');
  if (el) el.textContent = token() ? 'token set' : '';
}

function fmt(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (typeof value !== 'number') return String(value);
  return Number.isInteger(value) && digits === undefined ? value.toLocaleString('en') : value.toFixed(digits === undefined ? 4 : digits);
}

function badge(text, cls) {
  return h('span', { class: 'badge ' + (cls || text || '') }, text || '–');
}

function when(iso) {
  if (!iso) return '–';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/* A page section that shows an error in place of its content when loading fails. */
function pageError(message) {
  return h('div', { class: 'page-error', role: 'alert' }, message);
}

/* ---------- forms: validated before they are sent, errors shown at the field or the form ---------- */

/*
 * A form of fields; spec = [{name, label, type, required, pattern, hint, options, min, max, value, check}].
 * onSubmit(values, form) returns a promise; its rejection is shown in the form.
 */
function form(id, title, fields, submitLabel, onSubmit) {
  const inputs = {};
  const errors = {};
  const body = [];
  for (const f of fields) {
    let input;
    if (f.type === 'textarea') {
      input = h('textarea', { name: f.name, id: id + '-' + f.name, placeholder: f.placeholder || '', rows: f.rows || 8 });
    } else if (f.type === 'select') {
      input = h('select', { name: f.name, id: id + '-' + f.name, multiple: f.multiple || false, size: f.multiple ? 4 : null },
        f.multiple ? [] : h('option', { value: '' }, f.placeholder || 'choose…'),
        (f.options || []).map((o) => h('option', { value: o.value }, o.label)));
    } else if (f.type === 'file') {
      input = h('input', { type: 'file', name: f.name, id: id + '-' + f.name, accept: f.accept || null });
    } else if (f.type === 'checkbox') {
      input = h('input', { type: 'checkbox', name: f.name, id: id + '-' + f.name, checked: f.value ? true : null });
    } else {
      input = h('input', { type: f.type || 'text', name: f.name, id: id + '-' + f.name, placeholder: f.placeholder || '',
        min: f.min, max: f.max, step: f.step });
    }
    if (f.value !== undefined && f.type !== 'checkbox') input.value = f.value;
    inputs[f.name] = input;
    errors[f.name] = h('div', { class: 'field-error', id: id + '-' + f.name + '-error', role: 'alert' });
    const wrapper = h('div', { class: 'field', 'data-field': f.name, hidden: f.hidden ? true : null },
      h('label', { for: id + '-' + f.name }, f.label + (f.required ? ' *' : '')), input,
      f.hint ? h('div', { class: 'muted', style: 'font-size:12px' }, f.hint) : null, errors[f.name]);
    body.push(f.row ? wrapper : wrapper);
  }
  const formError = h('div', { class: 'form-error', id: id + '-error', role: 'alert', hidden: true });
  const formOk = h('div', { class: 'form-ok', id: id + '-ok', hidden: true });
  const button = h('button', { type: 'submit', id: id + '-submit' }, submitLabel);
  const el = h('form', { id, novalidate: true, class: 'card' }, h('h2', {}, title), body, button, formError, formOk);
  el.inputs = inputs;

  function value(f) {
    const input = inputs[f.name];
    if (f.type === 'checkbox') return input.checked;
    if (f.type === 'file') return input.files && input.files[0] ? input.files[0] : null;
    if (f.type === 'select' && f.multiple) return Array.from(input.selectedOptions).map((o) => o.value);
    return input.value.trim();
  }

  function validate() {
    let ok = true;
    const values = {};
    for (const f of fields) {
      const input = inputs[f.name];
      const field = input.closest('.field');
      if (field && field.hidden) continue;
      const v = value(f);
      values[f.name] = v;
      let problem = null;
      const empty = v === null || v === '' || (Array.isArray(v) && v.length === 0);
      if (f.required && empty) problem = f.type === 'file' ? 'Choose a file' : f.multiple ? 'Choose at least one' : 'Required';
      else if (!empty && f.pattern && !f.pattern.test(v)) problem = f.patternMessage || 'Not valid';
      else if (!empty && f.type === 'number') {
        const n = Number(v);
        if (!Number.isFinite(n)) problem = 'A number';
        else if (f.integer && !Number.isInteger(n)) problem = 'A whole number';
        else if (f.min !== undefined && n < f.min) problem = 'At least ' + f.min;
        else if (f.max !== undefined && n > f.max) problem = 'At most ' + f.max;
        else values[f.name] = n;
      }
      if (!problem && !empty && f.check) problem = f.check(v, values);
      errors[f.name].textContent = problem || '';
      input.classList.toggle('invalid', !!problem);
      input.setAttribute('aria-invalid', problem ? 'true' : 'false');
      if (problem) ok = false;
    }
    return ok ? values : null;
  }

  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    formError.hidden = true;
    formOk.hidden = true;
    const values = validate();
    if (!values) {
      formError.textContent = 'Fix the marked fields first.';
      formError.hidden = false;
      return;
    }
    button.disabled = true;
    try {
      const message = await onSubmit(values, el);
      if (message) {
        formOk.textContent = message;
        formOk.hidden = false;
      }
    } catch (e) {
      formError.textContent = (e.status ? e.status + ': ' : '') + e.message;
      formError.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

/* A button whose failure is shown beside it. */
function actionButton(label, cls, action, id) {
  const error = h('span', { class: 'field-error', role: 'alert' });
  const button = h('button', { type: 'button', class: 'small ' + (cls || ''), id }, label);
  button.addEventListener('click', async () => {
    error.textContent = '';
    button.disabled = true;
    try {
      await action();
    } catch (e) {
      error.textContent = e.message;
    } finally {
      button.disabled = false;
    }
  });
  return h('span', {}, button, error);
}

/* ---------- charts (uPlot) ---------- */

const COLORS = ['#2463c5', '#c0392b', '#1d7f4e', '#8e44ad', '#d35400', '#16a085', '#7f8c8d'];

/* A line chart of series over epochs; returns {el, set(xs, seriesValues)}; el carries data-points for readers. */
function lineChart(title, seriesNames, yLabel) {
  const el = h('div', { class: 'chart', 'data-points': '0', 'data-title': title });
  let plot = null;
  const width = () => Math.max(320, (el.clientWidth || 560) - 4);
  function make(data) {
    plot = new uPlot({
      title, width: width(), height: 220,
      scales: { x: { time: false } },
      axes: [{ label: 'epoch' }, { label: yLabel }],
      series: [{ label: 'epoch' }].concat(seriesNames.map((name, i) => ({ label: name, stroke: COLORS[i % COLORS.length], width: 2 }))),
    }, data, el);
  }
  return {
    el,
    set(xs, values) {
      const data = [xs].concat(values);
      if (!plot) {
        if (typeof uPlot === 'undefined') return;
        make(data);
      } else {
        plot.setData(data);
      }
      el.setAttribute('data-points', String(xs.length));
    },
    resize() { if (plot) plot.setSize({ width: width(), height: 220 }); },
  };
}

/* The confusion matrix ([actual][predicted]) as a heat map: each cell shaded by its share of its row. */
function heatMap(matrix, labels) {
  const n = matrix.length;
  const names = labels && labels.length === n ? labels : matrix.map((_, i) => String(i));
  const table = h('table', { class: 'heatmap', 'data-cells': String(n * n) },
    h('tr', {}, h('th', {}, 'actual \\ predicted'), names.map((name) => h('th', {}, name))));
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    table.append(h('tr', {}, h('th', {}, names[i]), row.map((count, j) => {
      const share = count / total;
      const light = Math.round(96 - share * 58);
      const color = i === j ? `hsl(214, 70%, ${light}%)` : `hsl(4, 70%, ${light}%)`;
      return h('td', { style: `background:${color};color:${light < 60 ? '#fff' : '#1d2330'}`,
        title: `${count} of ${total} (actual ${names[i]}, predicted ${names[j]})` }, String(count));
    })));
  });
  return table;
}

/* ---------- pages ---------- */

async function modelsPage(root) {
  root.append(h('h1', {}, 'Models'));
  const list = h('div', { class: 'card', id: 'models-list' }, h('div', { class: 'empty' }, 'Loading…'));
  const register = form('model-form', 'Register a model', [
    { name: 'name', label: 'Name', required: true, pattern: NAME, patternMessage: 'Letters, digits, . _ - (up to 100), starting with a letter or digit' },
    { name: 'description', label: 'Description' },
    { name: 'kind', label: 'Definition', type: 'select', required: true, value: 'dl4j',
      options: [{ value: 'dl4j', label: 'DL4J configuration (JSON)' }, { value: 'keras', label: 'Keras model file (.h5)' }] },
    { name: 'configuration', label: 'DL4J configuration JSON', type: 'textarea', required: true, rows: 10,
      placeholder: '{"confs": [...]} — MultiLayerConfiguration.toJson() or ComputationGraphConfiguration.toJson()',
      check: (v) => {
        try {
          const parsed = JSON.parse(v);
          return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? null : 'A JSON object';
        } catch (e) {
          return 'Not JSON: ' + e.message;
        }
      } },
    { name: 'file', label: 'Keras .h5 file', type: 'file', required: true, accept: '.h5,.hdf5', hidden: true,
      check: (file) => !/\.(h5|hdf5)$/i.test(file.name) ? 'A .h5 file' : file.size > MAX_UPLOAD_BYTES ? 'Larger than 512 MiB' : file.size === 0 ? 'Empty file' : null },
  ], 'Register', async (v) => {
    let model;
    if (v.kind === 'keras') {
      // POST /models/{name}/keras: the .h5 file is the raw request body, the description a query parameter
      const query = v.description ? '?description=' + encodeURIComponent(v.description) : '';
      model = await api('POST', '/models/' + encodeURIComponent(v.name) + '/keras' + query, v.file, 'application/octet-stream');
    } else {
      model = await api('POST', '/models', { name: v.name, description: v.description, configuration: JSON.parse(v.configuration) });
    }
    await load();
    const notes = model && Array.isArray(model.notes) && model.notes.length ? ' (import notes: ' + model.notes.join('; ') + ')' : '';
    return 'Registered ' + (model && model.name ? model.name : v.name) + notes;
  });
  const kind = register.inputs.kind;
  kind.addEventListener('change', () => {
    const keras = kind.value === 'keras';
    register.querySelector('[data-field=configuration]').hidden = keras;
    register.querySelector('[data-field=file]').hidden = !keras;
  });
  root.append(h('div', { class: 'grid' }, list, register));

  async function load() {
    let models;
    try {
      models = await api('GET', '/models');
    } catch (e) {
      list.replaceChildren(pageError('Cannot list the models: ' + e.message));
      return;
    }
    list.replaceChildren(h('h2', {}, 'Registered (' + models.length + ')'));
    if (models.length === 0) {
      list.append(h('div', { class: 'empty' }, 'No model yet: register one with the form.'));
      return;
    }
    list.append(h('table', { id: 'models-table' },
      h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Description'), h('th', {}, 'Input → output'), h('th', { class: 'num' }, 'Parameters'), h('th', {}, '')),
      models.map((m) => {
        const s = m.summary || {};
        return h('tr', { 'data-model': m.name },
          h('td', {}, h('b', {}, m.name)), h('td', {}, m.description || ''),
          h('td', {}, shape(s.inputSize) + ' → ' + shape(s.outputSize) + (s.outputKind ? ' (' + s.outputKind + ')' : '')
            + (s.networkType ? ' · ' + s.networkType : '')),
          h('td', { class: 'num' }, fmt(s.parameterCount)),
          h('td', {}, actionButton('Delete', 'danger', async () => {
            if (!window.confirm('Delete model ' + m.name + '?')) return;
            await api('DELETE', '/models/' + encodeURIComponent(m.name));
            await load();
          })));
      })));
  }
  await load();
}

function shape(s) {
  if (s === undefined || s === null) return '?';
  return Array.isArray(s) ? '[' + s.join(', ') + ']' : String(s);
}

async function configurationsPage(root) {
  root.append(h('h1', {}, 'Configurations'));
  const list = h('div', { class: 'card', id: 'configurations-list' }, h('div', { class: 'empty' }, 'Loading…'));
  let models = [];
  try {
    models = await api('GET', '/models');
  } catch (e) {
    root.append(pageError('Cannot list the models: ' + e.message));
  }
  const create = form('configuration-form', 'Create a configuration', [
    { name: 'name', label: 'Name', required: true, pattern: NAME, patternMessage: 'Letters, digits, . _ - (up to 100)' },
    { name: 'description', label: 'Description' },
    { name: 'models', label: 'Models trained together on one stream', type: 'select', multiple: true, required: true,
      options: models.map((m) => ({ value: m.name, label: m.name })), hint: models.length ? 'Ctrl/Cmd-click for several' : 'Register a model first' },
  ], 'Create', async (v) => {
    await api('POST', '/configurations', { name: v.name, description: v.description, models: v.models });
    await load();
    return 'Created ' + v.name;
  });
  root.append(h('div', { class: 'grid' }, list, create));

  async function load() {
    let configurations;
    try {
      configurations = await api('GET', '/configurations');
    } catch (e) {
      list.replaceChildren(pageError('Cannot list the configurations: ' + e.message));
      return;
    }
    list.replaceChildren(h('h2', {}, 'Configurations (' + configurations.length + ')'));
    if (configurations.length === 0) {
      list.append(h('div', { class: 'empty' }, 'No configuration yet.'));
      return;
    }
    list.append(h('table', { id: 'configurations-table' },
      h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Models'), h('th', {}, 'Description'), h('th', {}, '')),
      configurations.map((c) => h('tr', { 'data-configuration': c.name },
        h('td', {}, h('b', {}, c.name)), h('td', {}, (c.models || []).join(', ')), h('td', {}, c.description || ''),
        h('td', {}, actionButton('Train…', 'secondary', async () => { location.hash = '#/deployments?configuration=' + encodeURIComponent(c.name); }),
          actionButton('Delete', 'danger', async () => {
            if (!window.confirm('Delete configuration ' + c.name + '?')) return;
            await api('DELETE', '/configurations/' + encodeURIComponent(c.name));
            await load();
          }))))));
  }
  await load();
}

async function deploymentsPage(root, params) {
  root.append(h('h1', {}, 'Training deployments'));
  const list = h('div', { class: 'card', id: 'deployments-list' }, h('div', { class: 'empty' }, 'Loading…'));
  let configurations = [];
  try {
    configurations = await api('GET', '/configurations');
  } catch (e) {
    root.append(pageError('Cannot list the configurations: ' + e.message));
  }
  const start = form('deployment-form', 'Start a training deployment', [
    { name: 'configuration', label: 'Configuration', type: 'select', required: true,
      options: configurations.map((c) => ({ value: c.name, label: c.name + ' (' + (c.models || []).join(', ') + ')' })),
      value: params.get('configuration') || '' },
    { name: 'epochs', label: 'Epochs', type: 'number', required: true, min: 1, max: 1000000, integer: true, value: '10' },
    { name: 'batchSize', label: 'Batch size', type: 'number', required: true, min: 1, max: 1000000, integer: true, value: '32' },
    { name: 'seed', label: 'Seed', type: 'number', integer: true, value: '1' },
    { name: 'shuffle', label: 'Shuffle the training split', type: 'checkbox', value: true },
  ], 'Deploy', async (v) => {
    const spec = { epochs: v.epochs, batchSize: v.batchSize, shuffle: v.shuffle };
    if (v.seed !== '') spec.seed = v.seed;
    const deployment = await api('POST', '/deployments', { configuration: v.configuration, spec });
    const id = deployment.id;
    location.hash = '#/deployments/' + encodeURIComponent(id);
    return 'Deployment ' + id + ' is waiting for its data stream';
  });
  root.append(h('div', { class: 'grid' }, list, start));
  let deployments;
  try {
    deployments = await api('GET', '/deployments');
  } catch (e) {
    list.replaceChildren(pageError('Cannot list the deployments: ' + e.message));
    return;
  }
  list.replaceChildren(h('h2', {}, 'Deployments (' + deployments.length + ')'));
  if (deployments.length === 0) {
    list.append(h('div', { class: 'empty' }, 'No training deployment yet.'));
    return;
  }
  list.append(h('table', { id: 'deployments-table' },
    h('tr', {}, h('th', {}, 'Id'), h('th', {}, 'Configuration'), h('th', {}, 'Status'), h('th', {}, 'Created')),
    deployments.slice().reverse().map((d) => h('tr', { 'data-deployment': d.id },
      h('td', {}, h('a', { href: '#/deployments/' + encodeURIComponent(d.id) }, d.id)), h('td', {}, d.configuration),
      h('td', {}, badge(d.status), d.error ? h('div', { class: 'field-error' }, d.error) : null), h('td', {}, when(d.createdAt))))));
}

async function deploymentPage(root, id) {
  root.append(h('h1', {}, 'Training deployment ', h('code', {}, id)));
  const head = h('div', { class: 'card', id: 'deployment-head' }, h('div', { class: 'empty' }, 'Loading…'));
  const models = h('div', { id: 'deployment-models' });
  root.append(head, models);
  /* One view per training result (one per model of the configuration), keyed by the result's id. */
  const views = new Map();
  const path = '/deployments/' + encodeURIComponent(id);

  function view(resultId) {
    if (views.has(resultId)) return views.get(resultId);
    const loss = lineChart('Training loss — ' + resultId, ['loss'], 'loss');
    loss.el.id = 'loss-' + resultId;
    const validation = h('div', { class: 'chart', id: 'validation-' + resultId, 'data-points': '0' }, h('div', { class: 'empty' }, 'Validation metrics appear with a validation split.'));
    const title = h('h2', {}, resultId);
    const result = h('div', { id: 'result-' + resultId });
    const card = h('div', { class: 'card', 'data-result': resultId }, title, h('div', { class: 'charts' }, loss.el, validation), result);
    models.append(card);
    const v = { loss, validation, validationChart: null, title, card, result, epochs: [], metrics: [], matrixAsked: false };
    views.set(resultId, v);
    return v;
  }

  /* An epoch as GET /results/chart/{id} lists it or as the SSE 'epoch' event sends it: {epoch, loss, validation, …}. */
  function addEpoch(resultId, epoch) {
    const v = view(resultId);
    if (v.epochs.length && epoch.epoch <= v.epochs[v.epochs.length - 1].epoch) return; // seen (history and live overlap)
    v.epochs.push(epoch);
    v.loss.set(v.epochs.map((e) => e.epoch), [v.epochs.map((e) => e.loss)]);
    const names = Object.keys(epoch.validation || {});
    if (names.length) {
      if (!v.validationChart) {
        v.validationChart = lineChart('Validation — ' + resultId, names, 'value');
        v.validationChart.el.id = 'validation-' + resultId;
        v.validation.replaceWith(v.validationChart.el);
        v.validation = v.validationChart.el;
        v.metrics = names;
      }
      v.validationChart.set(v.epochs.map((e) => e.epoch), v.metrics.map((n) => v.epochs.map((e) => (e.validation || {})[n] ?? null)));
    }
  }

  /* A TrainingResult as GET /deployments/results/{id} lists it or as the SSE 'result' event sends it. */
  function showResult(r) {
    const v = view(r.id);
    v.title.textContent = r.model ? r.model + ' — result ' + r.id : r.id;
    v.card.setAttribute('data-model', r.model || '');
    const parts = [h('div', {}, badge(r.status), ' ', r.epochCount ? r.epochCount + ' epochs' : '',
      r.trainingMillis ? ' in ' + (r.trainingMillis / 1000).toFixed(1) + ' s' : '', r.error ? h('div', { class: 'field-error' }, r.error) : null)];
    const test = r.testMetrics || {};
    if (Object.keys(test).length) {
      parts.push(h('h2', { style: 'margin-top:12px' }, 'Test metrics'), h('table', { class: 'test-metrics', style: 'width:auto' },
        Object.entries(test).map(([k, val]) => h('tr', {}, h('th', {}, k), h('td', { class: 'num' }, fmt(val))))));
    }
    const confusion = h('div', { class: 'confusion', id: 'confusion-' + r.id });
    if (r.confusionMatrix) {
      confusion.append(h('h2', { style: 'margin-top:12px' }, 'Confusion matrix (test split)'), heatMap(r.confusionMatrix));
    } else if (r.status === 'FINISHED' && r.confusionMatrix === undefined && !v.matrixAsked) {
      // GET /results/confusion_matrix/{id} answers {result, matrix}, or 404 when the result has none
      v.matrixAsked = true;
      api('GET', '/results/confusion_matrix/' + encodeURIComponent(r.id)).then((answer) => {
        confusion.replaceChildren(h('h2', { style: 'margin-top:12px' }, 'Confusion matrix (test split)'), heatMap(answer.matrix, answer.labels));
      }, (e) => {
        if (e.status !== 404) confusion.replaceChildren(pageError('Cannot read the confusion matrix: ' + e.message));
      });
    }
    parts.push(confusion);
    if (r.artifact) {
      parts.push(h('p', {}, h('a', { href: API + '/results/model/' + encodeURIComponent(r.id), download: r.id + '.zip' }, 'Download the trained model'),
        h('span', { class: 'muted' }, ' (DL4J ModelSerializer zip; its SHA-256 is in the answer\'s X-Checksum-SHA256 header)')));
    }
    v.result.replaceChildren(...parts);
  }

  async function refresh() {
    let deployment;
    try {
      deployment = await api('GET', path);
    } catch (e) {
      head.replaceChildren(pageError('Cannot read deployment ' + id + ': ' + e.message));
      return null;
    }
    const terminal = ['FINISHED', 'FAILED', 'CANCELLED'].includes(deployment.status);
    head.replaceChildren(
      h('div', { class: 'row' },
        h('div', {}, h('div', { class: 'muted' }, 'Configuration'), h('b', {}, deployment.configuration)),
        h('div', {}, h('div', { class: 'muted' }, 'Status'), h('span', { id: 'deployment-status' }, badge(deployment.status))),
        h('div', {}, h('div', { class: 'muted' }, 'Created'), when(deployment.createdAt)),
        h('div', {}, terminal ? null : actionButton('Cancel', 'danger', async () => {
          // 409 when another process started it: the server's reason is shown beside the button
          await api('POST', path + '/cancel');
          await refresh();
        }, 'cancel-deployment'))),
      deployment.status === 'WAITING_FOR_DATA'
        ? h('p', { class: 'muted' }, 'Waiting for its data stream: send it with a data sink (or re-send a datasource) to deployment ' + id + '.') : null,
      deployment.error ? h('div', { class: 'page-error' }, deployment.error) : null);
    let results = [];
    try {
      results = await api('GET', '/deployments/results/' + encodeURIComponent(id));
    } catch (e) {
      head.append(pageError('Cannot read the results: ' + e.message));
    }
    for (const r of results) {
      showResult(r);
      if (views.get(r.id).epochs.length === 0) {
        try {
          const epochs = await api('GET', '/results/chart/' + encodeURIComponent(r.id));
          epochs.forEach((e) => addEpoch(r.id, e));
        } catch (e) {
          views.get(r.id).result.append(pageError('Cannot read the epochs: ' + e.message));
        }
      }
    }
    return deployment;
  }

  const deployment = await refresh();
  if (!deployment) return;
  if (['FINISHED', 'FAILED', 'CANCELLED'].includes(deployment.status)) return; // nothing more will come
  // GET /training/{id}/events: 'epoch' {result, epoch, loss, validation, millis}, 'result' (a TrainingResult), 'end'
  const events = new EventSource(API + '/training/' + encodeURIComponent(id) + '/events');
  running.push(() => events.close());
  events.addEventListener('epoch', (message) => {
    const e = JSON.parse(message.data);
    addEpoch(e.result, e);
  });
  events.addEventListener('result', (message) => showResult(JSON.parse(message.data)));
  events.addEventListener('end', () => {
    events.close();
    refresh();
  });
  events.addEventListener('error', (message) => {
    if (message.data) { // the server's own 'error' event ({status, error, reason}); else EventSource reconnects by itself
      events.close();
      let reason = message.data;
      try { reason = JSON.parse(message.data).reason || reason; } catch (e) { /* not JSON */ }
      head.append(pageError('Live updates stopped: ' + reason));
    }
  });
  const onResize = () => views.forEach((v) => { v.loss.resize(); if (v.validationChart) v.validationChart.resize(); });
  window.addEventListener('resize', onResize);
  running.push(() => window.removeEventListener('resize', onResize));
}

/* The Kafka-ML control message a datasource recorded (a JSON string), or {} when it cannot be read. */
function controlMessage(d) {
  try {
    const parsed = JSON.parse(d.controlMessage || '{}');
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch (e) {
    return {};
  }
}

async function datasourcesPage(root) {
  root.append(h('h1', {}, 'Datasources'));
  const list = h('div', { class: 'card', id: 'datasources-list' }, h('div', { class: 'empty' }, 'Loading…'));
  root.append(list);
  let datasources;
  try {
    datasources = await api('GET', '/datasources');
  } catch (e) {
    list.replaceChildren(pageError('Cannot list the datasources: ' + e.message));
    return;
  }
  list.replaceChildren(h('h2', {}, 'Data streams sent (' + datasources.length + ')'),
    h('p', { class: 'muted' }, 'Every control message seen on the control topic. A stream whose records the topic\'s retention has deleted is marked expired, '
      + 'one whose topic is gone is marked deleted: neither can be re-sent.'));
  if (datasources.length === 0) {
    list.append(h('div', { class: 'empty' }, 'No data stream yet.'));
    return;
  }
  list.append(h('table', { id: 'datasources-table' },
    h('tr', {}, h('th', {}, 'Id'), h('th', {}, 'Deployment'), h('th', {}, 'Slices'), h('th', {}, 'Format'), h('th', { class: 'num' }, 'Records'),
      h('th', {}, 'Availability'), h('th', {}, 'Re-send to deployment')),
    datasources.map((d) => {
      const a = d.availability || {};
      const message = controlMessage(d);
      const expired = (a.expired || []).length > 0;
      const deleted = (a.deletedTopics || []).length > 0;
      const state = a.available ? 'available' : expired ? 'expired' : deleted ? 'deleted' : 'unavailable';
      const why = [expired ? 'expired: ' + a.expired.map((s) => s.topic + ':' + s.partition + ' from offset ' + s.startOffset).join(', ') : null,
        deleted ? 'deleted topics: ' + a.deletedTopics.join(', ') : null,
        (a.unreadableTopics || []).length ? 'not describable: ' + a.unreadableTopics.join(', ') : null,
        a.refusal || null].filter((x) => x).join('; ');
      const target = h('input', { type: 'text', placeholder: 'deployment id', style: 'width:120px', 'aria-label': 'deployment id' });
      return h('tr', { 'data-datasource': d.id, class: a.available ? null : 'expired' },
        h('td', {}, d.id), h('td', {}, d.deploymentId || '–'), h('td', {}, h('code', {}, message.topic || '–')),
        h('td', {}, message.input_format || '–'), h('td', { class: 'num' }, fmt(message.total_msg)),
        h('td', { title: why }, badge(state, a.available ? 'available' : 'expired'), why ? h('div', { class: 'muted', style: 'font-size:12px' }, why) : null),
        h('td', {}, !a.available ? h('span', { class: 'muted' }, 'cannot be re-sent') : h('span', {}, target, actionButton('Re-send', 'secondary', async () => {
          if (!/^[0-9A-Za-z._-]+$/.test(target.value.trim())) throw new Error('Enter the deployment id to send it to');
          // POST /datasources/kafka {datasource, deploymentId}: a new control message, no data copied
          await api('POST', '/datasources/kafka', { datasource: d.id, deploymentId: target.value.trim() });
          target.value = '';
        }))));
    })));
}

async function inferencesPage(root) {
  root.append(h('h1', {}, 'Inference deployments'));
  const list = h('div', { class: 'card', id: 'inferences-list' }, h('div', { class: 'empty' }, 'Loading…'));
  let results = [];
  try {
    results = (await api('GET', '/results')).filter((r) => r.status === 'FINISHED' && r.artifact);
  } catch (e) {
    root.append(pageError('Cannot list the results: ' + e.message));
  }
  const start = form('inference-form', 'Start an inference deployment', [
    { name: 'resultId', label: 'Trained model (result)', type: 'select', required: true,
      options: results.map((r) => ({ value: r.id, label: r.id + (r.model ? ' (' + r.model + ')' : '') })), hint: results.length ? null : 'No finished training result yet' },
    { name: 'inputTopic', label: 'Input topic', required: true, pattern: TOPIC, patternMessage: 'A Kafka topic name: letters, digits, . _ - (up to 249)' },
    { name: 'outputTopic', label: 'Output topic', required: true, pattern: TOPIC, patternMessage: 'A Kafka topic name: letters, digits, . _ - (up to 249)',
      check: (v, values) => v === values.inputTopic ? 'Must differ from the input topic' : null },
    { name: 'replicas', label: 'Replicas', type: 'number', required: true, min: 1, max: 256, integer: true, value: '1' },
    { name: 'deadLetterTopic', label: 'Dead-letter topic (optional)', pattern: TOPIC, patternMessage: 'A Kafka topic name' },
  ], 'Start', async (v) => {
    const body = { resultId: v.resultId, inputTopic: v.inputTopic, outputTopic: v.outputTopic, replicas: v.replicas };
    if (v.deadLetterTopic) body.deadLetterTopic = v.deadLetterTopic;
    const started = await api('POST', '/inferences', body);
    await load();
    return 'Started ' + (started && started.id ? started.id : '');
  });
  root.append(h('div', { class: 'grid' }, list, start));
  const previous = new Map();
  /* One row per inference id, built once and updated in place, so a replica count being typed survives a refresh. */
  const rows = new Map();
  const heading = h('h2', {}, 'Inference deployments');
  const empty = h('div', { class: 'empty' }, 'None yet.');
  const container = h('div', { id: 'inferences-rows' });

  function inferenceRow(id) {
    const el = h('div', { class: 'inference', 'data-inference': id, style: 'border-top:1px solid var(--line);padding:10px 0' });
    const status = h('span', { class: 'inference-status' });
    const meta = h('div', { class: 'muted' });
    const replicas = h('input', { type: 'number', min: 0, max: 256, style: 'width:70px', 'aria-label': 'replicas', id: 'replicas-' + id });
    let edited = false;
    replicas.addEventListener('input', () => { edited = true; });
    const controls = h('span', {}, replicas, actionButton('Scale', 'secondary', async () => {
      const n = Number(replicas.value);
      if (replicas.value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 256) throw new Error('Replicas: a whole number from 0 to 256');
      await api('POST', '/inferences/' + encodeURIComponent(id) + '/scale', { replicas: n });
      edited = false;
      await load();
    }, 'scale-' + id), actionButton('Stop', 'danger', async () => {
      if (!window.confirm('Stop inference deployment ' + id + ' in this server?')) return;
      await api('POST', '/inferences/' + encodeURIComponent(id) + '/stop');
      await load();
    }, 'stop-' + id));
    const notHere = h('span', { class: 'muted inference-where' });
    const stats = h('div', { class: 'stats' });
    const latency = h('div', { class: 'muted' });
    const failure = h('div', { class: 'field-error' });
    el.append(h('div', { class: 'row' }, h('div', {}, h('b', {}, id), ' ', status, meta), h('div', {}, controls, notHere)), stats, latency, failure);
    /* Shows a row of GET /inferences; rate(key) is the counter's rate since the previous refresh. */
    function update(inf, rate) {
      const record = inf.record || {};
      const local = inf.state !== undefined;
      const c = inf.counters || {};
      const active = inf.state === 'RUNNING';
      status.replaceChildren(badge(local ? inf.state : record.status));
      meta.textContent = (record.resultId || '') + ' · ' + (record.inputTopic || '?') + ' → ' + (record.outputTopic || '?');
      controls.hidden = !active;
      if (!edited && document.activeElement !== replicas) replicas.value = inf.replicas ?? '';
      const ended = ['STOPPED', 'FAILED'].includes(record.status);
      notHere.textContent = active ? '' : local ? 'stopped in this server' : ended ? ''
        : 'not run by this server: counters, scale and stop only where it runs';
      if (local) {
        stats.replaceChildren(
          h('div', { class: 'stat' }, 'replicas', h('b', { class: 'replicas-count' }, fmt(inf.replicas))),
          h('div', { class: 'stat' }, 'in', h('b', { class: 'records-in' }, fmt(c.recordsIn)), rate('recordsIn')),
          h('div', { class: 'stat' }, 'out', h('b', { class: 'records-out' }, fmt(c.recordsOut)), rate('recordsOut')),
          h('div', { class: 'stat' }, 'dead-lettered', h('b', { class: 'dead-lettered' }, fmt(c.deadLettered)), rate('deadLettered')));
        latency.textContent = 'batch latency p50 ' + fmt(c.batchLatencyP50Millis, 2) + ' ms · p99 '
          + fmt(c.batchLatencyP99Millis, 2) + ' ms · batches ' + fmt(c.batches);
      } else {
        stats.replaceChildren(h('div', { class: 'muted' }, 'replicas in its record: ', fmt(record.replicas)));
        latency.textContent = '';
      }
      failure.textContent = inf.failure || record.error || '';
    }
    return { el, update };
  }

  /* Each row of GET /inferences: {id, record?: Inference, state?, replicas?, failure?, counters?} (the last four when this server runs it). */
  async function load() {
    let inferences;
    try {
      inferences = await api('GET', '/inferences');
    } catch (e) {
      list.replaceChildren(pageError('Cannot list the inference deployments: ' + e.message));
      rows.clear();
      return;
    }
    const now = performance.now();
    heading.textContent = 'Inference deployments (' + inferences.length + ')';
    if (!list.contains(container)) list.replaceChildren(heading, empty, container);
    empty.hidden = inferences.length > 0;
    const seen = new Set();
    for (const inf of inferences) {
      seen.add(inf.id);
      const c = inf.counters || {};
      const before = previous.get(inf.id);
      previous.set(inf.id, { at: now, c });
      const rate = (key) => before && now > before.at && c[key] !== undefined
        ? Math.max(0, (c[key] - (before.c[key] || 0)) / ((now - before.at) / 1000)).toFixed(1) + '/s' : '–';
      if (!rows.has(inf.id)) rows.set(inf.id, inferenceRow(inf.id));
      const row = rows.get(inf.id);
      row.update(inf, rate);
      container.append(row.el); // in the order the server lists them
    }
    for (const [id, row] of rows) {
      if (!seen.has(id)) {
        row.el.remove();
        rows.delete(id);
      }
    }
  }
  await load();
  const timer = setInterval(load, 2000);
  running.push(() => clearInterval(timer));
}

/* ---------- routing ---------- */

const PAGES = {
  models: modelsPage,
  configurations: configurationsPage,
  deployments: deploymentsPage,
  datasources: datasourcesPage,
  inferences: inferencesPage,
};

async function route() {
  stopRunning();
  const hash = location.hash.replace(/^#\/?/, '') || 'models';
  const [pathPart, query] = hash.split('?');
  const [page, id] = pathPart.split('/').map(decodeURIComponent);
  const params = new URLSearchParams(query || '');
  document.querySelectorAll('header nav a').forEach((a) => a.classList.toggle('active', a.dataset.page === page));
  const root = document.getElementById('page');
  root.replaceChildren();
  root.setAttribute('data-page', page);
  root.removeAttribute('data-ready');
  try {
    if (page === 'deployments' && id) await deploymentPage(root, id);
    else if (PAGES[page]) await PAGES[page](root, params);
    else root.append(pageError('No such page: ' + page));
  } catch (e) {
    root.append(pageError('This page failed: ' + e.message));
  }
  root.setAttribute('data-ready', 'true');
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', () => {
  showTokenState();
  route();
});
