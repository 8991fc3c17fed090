// Fill: a form generated from the task's JSON Schema (rtk_task.inputs.input_schema).
// Nested objects are groups, enums selects, booleans toggles, arrays lists, defaults
// placeholders, required fields marked. Every field holds a literal or a template; its picker
// offers {{ inputs.X }}, {{ secrets.X }} and earlier steps' {{ steps.S.outputs.O }}.
// buildForm returns {get, set, showProblems, refreshPicks}; get() is the step's `with`.
//
// Accessibility: each field's <label for> names the control that holds its value (the literal
// widget, or the template input in template mode); helpers (picker, unset, remove) have names
// of their own, described by the field's label, so that they never answer to the field's name.
// Required fields come first, then optional ones, then optional groups folded in <details>.
// A required field's "is required" shows once that field was edited or a request was sent.
// Ctrl+Enter (Cmd+Enter) in the Fill or Preview panel clicks Test request.

import { el } from "./api.js";

// The form on the page now (one at a time): told when a request is sent.
let current = null;

document.addEventListener("click", (event) => {
  if (event.target.closest?.("#test-btn, #add-btn")) current?.revealAll();
}, true);

document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.altKey) return;
  if (!event.target.closest?.("#fill, #preview")) return;
  const button = document.getElementById("test-btn");
  if (!button || button.disabled || !isShown(button)) return;
  event.preventDefault();
  button.click();
});

const isShown = (node) => node.getClientRects().length > 0;

// The id of a field's control (paths are unique in a form; ids must hold no spaces).
const fieldId = (path) => `fld-${path.replace(/\s/g, "_")}`;

// Focus the form's first visible control (after a task was opened from Find).
export function focusFirstField(formEl) {
  const first = [...formEl.querySelectorAll("input, select, textarea, summary")]
    .find((c) => !c.disabled && !c.classList.contains("pick") && isShown(c));
  first?.focus();
  return first;
}

