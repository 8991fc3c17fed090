// The playground page: wires Find, Read, Fill, Preview, Test request, Chain and the workflow
// editor together. State lives here; the panels are drawn by find.js, form.js, result.js,
// chain.js and editor.js. A step picked in the workflow panel is loaded into the form (its
// Save is the editor's); a new step's required fields that an earlier step outputs are
// pre-filled with that output, as `rtk-task add` wires them.

import { api, el, errorText, setCsrf, showBanner, stream } from "./api.js";
import { renderRead, renderResults } from "./find.js";
import { buildForm } from "./form.js";
import { renderCancelled, renderNotSent, renderResult, requestText, usedNote } from "./result.js";
import {
  annotatePicks, bracePicker, candidates, renderCompare, renderRunRefused, renderWorkflow, runView,
  showInputProblems, templateOptions,
} from "./chain.js";
import { mountEditor, renderEditor } from "./editor.js";

const $ = (id) => document.getElementById(id);
const state = {
  tasks: [], task: null, form: null, stepId: "", workflow: null, wfInputs: {},
  copies: {}, seq: 0, timer: 0, changed: () => schedulePreview(),
  selected: null, // the workflow step loaded into the form, if any
  base: {}, // the values last put into the form (a step's, the raw JSON's)
};

window.addEventListener("error", (e) => showBanner(`Something went wrong on the page: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => showBanner(`Something went wrong: ${e.reason}`));

// The form's values, with each empty string it was given and still shows empty kept (a text
// field cannot tell "" from unset; a step's `logo: ""` must survive a Save).
function keptEmpty(value, base) {
  const out = { ...value };
  for (const [k, v] of Object.entries(base || {})) {
    if (v === "" && !(k in out)) out[k] = "";
    else if (v && typeof v === "object" && !Array.isArray(v) && (out[k] === undefined || isPlain(out[k]))) {
      const inner = keptEmpty(out[k] || {}, v);
      if (Object.keys(inner).length) out[k] = inner;
    }
  }
  return out;
}
const isPlain = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function formValue() { return keptEmpty(state.form.get(), state.base); }

function setForm(values) {
  state.base = structuredClone(values || {});
  state.form.set(values || {});
}

function body(extra = {}) {
  return { task: state.task.id, with: formValue(), inputs: state.wfInputs, step_id: state.stepId, ...extra };
}

const problemText = (p) => `${p.where ? `${p.where}: ` : ""}${p.message}${p.hint ? `\nhint: ${p.hint}` : ""}`;

// This step's problems beside their fields (or listed); the workflow's other problems below,
// each with its FILE:LINE, as `rtk-task check` reports them.
function showProblems(problems, others) {
  let rest = state.form.showProblems(problems || []);
  rest = showInputProblems(rest);
  $("preview-problems").replaceChildren(...rest.map((p) => el("div", { class: "problem" }, problemText(p))));
  if (others === undefined) return;
  $("wf-problems").replaceChildren(...(others.length
    ? [el("h3", {}, `Other problems in the workflow (${others.length})`),
      ...others.map((p) => el("div", { class: "problem other" }, `${p.at ? `${p.at.split("/").pop()}  ` : ""}${problemText(p)}`))]
    : []));
}

function flowNote(step) {
  const flow = step ? Object.entries(step.flow || {}) : [];
  $("flow-note").hidden = !flow.length;
  $("flow-note").textContent = flow.map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n");
}

function schedulePreview() {
  if (!state.task) return;
  const json = $("json-view");
  if (document.activeElement !== json) json.value = JSON.stringify(formValue(), null, 2);
  clearTimeout(state.timer);
  state.timer = setTimeout(preview, 150);
}

async function preview() {
  const seq = ++state.seq;
  const { status, data } = await api("/api/preview", body());
  if (seq !== state.seq) return; // a newer preview is on its way
  if (status !== 200) {
    $("preview-request").textContent = "";
    showProblems(data.error ? data.error.problems?.length ? data.error.problems : [{ where: "", message: errorText(data.error) }] : [], []);
    return;
  }
  showProblems(data.problems, data.workflow_problems || []);
  $("preview-request").textContent = data.request ? requestText(data.request) : "(fix the problems to see the request)";
  state.copies = { curl: data.curl, python: data.python, yaml: data.yaml };
  usedNote($("used-note"), data.used);
}

async function openTask(taskId, values, stepId) {
  const { status, data } = await api(`/api/tasks/${encodeURIComponent(taskId)}`);
  if (status !== 200) { showBanner(errorText(data.error)); return; }
  state.task = data;
  if (!stepId) state.selected = null; // a new step, not one of the workflow's
  let id = stepId || data.step_id;
  const taken = new Set((state.workflow?.steps || []).map((s) => s.id));
  for (let n = 2; !stepId && taken.has(id); n++) id = `${data.step_id}_${n}`;
  state.stepId = id;
  $("step-id").value = id;
  for (const b of document.querySelectorAll(".task-item")) b.classList.toggle("active", b.dataset.task === taskId);
  renderRead($("read"), data);
  state.form = buildForm($("form"), data.schema, () => schedulePreview());
  setForm(stepId ? values : prefilled(data, values || {}));
  refreshPicks();
  $("fill").hidden = false;
  $("preview").hidden = false;
  $("result").hidden = true;
  $("copy-text").hidden = true;
  $("add-note").hidden = true;
  flowNote((state.workflow?.steps || []).find((s) => s.id === state.stepId && s.task === taskId));
  drawWorkflow();
  schedulePreview();
}

// A new step's required top-level fields, each an earlier step's output of that name (the
// last step making it), else a declared input of that name: as `rtk-task add` wires them.
function prefilled(task, values) {
  const out = { ...values };
  for (const p of task.params) {
    if (!p.required || p.path.includes(".") || out[p.path] !== undefined) continue;
    const named = candidates(state.workflow, null, p.path, task.params)
      .filter((c) => c.name === p.path && c.fits && !c.secret);
    const output = named.filter((c) => c.ref.startsWith("steps.")).pop();
    const found = output || named.find((c) => c.ref.startsWith("inputs."));
    if (found) out[p.path] = found.value;
  }
  return out;
}

function refreshPicks() {
  if (!state.form) return;
  state.form.refreshPicks(templateOptions(state.workflow, state.stepId));
  annotatePicks($("form"), state.workflow, state.stepId, state.task?.params);
}

async function openStep(step) {
  state.selected = step.id;
  await openTask(step.task, step.with, step.id);
  renderEditor(true);
}

function drawWorkflow() {
  renderWorkflow(state, openStep, compare, (id, to) => editorHooks.move(id, to));
  renderEditor(false);
}

// The workflow as an edit left it: drawn again, and the pickers told.
function setWorkflow(workflow) {
  state.workflow = workflow;
  if (state.selected && !workflow.steps.some((s) => s.id === state.selected)) state.selected = null;
  drawWorkflow();
  refreshPicks();
}

const editorHooks = {
  state,
  setWorkflow,
  formValue: () => (state.form ? formValue() : {}),
  select: (id) => {
    state.selected = id;
    if (id) { state.stepId = id; $("step-id").value = id; }
  },
  openStep,
  reload: () => loadWorkflow(),
  move: () => {},
};

async function compare(step, side, file) {
  const chosen = state.compared?.step === step.id ? state.compared : { step: step.id, a: step.runs[1].file, b: step.runs[0].file };
  if (side) chosen[side] = file;
  state.compared = chosen;
  const query = new URLSearchParams({ step: step.id, a: chosen.a, b: chosen.b });
  const { status, data } = await api(`/api/compare?${query}`);
  if (status !== 200) { showBanner(errorText(data.error)); return; }
  renderCompare($("compare"), step, data, (s, f) => compare(step, s, f));
}

async function loadWorkflow() {
  const { status, data } = await api("/api/workflow");
  if (status !== 200) { showBanner(`The workflow cannot be loaded:\n${errorText(data.error)}`); return; }
  setWorkflow(data.workflow);
}

async function send(path, payload) {
  let answer = await api(path, payload);
  if (answer.status === 409 && window.confirm(`${answer.data.confirm}.\nThis is a LIVE API. Send it anyway?`)) {
    answer = await api(path, { ...payload, confirm: true });
  }
  return answer;
}

async function testRequest() {
  const button = $("test-btn");
  button.disabled = true;
  button.textContent = "Sending…";
  try {
    const { status, data } = await send("/api/test", body({ earlier: $("run-earlier").checked }));
    if (status === 409) { renderCancelled($("result")); return; }
    if (status !== 200) {
      const problems = data.error?.problems?.length ? data.error.problems : [{ where: "", message: errorText(data.error) }];
      showProblems(problems);
      renderNotSent($("result"), problems);
      return;
    }
    usedNote($("used-note"), data.used, data.ran_first);
    if (data.problems) {
      showProblems(data.problems, data.workflow_problems);
      renderNotSent($("result"), data.problems);
      return;
    }
    renderResult($("result"), data);
    await loadWorkflow();
  } finally {
    button.disabled = false;
    button.textContent = "Test request";
  }
}

async function addToWorkflow() {
  const note = $("add-note");
  const { status, data } = await api("/api/add", { task: state.task.id, with: formValue(), step_id: $("step-id").value.trim() });
  note.hidden = false;
  if (status !== 200) {
    note.textContent = `Not added: ${errorText(data.error)}`;
    return;
  }
  state.stepId = data.step_id;
  note.textContent = `Added step ${data.step_id} to ${data.workflow.file}`;
  setWorkflow(data.workflow);
  schedulePreview();
}

async function runWorkflow() {
  const button = $("run-btn");
  const box = $("run-results");
  button.disabled = true;
  box.replaceChildren(el("p", { class: "muted" }, "checking…"));
  showInputProblems([]);
  try {
    const payload = { inputs: state.wfInputs };
    let answer = await stream("/api/run", payload, runView(box));
    if (answer.status === 409 && window.confirm(`${answer.data.confirm}.\nThis is a LIVE API. Send it anyway?`)) {
      answer = await stream("/api/run", { ...payload, confirm: true }, runView(box));
    }
    if (answer.status === 409) { box.replaceChildren(el("p", { class: "note" }, "Not sent: the live run was cancelled.")); return; }
    if (answer.status !== 200) { renderRunRefused(box, answer.status, answer.data); return; }
    await loadWorkflow();
  } finally {
    button.disabled = false;
  }
}

function copy(kind) {
  const text = state.copies[kind] || "";
  const box = $("copy-text");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  navigator.clipboard?.writeText(text).catch(() => { /* the text is shown below either way */ });
}

function applyJson() {
  const area = $("json-view");
  try {
    const value = JSON.parse(area.value || "{}");
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("the inputs must be a JSON object");
    $("json-error").textContent = "";
    setForm(value);
    schedulePreview();
  } catch (err) {
    $("json-error").textContent = err.message;
  }
}

function showTarget(data) {
  $("target").textContent = data.live ? `target: ${data.base_url}` : "target: the embedded emulator";
  $("live-marker").hidden = !data.live;
  $("target-select").value = data.live ? "live" : "emulator";
}

// Switch between the embedded emulator and the live API (going live is confirmed first);
// outputs recorded against one are never reused against the other.
async function switchTarget() {
  const target = $("target-select").value;
  let answer = await api("/api/target", { target });
  if (answer.status === 409 && window.confirm(`${answer.data.confirm}?\nRequests will reach a real API.`)) {
    answer = await api("/api/target", { target, confirm: true });
  }
  if (answer.status !== 200) {
    const session = await api("/api/session");
    if (session.status === 200) showTarget(session.data);
    if (answer.status !== 409) showBanner(errorText(answer.data.error || {}));
    return;
  }
  showTarget(answer.data);
  $("result").hidden = true;
  schedulePreview();
}

async function init() {
  const { status, data } = await api("/api/session");
  if (status !== 200) return;
  setCsrf(data.csrf);
  showTarget(data);
  $("target-switch").hidden = !data.can_switch;
  $("target-select").addEventListener("change", switchTarget);
  const tasks = await api("/api/tasks");
  state.tasks = tasks.status === 200 ? tasks.data : [];
  const search = $("search");
  const draw = () => renderResults($("results"), state.tasks, search.value, (id) => openTask(id));
  search.addEventListener("input", draw);
  draw();
  $("test-btn").addEventListener("click", testRequest);
  $("add-btn").addEventListener("click", addToWorkflow);
  $("run-btn").addEventListener("click", runWorkflow);
  $("step-id").addEventListener("change", () => { state.stepId = $("step-id").value.trim(); schedulePreview(); });
  $("json-view").addEventListener("input", applyJson);
  mountEditor(editorHooks);
  bracePicker($("form"), (path) => candidates(state.workflow, state.stepId, path, state.task?.params), (path, text) => {
    const value = formValue();
    let node = value;
    const parts = path.split(".");
    for (const part of parts.slice(0, -1)) node = isPlain(node[part]) ? node[part] : (node[part] = {});
    node[parts[parts.length - 1]] = text;
    setForm(value);
    schedulePreview();
    const field = document.querySelector(`#form .field[data-path="${CSS.escape(path)}"]`);
    const input = field?.querySelector("input.tpl");
    input?.focus();
    input?.setSelectionRange(input.value.length, input.value.length);
  });
  for (const b of document.querySelectorAll("button.copy")) b.addEventListener("click", () => copy(b.dataset.kind));
  await loadWorkflow();
}

init();
