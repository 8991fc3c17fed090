// The page's only way to the server: JSON over /api/, with the session's CSRF token.
// Every call resolves to {status, data}; network failures become a banner, never a blank page.

let csrf = "";

export function setCsrf(token) { csrf = token; }

export async function api(path, body) {
  const init = { headers: { "accept": "application/json" } };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["content-type"] = "application/json";
    init.headers["x-csrf-token"] = csrf;
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    showBanner(`The playground server did not answer (${err.message}). Is rtk-task ui running?`);
    return { status: 0, data: { error: { message: "no answer" } } };
  }
  let data;
  try {
    data = await response.json();
  } catch {
    data = { error: { kind: "bug", message: `HTTP ${response.status}: not JSON` } };
  }
  if (response.status >= 500 || response.status === 403) {
    showBanner(data.error ? data.error.message : `HTTP ${response.status}`);
  }
  return { status: response.status, data };
}

// A POST answered with server-sent events: onEvent(name, data) for each as it arrives.
// An answer that is not a stream (a refusal: problems, a live call to confirm) resolves to
// {status, data} as api() does; a stream resolves to {status: 200, data: null} when it ends.
export async function stream(path, body, onEvent) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "accept": "text/event-stream", "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body),
    });
  } catch (err) {
    showBanner(`The playground server did not answer (${err.message}). Is rtk-task ui running?`);
    return { status: 0, data: { error: { message: "no answer" } } };
  }
  if (!(response.headers.get("content-type") || "").startsWith("text/event-stream")) {
    let data;
    try { data = await response.json(); } catch { data = { error: { kind: "bug", message: `HTTP ${response.status}: not JSON` } }; }
    if (response.status >= 500 || response.status === 403) showBanner(data.error ? data.error.message : `HTTP ${response.status}`);
    return { status: response.status, data };
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    let end;
    while ((end = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      onEvent(name, JSON.parse(data.join("\n") || "null"));
    }
  }
  return { status: 200, data: null };
}

export function showBanner(text) {
  const banner = document.getElementById("banner");
  banner.textContent = text;
  banner.hidden = !text;
}

// A tiny element builder: el("div", {class: "x"}, child, "text", ...).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function errorText(error) {
  if (!error) return "";
  const lines = [error.message || "error"];
  for (const p of error.problems || []) if (p.hint) lines.push(`hint: ${p.hint}`);
  return lines.join("\n");
}