function typeOf(schema) {
  let t = schema.type;
  if (Array.isArray(t)) t = t.find((x) => x !== "null") || "string";
  return t || (schema.properties ? "object" : "string");
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const hasTemplate = (v) => typeof v === "string" && v.includes("{{");

function numberOr(text, type) {
  if (type === "integer" && /^-?\d+$/.test(text)) return Number(text);
  if (type === "number" && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) return Number(text);
  return text;
}

// The field's head: its name (the <label>), its type and the required mark beside it.
function head(id, name, type, required, schema) {
  const label = el("label", { class: "name", id: `${id}-label`, for: id }, name);
  return {
    label,
    el: el("div", { class: "head" }, label, " ",
      el("span", { class: "type" }, type + (schema.format ? ` (${schema.format})` : "")),
      required ? el("span", { class: "req", title: "required", "aria-hidden": "true" }, " *") : ""),
  };
}

function placeholderOf(schema) {
  if (schema.default === undefined || schema.default === null) return "";
  return `default: ${JSON.stringify(schema.default)}`;
}

// -- literal widgets: each {el, control, get, set(v) -> bool (false: cannot show v)} --------
// `a` is the field's {id, labelId, describedBy}: `control` (given the id, so that the field's
// label names it) holds the value; a list has none and is a group named by the label.

function enumWidget(schema, a) {
  const select = el("select", { id: a.id, "aria-describedby": a.describedBy },
    el("option", { value: "" }, placeholderOf(schema) || "— not set —"),
    schema.enum.map((v, i) => el("option", { value: `e${i}` }, String(v))));
  let extra;
  return {
    el: select,
    control: select,
    get() {
      if (select.value === "") return undefined;
      if (select.value === "x") return extra;
      return schema.enum[Number(select.value.slice(1))];
    },
    set(v) {
      select.querySelector("option[value=x]")?.remove();
      if (v === undefined) { select.value = ""; return true; }
      const i = schema.enum.findIndex((e) => e === v);
      if (i >= 0) { select.value = `e${i}`; return true; }
      // a value the docs do not allow (from the raw JSON): shown, so its error has a place
      extra = v;
      select.append(el("option", { value: "x" }, `${JSON.stringify(v)} (not allowed)`));
      select.value = "x";
      return true;
    },
  };
}

function boolWidget(schema, a) {
  let state;
  const box = el("input", { type: "checkbox", class: "toggle", role: "switch", id: a.id,
    "aria-describedby": `${a.id}-state ${a.describedBy}` });
  const shown = el("span", { class: "toggle-state", id: `${a.id}-state` });
  const clear = el("button", { type: "button", title: "unset", "aria-label": "unset",
    "aria-describedby": a.labelId }, "×");
  const paint = () => {
    box.checked = state === true;
    box.indeterminate = state === undefined;
    shown.textContent = state === undefined ? `not set${schema.default !== undefined ? ` (default ${schema.default})` : ""}` : String(state);
  };
  box.addEventListener("change", () => { state = box.checked; paint(); });
  clear.addEventListener("click", () => {
    state = undefined; paint(); box.dispatchEvent(new Event("change", { bubbles: true }));
  });
  paint();
  return {
    el: el("span", { class: "widget" }, box, shown, clear),
    control: box,
    get: () => state,
    set(v) {
      if (v !== undefined && typeof v !== "boolean") return false;
      state = v; paint(); return true;
    },
  };
}

function jsonWidget(schema, a) {
  const area = el("textarea", { rows: 3, spellcheck: "false", placeholder: placeholderOf(schema) || "JSON",
    id: a.id, "aria-describedby": a.describedBy });
  return {
    el: area,
    control: area,
    get() {
      if (!area.value.trim()) return undefined;
      try { return JSON.parse(area.value); } catch { return area.value; }
    },
    set(v) { area.value = v === undefined ? "" : JSON.stringify(v, null, 1); return true; },
  };
}

function listWidget(schema, itemType, changed, a) {
  const rows = el("div", { class: "list" });
  const add = (value = "") => {
    const input = el("input", { type: "text", value: String(value), "aria-label": "item", "aria-describedby": a.labelId });
    const row = el("div", { class: "list-row" }, input,
      el("button", { type: "button", title: "remove", "aria-label": "remove item", "aria-describedby": a.labelId,
        onclick: () => { row.remove(); changed(); } }, "−"));
    rows.append(row);
    return input;
  };
  const plus = el("button", { type: "button", onclick: () => { add().focus(); changed(); } }, "+ add item");
  return {
    el: el("div", { role: "group", "aria-labelledby": a.labelId, "aria-describedby": a.describedBy }, rows, plus),
    control: null,
    get() {
      const values = [...rows.querySelectorAll("input")].map((i) => i.value).filter((v) => v !== "")
        .map((v) => (itemType === "boolean" && (v === "true" || v === "false") ? v === "true" : numberOr(v, itemType)));
      return values.length ? values : undefined;
    },
    set(v) {
      if (v !== undefined && !Array.isArray(v)) return false;
      if (v !== undefined && v.some((x) => isObject(x) || Array.isArray(x))) return false;
      rows.replaceChildren();
      for (const item of v || []) add(item);
      return true;
    },
  };
}

function textWidget(schema, type, a) {
  const input = el("input", { type: "text", placeholder: placeholderOf(schema), id: a.id,
    "aria-describedby": a.describedBy, inputmode: type === "string" ? undefined : "decimal" });
  return {
    el: input,
    control: input,
    get: () => (input.value === "" ? undefined : type === "string" ? input.value : numberOr(input.value, type)),
    set(v) {
      if (v === undefined) { input.value = ""; return true; }
      if (isObject(v) || Array.isArray(v) || typeof v === "boolean") return false;
      input.value = String(v);
      return true;
    },
  };
}

// -- a field: literal widget, template input, picker, error --------------------------------

function field(schema, path, name, required, ctx) {
  const type = typeOf(schema);
  const id = fieldId(path);
  const desc = schema.description ? el("div", { class: "desc", id: `${id}-desc` }, schema.description) : "";
  const error = el("div", { class: "field-error", id: `${id}-err` });
  const a = { id, labelId: `${id}-label`, describedBy: `${desc ? `${id}-desc ` : ""}${id}-err` };
  let literal;
  if (schema.enum) literal = enumWidget(schema, a);
  else if (type === "boolean") literal = boolWidget(schema, a);
  else if (type === "array" && schema.items && ["string", "number", "integer", "boolean"].includes(typeOf(schema.items)))
    literal = listWidget(schema, typeOf(schema.items), ctx.changed, a);
  else if (type === "array" || type === "object") literal = jsonWidget(schema, a);
  else literal = textWidget(schema, type, a);

  const top = head(id, name, type, required, schema);
  const tpl = el("input", { type: "text", class: "tpl", id: `${id}-tpl`, "aria-describedby": a.describedBy });
  const back = el("button", { type: "button", title: "back to a literal value", "aria-label": "back to a literal value",
    "aria-describedby": a.labelId }, "×");
  const tplBox = el("span", { class: "widget", hidden: true }, tpl, back);
  const pick = el("select", { class: "pick", title: "insert a template", "aria-label": "insert a template",
    "aria-describedby": a.labelId });
  const controls = [literal.control, tpl].filter(Boolean);
  if (required) for (const c of controls) c.setAttribute("aria-required", "true");
  const litBox = el("span", { class: "widget" }, literal.el);
  const wrap = el("div", { class: "field", "data-path": path },
    top.el,
    el("div", { class: "widget" }, litBox, tplBox, pick),
    desc,
    error);
  let mode = "literal";
  // the label names the control that holds the value now; the hidden one has no name
  const setMode = (m) => {
    mode = m;
    wrap.classList.toggle("template", m === "template");
    litBox.hidden = m === "template";
    tplBox.hidden = m !== "template";
    const target = m === "template" ? tpl : literal.control;
    if (target) top.label.htmlFor = target.id;
    else top.label.removeAttribute("for");
  };
  setMode("literal");
  back.addEventListener("click", () => { tpl.value = ""; setMode("literal"); ctx.changed(); });
  pick.addEventListener("change", () => {
    if (!pick.value) return;
    tpl.value = pick.value;
    setMode("template");
    pick.value = "";
    ctx.changed();
  });
  ctx.picks.push(pick);
  return {
    el: wrap, path, error,
    invalid(flag) {
      for (const c of controls) {
        if (flag) c.setAttribute("aria-invalid", "true");
        else c.removeAttribute("aria-invalid");
      }
    },
    get: () => (mode === "template" ? (tpl.value === "" ? undefined : numberOr(tpl.value, "string")) : literal.get()),
    set(v) {
      if (hasTemplate(v) || !literal.set(v)) {
        literal.set(undefined);
        tpl.value = typeof v === "string" ? v : JSON.stringify(v);
        setMode("template");
      } else {
        tpl.value = "";
        setMode("literal");
      }
    },
  };
}

// Required members first, then optional fields, then optional groups (folded).
const rank = (child) => (child.required ? 0 : child.folded ? 2 : 1);

function group(schema, path, name, required, ctx) {
  const props = schema.properties;
  const need = new Set(schema.required || []);
  const children = Object.entries(props).map(([k, s]) => [k, node(s, path ? `${path}.${k}` : k, k, need.has(k), ctx)]);
  const error = el("div", { class: "field-error" });
  const body = children.map(([, c]) => c).sort((x, y) => rank(x) - rank(y)).map((c) => c.el);
  const desc = schema.description ? el("div", { class: "desc muted" }, schema.description) : "";
  let extras = {};
  let box;
  if (!path) box = el("div", { "data-path": "" }, error, body);
  else if (required) {
    box = el("fieldset", { class: "group", "data-path": path },
      el("legend", {}, name, el("span", { class: "req", title: "required", "aria-hidden": "true" }, " *")),
      desc, error, body);
  } else {
    box = el("details", { class: "group", "data-path": path },
      el("summary", {}, el("span", { class: "name" }, name), " ", el("span", { class: "muted" }, "optional")),
      desc, error, body);
  }
  return {
    el: box, path, error,
    get() {
      const out = { ...extras };
      for (const [k, c] of children) {
        const v = c.get();
        if (v !== undefined) out[k] = v;
      }
      return Object.keys(out).length ? out : undefined;
    },
    set(v) {
      const value = isObject(v) ? v : {};
      extras = Object.fromEntries(Object.entries(value).filter(([k]) => !(k in props)));
      for (const [k, c] of children) c.set(value[k]);
      if (box.tagName === "DETAILS" && Object.keys(value).length) box.open = true; // show what it holds
    },
  };
}

function node(schema, path, name, required, ctx) {
  const isGroup = typeOf(schema) === "object" && schema.properties && Object.keys(schema.properties).length;
  const made = isGroup ? group(schema, path, name, required, ctx) : field(schema, path, name, required, ctx);
  made.required = required;
  made.folded = Boolean(isGroup) && !required;
  made.touched = false;
  // an edit anywhere inside marks the node (and, by bubbling, its groups) as touched
  made.el.addEventListener("input", () => { made.touched = true; });
  made.el.addEventListener("change", () => { made.touched = true; });
  if (required) ctx.anyRequired = true;
  ctx.nodes.set(path, made);
  return made;
}

// Opens the folded groups around a node, so that its problem can be seen.
function unfold(nodeEl) {
  for (let d = nodeEl.closest("details"); d; d = d.parentElement?.closest("details")) d.open = true;
}

const problemLine = (p) => `${p.where ? `${p.where}: ` : ""}${p.message}${p.hint ? `\nhint: ${p.hint}` : ""}`;

// The problems again under the Raw JSON box (seen when it is open), where the JSON is edited.
function listBesideJson(problems) {
  const box = document.getElementById("json-problems");
  if (!box) return;
  box.replaceChildren(...(problems.length
    ? [el("p", {}, `Problems with these inputs (${problems.length}):`),
      ...problems.map((p) => el("div", { class: "problem" }, problemLine(p)))]
    : []));
}

export function buildForm(formEl, schema, onChange) {
  const ctx = { picks: [], nodes: new Map(), changed: onChange, revealed: false, anyRequired: false };
  const root = group(schema, "", "", false, ctx);
  ctx.nodes.set("", root);
  const note = ctx.anyRequired
    ? el("p", { class: "muted form-note" }, "Fields marked ", el("span", { class: "req" }, "*"), " are required.")
    : "";
  formEl.replaceChildren(...[note, root.el].filter(Boolean));
  formEl.oninput = onChange;
  formEl.onchange = (event) => { if (!event.target.classList.contains("pick")) onChange(); };
  formEl.onsubmit = (event) => event.preventDefault();
  current = { revealAll: () => { ctx.revealed = true; } };
  listBesideJson([]);
  return {
    get: () => root.get() || {},
    set(value) {
      if (isObject(value) && Object.keys(value).length) ctx.revealed = true; // a step's or the raw JSON's values
      root.set(value);
    },
    refreshPicks(options) {
      for (const pick of ctx.picks) {
        pick.replaceChildren(el("option", { value: "" }, "{{ }}"),
          ...options.map((o) => el("option", { value: o }, o)));
      }
    },
    // Each problem beside its field (or the nearest group); the rest are returned. A missing
    // required value is left unsaid until its field was edited or a request was sent.
    showProblems(problems) {
      const before = new Map([...ctx.nodes.values()].map((n) => [n, n.error.textContent]));
      for (const n of ctx.nodes.values()) {
        n.error.textContent = "";
        n.el.classList.remove("invalid");
        n.invalid?.(false);
      }
      const rest = [];
      const shown = [];
      for (const p of problems) {
        let where = p.where || "";
        let target = null;
        while (where && !(target = ctx.nodes.get(where))) where = where.includes(".") ? where.slice(0, where.lastIndexOf(".")) : "";
        if (!target || !p.where) { rest.push(p); shown.push(p); continue; }
        if (p.message === "is required" && !ctx.revealed && !target.touched) continue;
        shown.push(p);
        target.el.classList.add("invalid");
        target.invalid?.(true);
        const text = `${p.where === target.path ? "" : `${p.where}: `}${p.message}${p.hint ? `\nhint: ${p.hint}` : ""}`;
        target.error.textContent = target.error.textContent ? `${target.error.textContent}\n${text}` : text;
      }
      for (const n of ctx.nodes.values()) if (n.error.textContent && !before.get(n)) unfold(n.el);
      listBesideJson(shown);
      return rest;
    },
  };
}
