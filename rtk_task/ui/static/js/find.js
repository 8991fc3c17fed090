// Find and Read: the search box over every task (id, summary, path, parameter names),
// results grouped by resource, and the Read panel for the task picked.
// Keyboard: Enter in the search box opens the top result, ArrowDown goes to the results;
// picking a task moves the focus to its form's first field.

import { el } from "./api.js";
import { focusFirstField } from "./form.js";

// Opens the task (onPick may answer a promise: the form is built once it settles), then
// focuses the form's first field.
async function pickAndFocus(onPick, taskId) {
  await onPick(taskId);
  const form = document.getElementById("form");
  if (form) focusFirstField(form);
}

export function renderResults(container, tasks, query, onPick) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const hits = tasks.filter((t) => {
    const text = [t.id, t.summary, t.path, ...t.params].join(" ").toLowerCase();
    return words.every((w) => text.includes(w));
  });
  container.replaceChildren();
  const search = document.getElementById("search");
  if (search) {
    search.onkeydown = (event) => {
      if (event.key === "Enter" && hits.length) {
        event.preventDefault();
        pickAndFocus(onPick, hits[0].id);
      } else if (event.key === "ArrowDown" && hits.length) {
        event.preventDefault();
        container.querySelector(".task-item")?.focus();
      }
    };
  }
  if (!hits.length) {
    container.append(el("p", { class: "muted" }, `No task matches “${query}”.`));
    return;
  }
  const groups = new Map();
  for (const t of hits) {
    if (!groups.has(t.resource)) groups.set(t.resource, []);
    groups.get(t.resource).push(t);
  }
  for (const [resource, items] of groups) {
    container.append(el("div", { class: "group-name" }, resource));
    for (const t of items) {
      container.append(
        el("button", { type: "button", class: "task-item", "data-task": t.id, onclick: () => pickAndFocus(onPick, t.id) },
          el("span", { class: `method ${t.method}` }, t.method), " ", t.id,
          el("small", {}, t.summary || t.path)),
      );
    }
  }
}

function range(p) {
  const parts = [];
  if (p.minimum !== null && p.minimum !== undefined) parts.push(`≥ ${p.minimum}`);
  if (p.maximum !== null && p.maximum !== undefined) parts.push(`≤ ${p.maximum}`);
  return parts.join(", ");
}

export function renderRead(container, task) {
  const rows = task.params.map((p) => el("tr", {},
    el("td", { class: "mono" }, p.path, p.required ? el("span", { class: "req", title: "required" }, " *") : ""),
    el("td", {}, p.in),
    el("td", {}, p.type, p.format ? ` (${p.format})` : ""),
    el("td", {},
      p.description,
      p.default !== null && p.default !== undefined ? el("div", { class: "muted" }, `default: ${JSON.stringify(p.default)}`) : "",
      p.enum ? el("div", { class: "muted" }, `one of: ${p.enum.map((v) => JSON.stringify(v)).join(", ")}`) : "",
      range(p) ? el("div", { class: "muted" }, `range: ${range(p)}`) : ""),
  ));
  container.replaceChildren(
    el("h2", {}, "Read"),
    el("div", { id: "task-title" }, el("span", { class: `method ${task.method}` }, task.method), " ",
      el("code", { id: "task-path" }, task.path)),
    el("p", {}, el("strong", {}, task.id), " — ", task.summary,
      task.idempotent ? "" : el("span", { class: "muted" }, " (not idempotent: never resent after an ambiguous failure)")),
    el("details", {}, el("summary", {}, `Parameters (${task.params.length})`),
      el("table", { class: "params" },
        el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "about")),
        rows)),
    task.outputs.length
      ? el("p", { class: "muted" }, "outputs: ", task.outputs.map((o) => o.name).join(", "))
      : "",
  );
}
