// Fill: a form generated from the task's JSON Schema (rtk_task.inputs.input_schema).
// Nested objects are groups, enums selects, booleans toggles, arrays lists, defaults
// placeholders, required fields marked. Every field holds a literal or a template; its picker
// offers {{ inputs.X }}, {{ secrets.X }} and earlier steps' {{ steps.S.outputs.O }}.
// buildForm returns {get, set, showProblems, refreshPicks}; get() is the step's `with`.

import { el } from "./api.js";

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

function label(name, type, required, schema) {
  return el("label", { class: "name" }, name, " ",
    el("span", { class: "type" }, type + (schema.format ? ` (${schema.format})` : "")),
    required ? el("span", { class: "req", title: "required" }, " *") : "");
}

function placeholderOf(schema) {
  if (schema.default === undefined || schema.default === null) return "";
  return `default: ${JSON.stringify(schema.default)}`;
}

// -- literal widgets: each {el, get, set(v) -> bool (false: cannot show v)} -----------------

function enumWidget(schema) {
  const select = el("select", {},
    el("option", { value: "" }, placeholderOf(schema) || "— not set —"),
    schema.enum.map((v, i) => el("option", { value: `e${i}` }, String(v))));
  let extra;
  return {
    el: select,
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

function boolWidget(schema) {
  let state;
  const box = el("input", { type: "checkbox", class: "toggle", role: "switch" });
  const shown = el("span", { class: "toggle-state" });
  const clear = el("button", { type: "button", title: "unset" }, "×");
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
    get: () => state,
    set(v) {
      if (v !== undefined && typeof v !== "boolean") return false;
      state = v; paint(); return true;
    },
  };
}

function jsonWidget(schema) {
  const area = el("textarea", { rows: 3, spellcheck: "false", placeholder: placeholderOf(schema) || "JSON" });
  return {
    el: area,
    get() {
      if (!area.value.trim()) return undefined;
      try { return JSON.parse(area.value); } catch { return area.value; }
    },
    set(v) { area.value = v === undefined ? "" : JSON.stringify(v, null, 1); return true; },
  };
}

function listWidget(schema, itemType, changed) {
  const rows = el("div", { class: "list" });
  const add = (value = "") => {
    const input = el("input", { type: "text", value: String(value) });
    const row = el("div", { class: "list-row" }, input,
      el("button", { type: "button", title: "remove", onclick: () => { row.remove(); changed(); } }, "−"));
    rows.append(row);
    return input;
  };
  const plus = el("button", { type: "button", onclick: () => { add().focus(); changed(); } }, "+ add item");
  return {
    el: el("div", {}, rows, plus),
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

function textWidget(schema, type) {
  const input = el("input", { type: "text", placeholder: placeholderOf(schema),
    inputmode: type === "string" ? undefined : "decimal" });
  return {
    el: input,
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
  let literal;
  if (schema.enum) literal = enumWidget(schema);
  else if (type === "boolean") literal = boolWidget(schema);
  else if (type === "array" && schema.items && ["string", "number", "integer", "boolean"].includes(typeOf(schema.items)))
    literal = listWidget(schema, typeOf(schema.items), ctx.changed);
  else if (type === "array" || type === "object") literal = jsonWidget(schema);
  else literal = textWidget(schema, type);

  const tpl = el("input", { type: "text", class: "tpl", "aria-label": `${path} template` });
  const back = el("button", { type: "button", title: "back to a literal value" }, "×");
  const tplBox = el("span", { class: "widget", hidden: true }, tpl, back);
  const pick = el("select", { class: "pick", title: "insert a template", "aria-label": `${path} picker` });
  const error = el("div", { class: "field-error" });
  const litBox = el("span", { class: "widget" }, literal.el);
  const wrap = el("div", { class: "field", "data-path": path },
    label(name, type, required, schema),
    el("div", { class: "widget" }, litBox, tplBox, pick),
    schema.description ? el("div", { class: "desc" }, schema.description) : "",
    error);
  let mode = "literal";
  const setMode = (m) => {
    mode = m;
    wrap.classList.toggle("template", m === "template");
    litBox.hidden = m === "template";
    tplBox.hidden = m !== "template";
  };
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

function group(schema, path, name, required, ctx) {
  const props = schema.properties;
  const need = new Set(schema.required || []);
  const children = Object.entries(props).map(([k, s]) => [k, node(s, path ? `${path}.${k}` : k, k, need.has(k), ctx)]);
  const error = el("div", { class: "field-error" });
  const body = children.map(([, c]) => c.el);
  let extras = {};
  const box = path
    ? el("fieldset", { class: "group", "data-path": path },
      el("legend", {}, name, required ? el("span", { class: "req" }, " *") : ""),
      schema.description ? el("div", { class: "desc muted" }, schema.description) : "", error, body)
    : el("div", { "data-path": "" }, error, body);
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
    },
  };
}

function node(schema, path, name, required, ctx) {
  const made = typeOf(schema) === "object" && schema.properties && Object.keys(schema.properties).length
    ? group(schema, path, name, required, ctx)
    : field(schema, path, name, required, ctx);
  ctx.nodes.set(path, made);
  return made;
}

export function buildForm(formEl, schema, onChange) {
  const ctx = { picks: [], nodes: new Map(), changed: onChange };
  const root = group(schema, "", "", false, ctx);
  ctx.nodes.set("", root);
  formEl.replaceChildren(root.el);
  formEl.oninput = onChange;
  formEl.onchange = (event) => { if (!event.target.classList.contains("pick")) onChange(); };
  formEl.onsubmit = (event) => event.preventDefault();
  return {
    get: () => root.get() || {},
    set: (value) => root.set(value),
    refreshPicks(options) {
      for (const pick of ctx.picks) {
        pick.replaceChildren(el("option", { value: "" }, "{{ }}"),
          ...options.map((o) => el("option", { value: o }, o)));
      }
    },
    // Each problem beside its field (or the nearest group); the rest are returned.
    showProblems(problems) {
      for (const n of ctx.nodes.values()) {
        n.error.textContent = "";
        n.el.classList.remove("invalid");
      }
      const rest = [];
      for (const p of problems) {
        let where = p.where || "";
        let target = null;
        while (where && !(target = ctx.nodes.get(where))) where = where.includes(".") ? where.slice(0, where.lastIndexOf(".")) : "";
        if (!target || !p.where) { rest.push(p); continue; }
        target.el.classList.add("invalid");
        const text = `${p.where === target.path ? "" : `${p.where}: `}${p.message}${p.hint ? `\nhint: ${p.hint}` : ""}`;
        target.error.textContent = target.error.textContent ? `${target.error.textContent}\n${text}` : text;
      }
      return rest;
    },
  };
}
