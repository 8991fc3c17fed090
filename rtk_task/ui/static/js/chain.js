// Chain: the workflow opened with --workflow, its steps in order (with their depends_on,
// for_each, until, when) and their recorded runs (two of them compared side by side), its
// inputs, and Run workflow (each step's result shown as it finishes). The picker of
// references: the candidates a field may read (inputs, secrets, earlier steps' outputs), the
// ones whose type fits the field first, each with its type and last recorded value; typing
// "{{" in a field opens it as a list to choose from.

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

// The steps, each a button: click (or Enter) loads it into the form; Alt+ArrowUp/Down moves
// it (onMove(id, to)); ArrowUp/Down goes to the step above or below; drag and drop moves it.
export function renderWorkflow(state, onOpenStep, onCompare, onMove) {
  const wf = state.workflow;
  document.getElementById("wf-none").hidden = Boolean(wf);
  document.getElementById("wf-body").hidden = !wf;
  document.getElementById("wf-file").textContent = wf ? `workflow: ${wf.file}${wf.exists ? "" : " (new)"}` : "";
  if (!wf) return;
  const steps = document.getElementById("steps");
  steps.setAttribute("aria-label", "Workflow steps");
  const at = (sid) => wf.steps.findIndex((x) => x.id === sid);
  steps.replaceChildren(...wf.steps.map((s, i) => {
    const button = el("button", {
      type: "button", class: "step-btn", "data-step-button": s.id,
      "aria-current": s.id === state.selected ? "true" : undefined,
      "aria-keyshortcuts": "Alt+ArrowUp Alt+ArrowDown",
      "aria-describedby": `step-${s.id}-about`,
      onclick: (e) => { e.stopPropagation(); onOpenStep(s); },
      onkeydown: (e) => {
        if (e.key !== "ArrowUp" && e.key !== "ArrowDown") return;
        e.preventDefault();
        const to = i + (e.key === "ArrowUp" ? -1 : 1);
        if (to < 0 || to >= wf.steps.length) return;
        if (e.altKey) onMove?.(s.id, to);
        else steps.querySelector(`[data-step-button="${CSS.escape(wf.steps[to].id)}"]`)?.focus();
      },
    }, s.id);
    const li = el("li", {
      "data-step": s.id, class: s.id === state.selected || s.id === state.stepId ? "current" : undefined,
      draggable: onMove ? "true" : undefined, onclick: () => onOpenStep(s),
      ondragstart: (e) => { e.dataTransfer.setData("text/x-rtk-step", s.id); e.dataTransfer.effectAllowed = "move"; },
      ondragover: (e) => { if (e.dataTransfer.types.includes("text/x-rtk-step")) { e.preventDefault(); li.classList.add("drop"); } },
      ondragleave: () => li.classList.remove("drop"),
      ondrop: (e) => {
        e.preventDefault();
        li.classList.remove("drop");
        const moved = e.dataTransfer.getData("text/x-rtk-step");
        if (moved && moved !== s.id) onMove?.(moved, at(s.id));
      },
    }, button, " ", el("span", { class: "muted", id: `step-${s.id}-about` }, s.task),
    el("span", { class: "last" }, lastRun(s)),
    flowText(s.flow) ? el("pre", { class: "flow" }, flowText(s.flow)) : "",
    s.runs && s.runs.length > 1 ? el("details", { onclick: (e) => e.stopPropagation() },
      el("summary", { class: "muted" }, `${s.runs.length} recorded runs`),
      s.runs.map((r) => el("div", { class: "muted" }, runLabel(r))),
      el("button", { type: "button", class: "compare-btn", onclick: () => onCompare(s) }, "Compare runs")) : "");
    return li;
  }));
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

// -- the picker of references -------------------------------------------------------------

const words = (text) => new Set(String(text).toLowerCase().split(/[^a-z0-9]+/).filter(Boolean));
const fits = (want, have) => !want || have === want || (want === "number" && have === "integer");

function shortValue(value) {
  if (value === undefined) return "";
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

// What a field (its path, and its type from the task's params) may read, best first: the
// candidates whose type fits (one named like the field before the rest, then by the words
// they share with it), then the others. Each {value, ref, type, last, fits}; secrets are
// offered by name, never with a value.
export function candidates(workflow, stepId, path, params) {
  if (!workflow) return [];
  const name = path.split(".").pop();
  const want = (params || []).find((p) => p.path === path)?.type || null;
  const list = [];
  for (const [input, spec] of Object.entries(workflow.inputs || {})) {
    list.push({ ref: `inputs.${input}`, name: input, type: spec.type, last: spec.default ?? undefined, kind: "default" });
  }
  for (const secret of workflow.secrets || []) list.push({ ref: `secrets.${secret}`, name: secret, type: "string", secret: true });
  for (const step of workflow.steps || []) {
    if (step.id === stepId) break; // only earlier steps
    for (const out of step.outputs) {
      list.push({ ref: `steps.${step.id}.outputs.${out}`, name: out, type: step.output_types?.[out] ?? null,
        last: step.recorded?.[out], kind: "last" });
    }
  }
  const mine = words(name);
  const score = (c) => (c.name === name ? 100 : 0) + [...words(c.ref)].filter((w) => mine.has(w)).length;
  return list
    .map((c, i) => ({ ...c, i, value: `{{ ${c.ref} }}`, fits: fits(want, c.type), score: score(c) }))
    .sort((a, b) => (b.fits - a.fits) || (b.score - a.score) || (a.i - b.i));
}

export function candidateText(c) {
  const type = c.type || "type unknown";
  const last = c.secret ? "secret" : c.last === undefined ? "" : `${c.kind === "default" ? "default" : "last"} ${shortValue(c.last)}`;
  return [c.value, type, last].filter(Boolean).join(" · ");
}

// Each field's picker (form.js's <select class=pick>) with the candidates for that field.
export function annotatePicks(formEl, workflow, stepId, params) {
  for (const pick of formEl.querySelectorAll(".field[data-path] select.pick")) {
    const path = pick.closest(".field").dataset.path;
    const found = candidates(workflow, stepId, path, params);
    const group = (label, items) => (items.length
      ? [el("optgroup", { label }, items.map((c) => el("option", { value: c.value }, candidateText(c))))] : []);
    pick.replaceChildren(el("option", { value: "" }, "{{ }}"),
      ...group("fits this field", found.filter((c) => c.fits)), ...group("others", found.filter((c) => !c.fits)));
  }
}

let open = null;

function closePicker(refocus) {
  if (!open) return;
  const { box, input } = open;
  open = null;
  box.remove();
  if (refocus) input.focus();
}

// Typing "{{" in a text field of the form opens a list of the field's candidates: arrows to
// move, Enter (or a click) to take one, Escape to leave. onChoose(path, text) gets the
// field's new text, the "{{" replaced by the reference.
export function bracePicker(formEl, list, onChoose) {
  formEl.addEventListener("input", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement || input instanceof HTMLTextAreaElement) || input.type === "checkbox") return;
    const fieldEl = input.closest(".field[data-path]");
    const caret = input.selectionStart ?? input.value.length;
    if (!fieldEl || !input.value.slice(0, caret).endsWith("{{")) return;
    const path = fieldEl.dataset.path;
    const found = list(path);
    if (!found.length) return;
    closePicker(false);
    const before = input.value.slice(0, caret - 2);
    const after = input.value.slice(caret);
    const id = (i) => `ref-option-${i}`;
    let active = 0;
    const choose = (c) => { closePicker(false); onChoose(path, `${before}${c.value}${after}`); };
    const options = found.map((c, i) => el("div", {
      role: "option", id: id(i), class: c.fits ? "fits" : undefined, "aria-selected": i === 0 ? "true" : "false",
      onmousedown: (e) => e.preventDefault(), onclick: () => choose(c),
    }, el("code", {}, c.value), " · ", el("span", { class: "muted" }, candidateText(c).slice(c.value.length + 3))));
    const label = fieldEl.querySelector("label.name")?.textContent || path;
    const box = el("div", {
      role: "listbox", class: "ref-picker", tabindex: "0", "aria-label": `References for ${label}`,
      "aria-activedescendant": id(0),
      onkeydown: (e) => {
        if (e.key === "Escape") { e.preventDefault(); closePicker(true); return; }
        if (e.key === "Enter") { e.preventDefault(); choose(found[active]); return; }
        if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
        e.preventDefault();
        options[active].setAttribute("aria-selected", "false");
        active = (active + (e.key === "ArrowDown" ? 1 : found.length - 1)) % found.length;
        options[active].setAttribute("aria-selected", "true");
        box.setAttribute("aria-activedescendant", id(active));
        options[active].scrollIntoView({ block: "nearest" });
      },
      onfocusout: (e) => { if (!box.contains(e.relatedTarget)) closePicker(false); },
    }, options);
    const where = input.getBoundingClientRect();
    box.style.left = `${Math.round(where.left + window.scrollX)}px`;
    box.style.top = `${Math.round(where.bottom + window.scrollY + 2)}px`;
    document.body.append(box);
    open = { box, input };
    box.focus();
  });
}
