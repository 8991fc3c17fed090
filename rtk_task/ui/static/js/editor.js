// The workflow editor, in the workflow panel: the selected step (Save, rename, duplicate,
// delete with its dependants listed, its advanced keys), the declared inputs and secrets
// (a secret is the NAME of an environment variable, never its value), and a cURL command
// imported as a step. Every edit names the file's content hash the page last saw: a file
// changed on disk since is refused (409) and the page offers to reload it.

import { api, el } from "./api.js";

const TYPES = ["string", "integer", "number", "boolean", "object", "array"];
const ADVANCED = [
  ["when", "when", "{{ inputs.flag }}"],
  ["for_each", "for_each", "{{ inputs.people }} or [\"a\", \"b\"]"],
  ["until", "until condition", "{{ response.body.data.status == 'DONE' }}"],
  ["until_interval", "until interval (s)", "2"],
  ["until_timeout", "until timeout (s)", "60"],
  ["depends_on", "depends_on", "step ids, comma-separated"],
  ["retry", "retry (JSON)", "{\"max_attempts\": 3}"],
];

let hooks = null;
const $ = (id) => document.getElementById(id);
const wf = () => hooks.state.workflow;
const selectedStep = () => wf()?.steps.find((s) => s.id === hooks.state.selected);

function say(text, bad = false, extra = []) {
  const box = $("edit-status");
  box.className = bad ? "bad-text" : "ok-text";
  box.replaceChildren(text, ...extra);
}

// POST an edit with the hash the page last saw; the new workflow is drawn. Resolves to the
// answer's data, or null when it was refused (said in the status line).
async function edit(path, payload, done) {
  const { status, data } = await api(`/api/edit/${path}`, { ...payload, hash: wf()?.hash });
  if (status === 409 && data.conflict) {
    const reload = el("button", { type: "button", onclick: async () => { await hooks.reload(); say("Reloaded."); } }, "Reload");
    say(`${data.error.message} `, true, [reload]);
    return null;
  }
  if (status !== 200) {
    say(`Not saved: ${data.error?.message || "no answer"}`, true);
    return null;
  }
  hooks.setWorkflow(data.workflow);
  if (done) say(typeof done === "function" ? done(data) : done);
  return data;
}

// -- the selected step ------------------------------------------------------------------------

function field(key, label, placeholder, multiline = false) {
  const id = `adv-${key}`;
  const control = multiline
    ? el("textarea", { id, rows: 3, spellcheck: "false", placeholder })
    : el("input", { id, type: "text", spellcheck: "false", placeholder });
  return el("div", { class: "edit-field" }, el("label", { for: id }, label), control);
}

function stepEditor() {
  const toggle = el("button", { type: "button", id: "advanced-toggle", "aria-expanded": "false", "aria-controls": "advanced",
    onclick: () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      $("advanced").hidden = !open;
    } }, "Advanced");
  return el("section", { id: "step-editor", class: "editor", "aria-labelledby": "step-editor-heading", hidden: true },
    el("h3", { id: "step-editor-heading" }, "Selected step"),
    el("p", { class: "muted" }, "The form shows its inputs: Save step writes them, and the fields below, to the file."),
    el("div", { class: "row" },
      el("button", { type: "button", class: "primary", id: "save-step", onclick: save }, "Save step"),
      el("button", { type: "button", onclick: duplicate }, "Duplicate step"),
      el("button", { type: "button", onclick: askDelete }, "Delete step")),
    el("div", { class: "row" },
      el("label", { for: "rename-id" }, "New step id"),
      el("input", { id: "rename-id", type: "text", size: 14, spellcheck: "false" }),
      el("button", { type: "button", onclick: rename }, "Rename step")),
    field("outputs", "outputs (one per line, name: template)", "token: {{ response.body.data.token }}", true),
    toggle,
    el("div", { id: "advanced", hidden: true }, ADVANCED.map(([k, label, hint]) => field(k, label, hint, k === "retry"))));
}

const text = (v) => (v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));

function loadFields(step) {
  const f = step.fields || {};
  $("rename-id").value = step.id;
  $("adv-outputs").value = Object.entries(f.outputs || {}).map(([k, v]) => `${k}: ${text(v)}`).join("\n");
  $("adv-when").value = text(f.when);
  $("adv-for_each").value = text(f.for_each);
  $("adv-until").value = text(f.until?.condition);
  $("adv-until_interval").value = text(f.until?.interval);
  $("adv-until_timeout").value = text(f.until?.timeout);
  $("adv-depends_on").value = (f.depends_on || []).join(", ");
  $("adv-retry").value = f.retry ? JSON.stringify(f.retry) : "";
  const any = ADVANCED.some(([k]) => $(`adv-${k}`).value);
  if (any && $("advanced").hidden) $("advanced-toggle").click();
}

