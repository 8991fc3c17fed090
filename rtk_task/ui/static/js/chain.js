// Chain: the workflow opened with --workflow, its steps in order (with their depends_on,
// for_each, until, when) and their recorded runs (two of them compared side by side), its
// inputs, and Run workflow (each step's result shown as it finishes).

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

export function runLabel(r) {
  return `${r.kind} ${r.at} ${r.skipped ? "skipped" : r.ok ? "ok" : "failed"} ${r.status_code ?? ""}`.trim();
}

function lastRun(step) {
  const run = step.runs && step.runs[0];
  if (!run) return "not run yet";
  return `${run.kind} ${run.at}: ${run.skipped ? "skipped" : run.ok ? "ok" : "failed"}${run.status_code ? ` (${run.status_code})` : ""}`;
}

function flowText(flow) {
  return Object.entries(flow || {}).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n");
}

export function renderWorkflow(state, onOpenStep, onCompare) {
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
  flowText(s.flow) ? el("pre", { class: "flow" }, flowText(s.flow)) : "",
  s.runs && s.runs.length > 1 ? el("details", { onclick: (e) => e.stopPropagation() },
    el("summary", { class: "muted" }, `${s.runs.length} recorded runs`),
    s.runs.map((r) => el("div", { class: "muted" }, runLabel(r))),
    el("button", { type: "button", class: "compare-btn", onclick: () => onCompare(s) }, "Compare runs")) : "")));
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

function stepLine(sid, r) {
  return [el("strong", {}, sid), " ",
    el("span", { class: r.ok ? "ok-text" : "bad-text" }, r.skipped ? "skipped" : r.ok ? `ok ${r.status_code}` : `failed ${r.status_code ?? ""}`),
    Object.keys(r.outputs || {}).length
      ? el("details", {}, el("summary", {}, "outputs"), el("pre", {}, JSON.stringify(r.outputs, null, 2)))
      : "",
    r.error ? errorBox(r.error) : ""];
}

// A refused run (problems, nothing sent): input problems beside the inputs, the rest listed.
export function renderRunRefused(container, status, data) {
  const error = data.error || { kind: "bug", message: "no answer" };
  const rest = showInputProblems(error.problems || []);
  container.replaceChildren(
    el("p", { id: "run-status", class: "bad-text" }, "not run: nothing was sent"),
    rest.length
      ? el("div", { id: "run-problems" }, rest.map((p) => el("div", { class: "error-box" },
        `${p.where ? `${p.where}: ` : ""}${p.message}${p.hint ? `\nhint: ${p.hint}` : ""}`)))
      : errorBox({ ...error, message: error.problems?.length ? "fix the inputs above" : error.message }));
}

// The run as it goes: one row per step, filled in by each event of the stream.
export function runView(container) {
  const rows = new Map();
  const status = el("p", { id: "run-status", class: "muted" }, "running…");
  const list = el("div", {});
  const foot = el("p", { class: "muted" });
  container.replaceChildren(status, list, foot);
  return (name, data) => {
    if (name === "begin") {
      for (const sid of data.steps) {
        const row = el("div", { class: "step-result", "data-step": sid, "data-state": "waiting" },
          el("strong", {}, sid), " ", el("span", { class: "muted" }, "waiting"));
        rows.set(sid, row);
        list.append(row);
      }
    } else if (name === "start") {
      const row = rows.get(data.step);
      row.dataset.state = "running";
      row.replaceChildren(el("strong", {}, data.step), " ", el("span", { class: "muted" }, "running…"));
    } else if (name === "step") {
      const row = rows.get(data.step);
      row.dataset.state = "done";
      row.replaceChildren(...stepLine(data.step, data.result));
    } else if (name === "done") {
      status.className = data.ok ? "ok-text" : "bad-text";
      status.textContent = data.ok ? "run ok" : "run failed";
      for (const row of rows.values()) if (row.dataset.state === "waiting") row.lastChild.textContent = "not run";
      const outputs = Object.keys(data.outputs || {}).length ? ` — outputs: ${JSON.stringify(data.outputs)}` : "";
      foot.textContent = `${data.record_error ? `NOT recorded: ${data.record_error}` : `recorded in ${data.record}`}${outputs}`;
    } else if (name === "error") {
      status.className = "bad-text";
      status.textContent = "run failed";
      foot.replaceChildren(errorBox({ kind: "bug", message: data.message }));
    }
  };
}

// Two recorded runs of one step side by side; the fields that differ are marked.
export function renderCompare(container, step, data, onPick) {
  const pick = (side, chosen) => el("select", { id: `compare-${side}`, "aria-label": `run ${side}`,
    onchange: (e) => onPick(side, e.target.value) },
  step.runs.map((r, i) => el("option", { value: r.file, selected: r.file === chosen ? true : undefined },
    `#${step.runs.length - i}${i === 0 ? " (newest)" : ""}: ${runLabel(r)}`)));
  container.replaceChildren(
    el("h2", {}, `Compare runs of ${step.id}`),
    el("div", { class: "row" }, el("label", {}, "A ", pick("a", data.a.file)), el("label", {}, "B ", pick("b", data.b.file))),
    el("p", { id: "compare-summary", class: data.differences ? "bad-text" : "ok-text" },
      data.differences ? `${data.differences} field${data.differences === 1 ? "" : "s"} differ` : "the same"),
    el("table", { class: "compare" },
      el("tr", {}, el("th", {}, "field"), el("th", {}, "A"), el("th", {}, "B")),
      data.rows.map((r) => el("tr", { class: r.same ? undefined : "diff", "data-field": r.field },
        el("td", { class: "mono" }, r.field), el("td", { class: "mono" }, r.a), el("td", { class: "mono" }, r.b)))));
  container.hidden = false;
}
