// The playground page: wires Find, Read, Fill, Preview, Test request and Chain together.
// State lives here; the panels are drawn by find.js, form.js, result.js and chain.js.

import { api, el, errorText, setCsrf, showBanner, stream } from "./api.js";
import { renderRead, renderResults } from "./find.js";
import { buildForm } from "./form.js";
import { renderNotSent, renderResult, requestText, usedNote } from "./result.js";
import { renderCompare, renderRunRefused, renderWorkflow, runView, showInputProblems, templateOptions } from "./chain.js";

const $ = (id) => document.getElementById(id);
const state = {
  tasks: [], task: null, form: null, stepId: "", workflow: null, wfInputs: {},
  copies: {}, seq: 0, timer: 0, changed: () => schedulePreview(),
};

window.addEventListener("error", (e) => showBanner(`Something went wrong on the page: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => showBanner(`Something went wrong: ${e.reason}`));

function body(extra = {}) {
  return { task: state.task.id, with: state.form.get(), inputs: state.wfInputs, step_id: state.stepId, ...extra };
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
  if (document.activeElement !== json) json.value = JSON.stringify(state.form.get(), null, 2);
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
  let id = stepId || data.step_id;
  const taken = new Set((state.workflow?.steps || []).map((s) => s.id));
  for (let n = 2; !stepId && taken.has(id); n++) id = `${data.step_id}_${n}`;
  state.stepId = id;
  $("step-id").value = id;
  for (const b of document.querySelectorAll(".task-item")) b.classList.toggle("active", b.dataset.task === taskId);
  renderRead($("read"), data);
  state.form = buildForm($("form"), data.schema, () => schedulePreview());
  state.form.set(values || {});
  state.form.refreshPicks(templateOptions(state.workflow, state.stepId));
  $("fill").hidden = false;
  $("preview").hidden = false;
  $("result").hidden = true;
  $("copy-text").hidden = true;
  $("add-note").hidden = true;
  flowNote((state.workflow?.steps || []).find((s) => s.id === state.stepId && s.task === taskId));
  renderWorkflow(state, openStep, compare);
  schedulePreview();
}

function openStep(step) { openTask(step.task, step.with, step.id); }

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
  state.workflow = data.workflow;
  renderWorkflow(state, openStep, compare);
  if (state.form) state.form.refreshPicks(templateOptions(state.workflow, state.stepId));
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
    if (status === 409) return;
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
  const { status, data } = await api("/api/add", { task: state.task.id, with: state.form.get(), step_id: $("step-id").value.trim() });
  note.hidden = false;
  if (status !== 200) {
    note.textContent = `Not added: ${errorText(data.error)}`;
    return;
  }
  state.stepId = data.step_id;
  state.workflow = data.workflow;
  note.textContent = `Added step ${data.step_id} to ${data.workflow.file}`;
  renderWorkflow(state, openStep, compare);
  state.form.refreshPicks(templateOptions(state.workflow, state.stepId));
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
    if (answer.status === 409) { box.replaceChildren(); return; }
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
    state.form.set(value);
    schedulePreview();
  } catch (err) {
    $("json-error").textContent = err.message;
  }
}

async function init() {
  const { status, data } = await api("/api/session");
  if (status !== 200) return;
  setCsrf(data.csrf);
  $("target").textContent = data.live ? `target: ${data.base_url}` : "target: the embedded emulator";
  $("live-marker").hidden = !data.live;
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
  for (const b of document.querySelectorAll("button.copy")) b.addEventListener("click", () => copy(b.dataset.kind));
  await loadWorkflow();
}

init();
