// Chain: the workflow opened with --workflow, its steps in order with their recorded runs,
// its inputs, and Run workflow (every step's result shown).

import { el } from "./api.js";
import { errorBox } from "./result.js";

export function templateOptions(workflow, currentStep) {
  if (!workflow) return [];
  const options = [];
  for (const name of Object.keys(workflow.inputs || {})) options.push(`{{ inputs.${name} }}`);
  for (const name of workflow.secrets || []) options.push(`{{ secrets.${name} }}`);
  for (const step of workflow.steps) {
    if (step.id === currentStep) break; // only earlier steps
    for (const out of step.outputs) options.push(`{{ steps.${step.id}.outputs.${out} }}`);
  }
  return options;
}

function lastRun(step) {
  const run = step.runs && step.runs[0];
  if (!run) return "not run yet";
  return `${run.kind} ${run.at}: ${run.skipped ? "skipped" : run.ok ? "ok" : "failed"}${run.status_code ? ` (${run.status_code})` : ""}`;
}

export function renderWorkflow(state, onOpenStep) {
  const wf = state.workflow;
  document.getElementById("wf-none").hidden = Boolean(wf);
  document.getElementById("wf-body").hidden = !wf;
  document.getElementById("wf-file").textContent = wf ? `workflow: ${wf.file}${wf.exists ? "" : " (new)"}` : "";
  if (!wf) return;
  const steps = document.getElementById("steps");
  steps.replaceChildren(...wf.steps.map((s) => el("li", {
    "data-step": s.id, class: s.id === state.stepId ? "current" : undefined,
    onclick: () => onOpenStep(s),
  }, `${s.id} `, el("span", { class: "muted" }, s.task),
  el("span", { class: "last" }, lastRun(s)),
  s.runs && s.runs.length > 1 ? el("details", {}, el("summary", { class: "muted" }, `${s.runs.length} recorded runs`),
    s.runs.map((r) => el("div", { class: "muted" }, `${r.kind} ${r.at} ${r.ok ? "ok" : "failed"} ${r.status_code ?? ""}`))) : "")));
  if (!wf.steps.length) steps.append(el("li", { class: "muted" }, "No steps yet: pick a task and click Add to workflow."));
  const inputs = document.getElementById("wf-inputs");
  inputs.replaceChildren(...Object.entries(wf.inputs || {}).map(([name, spec]) => {
    const input = el("input", { type: "text", name, value: state.wfInputs[name] ?? "",
      placeholder: spec.default !== null && spec.default !== undefined ? `default: ${JSON.stringify(spec.default)}` : spec.type });
    input.addEventListener("input", () => { state.wfInputs[name] = input.value; state.changed(); });
    return el("div", { class: "field", "data-path": `inputs.${name}` },
      el("label", { class: "name" }, name, " ", el("span", { class: "type" }, spec.type),
        spec.required ? el("span", { class: "req" }, " *") : ""),
      el("div", { class: "widget" }, input), el("div", { class: "field-error" }));
  }));
  if (!Object.keys(wf.inputs || {}).length) inputs.append(el("p", { class: "muted" }, "none declared"));
}

export function showInputProblems(problems) {
  const rest = [];
  for (const node of document.querySelectorAll("#wf-inputs .field-error")) node.textContent = "";
  for (const p of problems) {
    const box = document.querySelector(`#wf-inputs .field[data-path="${CSS.escape(p.where)}"] .field-error`);
    if (box) box.textContent = `${p.message}${p.hint ? `\nhint: ${p.hint}` : ""}`;
    else rest.push(p);
  }
  return rest;
}

export function renderRun(container, status, data) {
  if (status !== 200) {
    const error = data.error || { kind: "bug", message: "no answer" };
    const rest = showInputProblems(error.problems || []);
    container.replaceChildren(errorBox({ ...error, message: rest.length || !error.problems?.length ? error.message : "fix the inputs above" }));
    return;
  }
  container.replaceChildren(
    el("p", { id: "run-status", class: data.ok ? "ok-text" : "bad-text" }, data.ok ? "run ok" : "run failed"),
    ...Object.entries(data.steps).map(([sid, r]) => el("div", { class: "step-result", "data-step": sid },
      el("strong", {}, sid), " ",
      el("span", { class: r.ok ? "ok-text" : "bad-text" }, r.skipped ? "skipped" : r.ok ? `ok ${r.status_code}` : `failed ${r.status_code ?? ""}`),
      Object.keys(r.outputs || {}).length
        ? el("details", {}, el("summary", {}, "outputs"), el("pre", {}, JSON.stringify(r.outputs, null, 2)))
        : "",
      r.error ? errorBox(r.error) : "")),
    el("p", { class: "muted" }, `recorded in ${data.record}`));
}