async function save() {
  const step = selectedStep();
  if (!step) return;
  const advanced = { outputs: $("adv-outputs").value };
  for (const [k] of ADVANCED) advanced[k] = $(`adv-${k}`).value;
  const data = await edit("step", { step_id: step.id, with: hooks.formValue(), advanced }, `Saved step ${step.id}.`);
  if (data) loadFields(selectedStep());
}

async function rename() {
  const step = selectedStep();
  const to = $("rename-id").value.trim();
  if (!step || !to || to === step.id) return;
  const data = await edit("rename", { step_id: step.id, new_id: to }, `Renamed ${step.id} to ${to}.`);
  if (data) {
    hooks.select(data.step_id);
    hooks.setWorkflow(data.workflow);
  }
}

async function duplicate() {
  const step = selectedStep();
  if (step) await edit("duplicate", { step_id: step.id }, (d) => `Duplicated ${step.id} as ${d.step_id}.`);
}

function askDelete() {
  const step = selectedStep();
  if (!step) return;
  const dialog = $("delete-dialog");
  const users = step.dependants || [];
  $("delete-title").textContent = `Delete step ${step.id}?`;
  $("delete-body").replaceChildren(users.length
    ? el("div", {}, el("p", {}, `These steps use it (they read its outputs, or wait for it):`),
      el("ul", { id: "delete-dependants" }, users.map((u) => el("li", {}, u))),
      el("p", { class: "muted" }, "A step that waits for it stops waiting; one that reads its outputs must be changed first."))
    : el("p", {}, "No other step uses it."));
  dialog.returnValue = "";
  dialog.showModal();
}

async function deleteConfirmed() {
  const step = selectedStep();
  if (!step) return;
  const data = await edit("delete", { step_id: step.id, confirm: true }, `Deleted step ${step.id}.`);
  if (data) hooks.select(null);
  if (data) hooks.setWorkflow(data.workflow);
}

function deleteDialog() {
  const dialog = el("dialog", { id: "delete-dialog", class: "editor", "aria-labelledby": "delete-title" },
    el("h2", { id: "delete-title" }, "Delete step?"),
    el("div", { id: "delete-body" }),
    el("form", { method: "dialog", class: "row" },
      el("button", { value: "delete", class: "danger" }, "Delete"),
      el("button", { value: "cancel" }, "Cancel")));
  dialog.addEventListener("close", () => { if (dialog.returnValue === "delete") deleteConfirmed(); });
  return dialog;
}

// Move a step to `to` (its index after the move): refused when it would come before a step
// whose outputs it reads.
async function move(id, to) {
  const order = wf().steps.map((s) => s.id).filter((s) => s !== id);
  order.splice(to, 0, id);
  const data = await edit("move", { order }, `Moved ${id} to position ${to + 1}.`);
  document.querySelector(`[data-step-button="${CSS.escape(id)}"]`)?.focus();
  return data;
}

// -- inputs and secrets -----------------------------------------------------------------------

function typeSelect(label, chosen) {
  return el("select", { "aria-label": label }, TYPES.map((t) => el("option", { value: t, selected: t === chosen ? true : undefined }, t)));
}

function inputRow(name, spec) {
  const nameBox = el("input", { type: "text", value: name, size: 10, "aria-label": `input ${name}: name` });
  const type = typeSelect(`input ${name}: type`, spec.type);
  const dflt = el("input", { type: "text", size: 10, value: spec.default === null || spec.default === undefined ? "" : text(spec.default),
    "aria-label": `input ${name}: default`, placeholder: "no default" });
  return el("li", { "data-input": name }, nameBox, type, dflt,
    el("button", { type: "button", "aria-label": `Save input ${name}`,
      onclick: () => edit("input", { name: nameBox.value.trim(), rename_from: name, type: type.value, default: dflt.value }, `Saved input ${nameBox.value.trim()}.`) }, "Save"),
    el("button", { type: "button", "aria-label": `Delete input ${name}`,
      onclick: () => edit("delete-input", { name }, `Deleted input ${name}.`) }, "Delete"));
}

function secretRow(name, env) {
  const nameBox = el("input", { type: "text", value: name, size: 10, "aria-label": `secret ${name}: name` });
  const envBox = el("input", { type: "text", value: env, size: 14, "aria-label": `secret ${name}: variable` });
  return el("li", { "data-secret": name }, nameBox, envBox,
    el("button", { type: "button", "aria-label": `Save secret ${name}`,
      onclick: () => edit("secret", { name: nameBox.value.trim(), rename_from: name, env: envBox.value.trim() }, `Saved secret ${nameBox.value.trim()}.`) }, "Save"),
    el("button", { type: "button", "aria-label": `Delete secret ${name}`,
      onclick: () => edit("delete-secret", { name }, `Deleted secret ${name}.`) }, "Delete"));
}

