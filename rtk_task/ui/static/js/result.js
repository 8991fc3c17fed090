// Preview and Test request: the request that would be sent, and the API's answer
// (status, time, attempts, headers, body as a folded tree and raw, outputs, errors).
// A new result is brought into view, focused (the panel has tabindex=-1 and a heading) and
// announced in the page's polite live region (#announce).

import { el } from "./api.js";

const heading = () => el("h2", { id: "result-heading" }, "Response");

// Says `text` in the live region: a new paragraph each time, so that a repeat is said again.
export function announce(text) {
  const region = document.getElementById("announce");
  if (region) region.replaceChildren(el("p", {}, text));
}

function reveal(container, text) {
  container.hidden = false;
  container.scrollIntoView({ block: "nearest" });
  container.focus({ preventScroll: true });
  announce(text);
}

export function requestText(request) {
  if (!request) return "";
  const lines = [`${request.method} ${request.url}`];
  for (const [k, v] of Object.entries(request.headers || {})) lines.push(`${k}: ${v}`);
  if (request.body !== null && request.body !== undefined) lines.push("", JSON.stringify(request.body, null, 2));
  return lines.join("\n");
}

export function tree(value, key) {
  const name = key === undefined ? "" : el("span", { class: "key" }, `${key}: `);
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    const size = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    return el("details", { open: key === undefined || entries.length <= 12 ? true : undefined },
      el("summary", {}, name, size),
      entries.map(([k, v]) => tree(v, k)));
  }
  const cls = typeof value === "string" ? "str" : "num";
  return el("div", { class: "leaf" }, name, el("span", { class: cls }, JSON.stringify(value)));
}

function kv(pairs) {
  return el("div", { class: "kv" }, pairs.flatMap(([k, v]) => [el("span", { class: "k" }, k), el("span", {}, v)]));
}

const AMBIGUOUS = "The request may or may not have been processed: the connection broke or the " +
  "server failed after it got the request. It was not resent, so that nothing is created " +
  "twice. Check (for example list the resource) before trying again.";

export function errorBox(error) {
  return el("div", { class: "error-box", id: "result-error" },
    el("strong", {}, error.kind), ": ", error.message,
    error.field_path ? el("div", {}, `at ${error.field_path}`) : "",
    error.hint ? el("div", {}, `hint: ${error.hint}`) : "",
    error.kind === "ambiguous" ? el("p", { class: "ambiguous" }, AMBIGUOUS) : "");
}

export function renderResult(container, data) {
  const r = data.result;
  const status = r.status_code ?? "not sent";
  const outputs = Object.entries(r.outputs || {});
  container.replaceChildren(
    heading(),
    el("div", { class: "row" },
      el("span", { id: "result-status", class: `status ${r.ok ? "ok" : "bad"}` }, String(status)),
      el("span", { id: "result-time" }, `${Math.round(r.elapsed_ms)} ms`),
      el("span", { id: "result-attempts" }, `${r.attempts} attempt${r.attempts === 1 ? "" : "s"}`)),
    r.error ? errorBox(r.error) : "",
    (r.expectations || []).length
      ? el("div", {}, el("h3", {}, "Expect"),
        el("ul", { id: "result-expect", class: "expect" },
          r.expectations.map((x) => el("li", { class: x.ok ? "pass" : "fail" },
            `${x.ok ? "pass" : "FAIL"} ${x.expect}${x.ok ? "" : `: ${x.why || `got ${JSON.stringify(x.actual)}`}`}`))))
      : "",
    outputs.length
      ? el("div", {}, el("h3", {}, "Outputs"),
        el("div", { id: "result-outputs", class: "kv" },
          outputs.flatMap(([k, v]) => [el("span", { class: "k" }, k), el("code", { "data-output": k }, JSON.stringify(v))])))
      : "",
    el("details", {}, el("summary", {}, `Response headers (${Object.keys(r.headers || {}).length})`),
      kv(Object.entries(r.headers || {}))),
    el("h3", {}, "Body"),
    el("div", { class: "tree", id: "result-tree" }, tree(r.body)),
    el("details", {}, el("summary", {}, "Raw"), el("pre", { id: "result-raw" }, JSON.stringify(r.body, null, 2))),
    data.record ? el("p", { class: "muted" }, `recorded in ${data.record}`) : "",
  );
  const how = r.ok ? "ok" : r.error ? `failed: ${r.error.kind}` : "failed";
  reveal(container, `Response: ${status} (${how}), ${Math.round(r.elapsed_ms)} ms`);
}

export function renderNotSent(container, problems) {
  container.replaceChildren(
    heading(),
    el("p", { id: "result-status", class: "status bad" }, "not sent"),
    el("p", {}, "Nothing was sent: fix the problems shown beside the fields."),
    ...problems.map((p) => el("div", { class: "error-box" }, `${p.where ? `${p.where}: ` : ""}${p.message}`)));
  reveal(container, `Not sent: ${problems.length} problem${problems.length === 1 ? "" : "s"} to fix`);
}

// The LIVE confirmation was cancelled: nothing was sent.
export function renderCancelled(container) {
  container.replaceChildren(
    heading(),
    el("p", { id: "result-status", class: "status" }, "not sent"),
    el("p", { class: "muted" }, "Cancelled: nothing was sent to the live API."));
  reveal(container, "Not sent: cancelled");
}

// Says where the earlier steps' outputs came from: their records, or a run just now.
export function usedNote(node, used, ranFirst) {
  const lines = Object.entries(used || {}).map(([sid, file]) =>
    `Using the outputs of ${sid} recorded in ${file.split("/").pop()}`);
  for (const [sid, r] of Object.entries(ranFirst || {})) {
    lines.push(`Ran ${sid} first: ${r.skipped ? "skipped" : r.ok ? `ok ${r.status_code}` : `failed ${r.status_code ?? ""}`}`);
  }
  node.hidden = !lines.length;
  node.textContent = lines.join("\n");
}