function declarations() {
  const newName = el("input", { type: "text", size: 10, "aria-label": "New input name", placeholder: "name" });
  const newType = typeSelect("New input type", "string");
  const newDefault = el("input", { type: "text", size: 10, "aria-label": "New input default", placeholder: "default" });
  const secretName = el("input", { type: "text", size: 10, "aria-label": "New secret name", placeholder: "name" });
  const secretEnv = el("input", { type: "text", size: 14, "aria-label": "New secret variable", placeholder: "ENV_VARIABLE" });
  const declare = async () => {
    const name = newName.value.trim();
    if (await edit("input", { name, type: newType.value, default: newDefault.value }, `Declared input ${name}.`)) {
      newName.value = ""; newDefault.value = "";
    }
  };
  const declareSecret = async () => {
    const name = secretName.value.trim();
    if (await edit("secret", { name, env: secretEnv.value.trim() }, `Declared secret ${name}.`)) {
      secretName.value = ""; secretEnv.value = "";
    }
  };
  return el("section", { id: "declarations", class: "editor", "aria-labelledby": "declarations-heading" },
    el("h3", { id: "declarations-heading" }, "Declared inputs and secrets"),
    el("ul", { id: "declared-inputs", class: "declared", "aria-label": "Declared inputs" }),
    el("div", { class: "row" }, newName, newType, newDefault, el("button", { type: "button", onclick: declare }, "Declare input")),
    el("ul", { id: "declared-secrets", class: "declared", "aria-label": "Declared secrets" }),
    el("div", { class: "row" }, secretName, secretEnv, el("button", { type: "button", onclick: declareSecret }, "Declare secret")),
    el("p", { class: "muted" }, "A secret names the environment variable that holds it; its value never reaches this page or the file."));
}

// -- a cURL command ---------------------------------------------------------------------------

function importer() {
  const command = el("textarea", { id: "curl-command", rows: 3, spellcheck: "false", placeholder: "curl https://… -X POST -d '{…}'" });
  const stepId = el("input", { id: "curl-step-id", type: "text", size: 14, spellcheck: "false", placeholder: "from the task" });
  const run = async () => {
    const { status, data } = await api("/api/edit/import-curl", { command: command.value, step_id: stepId.value.trim() });
    if (status !== 200) { say(`Not imported: ${data.error?.message || "no answer"}`, true); return; }
    command.value = "";
    hooks.setWorkflow(data.workflow);
    say(`Imported step ${data.step_id}.${(data.notes || []).map((n) => `\nnote: ${n}`).join("")}`);
  };
  return el("section", { id: "import", class: "editor", "aria-labelledby": "import-heading" },
    el("h3", { id: "import-heading" }, "Import a cURL command"),
    el("label", { for: "curl-command" }, "cURL command"), command,
    el("div", { class: "row" }, el("label", { for: "curl-step-id" }, "step id"), stepId,
      el("button", { type: "button", onclick: run }, "Import cURL")));
}

// -- on the page ------------------------------------------------------------------------------

export function mountEditor(given) {
  hooks = given;
  hooks.move = move;
  if (!document.querySelector('link[href="/static/editor.css"]')) {
    document.head.append(el("link", { rel: "stylesheet", href: "/static/editor.css" }));
  }
  $("steps").after(el("div", { id: "edit-status", role: "status", "aria-live": "polite", "aria-label": "Editor" }), stepEditor(), declarations(), importer());
  document.body.append(deleteDialog());
}

// Draw the editor for the workflow as it is now; `picked`: a step was just selected (its
// fields are loaded into the editor).
export function renderEditor(picked) {
  const workflow = wf();
  if (!hooks || !workflow) return;
  const step = selectedStep();
  $("step-editor").hidden = !step;
  $("declarations").hidden = !workflow.exists;
  if (step) {
    $("step-editor-heading").textContent = `Step ${step.id} (${step.task})`;
    if (picked || $("rename-id").value !== step.id) loadFields(step);
  }
  $("declared-inputs").replaceChildren(...Object.entries(workflow.inputs || {}).map(([n, spec]) => inputRow(n, spec)));
  $("declared-secrets").replaceChildren(...Object.entries(workflow.secret_env || {}).map(([n, env]) => secretRow(n, env)));
}
