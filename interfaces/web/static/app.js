// live-mem page: every call goes to /api/ with the token in the Authorization header;
// the token lives in sessionStorage only. Text from notes and files is put in the page
// with textContent; the one exception is bank HTML, which the server sanitises.
"use strict";

const KEY = "live-mem-token";
const state = { me: null, space: "", cursor: null, feed: null, tab: "timeline", seen: new Set() };
const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

class ApiError extends Error {
  constructor(kind, message, status) { super(message); this.kind = kind; this.status = status; }
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function when(iso) {
  return iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "";
}

function age(seconds) {
  if (seconds == null) return "";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

function say(text) { $("message").textContent = text || ""; }

async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(KEY) };
  const init = { method: options.method || "GET", headers };
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    signOut("This token is no longer valid (revoked, expired or unknown): sign in again.");
    throw new ApiError("AuthenticationFailed", "signed out", 401);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(data.error || "Error", data.message || response.statusText, response.status);
  return data;
}

async function guarded(action) {
  try { say(""); await action(); } catch (error) {
    if (error instanceof ApiError && error.status !== 401) say(`${error.kind}: ${error.message}`);
    else if (!(error instanceof ApiError)) say(String(error));
  }
}

// ---- sign-in -------------------------------------------------------------------------

async function signIn(token) {
  sessionStorage.setItem(KEY, token);
  try {
    state.me = await api("/api/whoami");
  } catch (error) {
    sessionStorage.removeItem(KEY);
    $("signin-error").textContent = error.status === 401 ? "This token was refused." : error.message;
    return;
  }
  $("signin").hidden = true;
  $("app").hidden = false;
  $("session").hidden = false;
  $("whoami").textContent = `${state.me.name} (${state.me.permission})`;
  $("admin-tab").hidden = !state.me.can_manage;
  for (const node of document.querySelectorAll(".admin-only")) node.hidden = !state.me.can_admin;
  await loadSpaces();
}

function signOut(reason) {
  sessionStorage.removeItem(KEY);
  stopFeed();
  state.me = null;
  $("app").hidden = true;
  $("session").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = reason || "";
  $("token").value = "";
}

async function loadSpaces() {
  const data = await api("/api/spaces");
  const picker = $("space-picker");
  const previous = state.space;
  picker.replaceChildren(...data.spaces.map((s) => el("option", { value: s.space_id, text: s.space_id })));
  const ids = data.spaces.map((s) => s.space_id);
  state.space = ids.includes(previous) ? previous : ids[0] || "";
  picker.value = state.space;
  if (state.me.can_manage) renderSpaceList(data.spaces);
  await showTab(state.tab);
}

// ---- tabs ----------------------------------------------------------------------------

async function showTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll(".tab")) button.classList.toggle("active", button.dataset.tab === tab);
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== tab;
  if (!state.space) {
    $("live-status").textContent = "no space yet";
    $("message").className = "muted";
    say(state.me.can_manage ? "No space yet: create one under Admin." : "No space yet: ask an admin for one.");
    return;
  }
  $("message").className = "error";
  if (tab === "timeline") await guarded(loadNotes);
  else stopFeed();
  if (tab === "items") await guarded(loadItems);
  if (tab === "bank") await guarded(loadBank);
  if (tab === "history") await guarded(loadHistory);
  if (tab === "admin") await guarded(loadAdmin);
}

// ---- timeline ------------------------------------------------------------------------

function noteItem(note) {
  return el("li", { class: "note cat-" + note.category, "data-note-id": note.note_id },
    el("div", { class: "meta" },
      el("time", { text: when(note.timestamp) }), " ",
      el("span", { class: "agent", text: note.agent }), " ",
      el("span", { class: "badge", text: note.category }),
      ...(note.tags || []).map((t) => el("span", { class: "tag", title: "tag", text: t }))),
    el("div", { class: "content", text: note.content }));
}

function matchesFilters(note) {
  const agent = $("filter-agent").value.trim();
  const category = $("filter-category").value;
  return (!agent || note.agent === agent) && (!category || note.category === category);
}

function notesQuery() {
  const q = new URLSearchParams({ limit: "50" });
  if ($("filter-agent").value.trim()) q.set("agent", $("filter-agent").value.trim());
  if ($("filter-category").value) q.set("category", $("filter-category").value);
  if (state.cursor) q.set("cursor", state.cursor);
  return q;
}

async function loadNotes(more = false) {
  if (!more) { state.cursor = null; state.seen = new Set(); $("notes").replaceChildren(); }
  const data = await api(`/api/spaces/${enc(state.space)}/notes?${notesQuery()}`);
  for (const note of data.notes) {
    if (state.seen.has(note.note_id)) continue;
    state.seen.add(note.note_id);
    $("notes").append(noteItem(note));
  }
  state.cursor = data.next_cursor;
  $("more-notes").hidden = !data.next_cursor;
  $("note-count").textContent = `${data.total} live notes`;
  $("notes-empty").hidden = data.total > 0;
  if (!more) { startFeed(state.space); await loadPresence(); }
}


function stopFeed() {
  if (state.feed) state.feed.abort();
  state.feed = null;
}

function startFeed(space) {
  stopFeed();
  const control = new AbortController();
  state.feed = control;
  follow(space, control).catch(() => {}).finally(() => {
    if (state.feed === control && !control.signal.aborted) {
      $("live-status").textContent = "reconnecting…";
      setTimeout(() => { if (state.feed === control) startFeed(space); }, 2000);
    }
  });
}

async function follow(space, control) {
  const response = await fetch(`/api/spaces/${enc(space)}/events`, {
    headers: { Authorization: "Bearer " + sessionStorage.getItem(KEY) }, signal: control.signal,
  });
  if (response.status === 401) { signOut("This token is no longer valid: sign in again."); return; }
  if (!response.ok) { $("live-status").textContent = "live updates unavailable"; return; }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = (buffer + value).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      onEvent(block, control);
    }
  }
}

// One Server-Sent Events block: "event:" and "data:" lines (WHATWG HTML, 9.2).
function onEvent(block, control) {
  let type = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return;
  const payload = JSON.parse(data.join("\n"));
  if (type === "ready") $("live-status").textContent = "● live";
  if (type === "signout") { control.abort(); signOut("This token is no longer valid: sign in again."); }
  if (type === "forbidden") { control.abort(); $("live-status").textContent = `○ stopped: ${payload.message}`; }
  if (type === "notes") {
    for (const note of payload.notes) {
      if (state.seen.has(note.note_id) || !matchesFilters(note)) continue;
      state.seen.add(note.note_id);
      const item = noteItem(note);
      item.classList.add("fresh");
      $("notes").prepend(item);
      $("notes-empty").hidden = true;
    }
    if (payload.consumed) $("live-status").textContent = `● live (${payload.consumed} notes just consolidated)`;
  }
}

// ---- bank ----------------------------------------------------------------------------

function budgetText(file) {
  return file.budget ? `${file.tokens} / ${file.budget} tokens` : `${file.tokens} tokens`;
}

async function loadBank() {
  const data = await api(`/api/spaces/${enc(state.space)}/bank`);
  const item = (file) => {
    const over = file.budget && file.tokens > file.budget;
    const bar = el("span", { class: "bar" + (over ? " over" : "") });
    if (file.budget) bar.style.width = Math.min(100, Math.round((100 * file.tokens) / file.budget)) + "%";
    return el("li", {},
      el("button", { type: "button", class: "file", "data-file": file.filename, onclick: () => guarded(() => openFile(file.filename)) },
        el("span", { text: file.filename }), el("small", { text: budgetText(file) }),
        el("span", { class: "gauge" }, bar)));
  };
  $("bank-files").replaceChildren(...data.files.filter((f) => !f.archived).map(item));
  $("archive-files").replaceChildren(...data.files.filter((f) => f.archived).map(item));
  $("bank-view").replaceChildren(el("p", { class: "muted", text: data.files.length ? "Pick a file." : "The bank is empty: nothing consolidated yet." }));
  const first = data.files.find((f) => !f.archived);
  if (first) await openFile(first.filename);
}

async function openFile(name) {
  const data = await api(`/api/spaces/${enc(state.space)}/bank/${name.split("/").map(enc).join("/")}`);
  for (const b of document.querySelectorAll("#bank button.file")) b.classList.toggle("active", b.dataset.file === name);
  const view = $("bank-view");
  view.replaceChildren(el("p", { class: "muted", text: `${data.filename} · ${data.size} bytes · ${budgetText(data)}` }));
  const body = el("div", { class: "rendered" });
  body.innerHTML = data.html; // sanitised by the server (markdown-it without raw HTML, then nh3)
  view.append(body);
}

// ---- history -------------------------------------------------------------------------

async function loadHistory() {
  const data = await api(`/api/spaces/${enc(state.space)}/history`);
  $("runs").replaceChildren(...data.runs.map((run) => el("li", {},
    el("button", { type: "button", class: "file", "data-run": run.run_id, onclick: () => guarded(() => openRun(run.run_id)) },
      el("span", { text: when(run.at) }),
      el("small", { text: `${run.mode} · ${run.notes_consumed} notes · ${run.files_changed.length} files` })))));
  $("run-view").replaceChildren(el("p", { class: "muted", text: data.runs.length ? "" : "No consolidation yet." }));
  if (data.runs.length) await openRun(data.runs[0].run_id);
}

function diffView(lines) {
  return el("pre", { class: "diff" }, ...lines.map((line) => {
    const kind = line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "same";
    return el("span", { class: kind, text: line + "\n" });
  }));
}

async function openRun(runId) {
  const run = await api(`/api/spaces/${enc(state.space)}/history/${enc(runId)}`);
  for (const b of document.querySelectorAll("#runs button")) b.classList.toggle("active", b.dataset.run === runId);
  const view = $("run-view");
  view.replaceChildren(
    el("h3", { text: `Run ${run.run_id}` }),
    el("p", { class: "muted", text: `${when(run.at)} · ${run.mode} · job ${run.job_id}` }),
    el("h4", { text: `Notes consumed (${run.notes.length})` }),
    el("ol", { class: "notes compact" }, ...run.notes.map((note) => noteItem(note))),
    el("h4", { text: `Files changed (${run.files.length})` }),
    ...run.files.map((file) => el("details", { class: "file-diff", open: "" },
      el("summary", { text: file.filename }), diffView(file.diff))));
}

// ---- search --------------------------------------------------------------------------

function snippet(text) {
  // The server marks matched terms with **...**; show them as <mark>, all else as text.
  return el("span", {}, ...text.split("**").map((part, i) => (i % 2 ? el("mark", { text: part }) : part)));
}

async function search() {
  const q = new URLSearchParams({ q: $("search-query").value, scope: $("search-scope").value });
  const data = await api(`/api/spaces/${enc(state.space)}/search?${q}`);
  $("search-results").replaceChildren(...(data.results.length ? data.results.map((hit) => el("li", { class: "hit" },
    el("div", { class: "meta" }, el("span", { class: "badge", text: hit.kind }), " ", el("code", { text: hit.ref }),
      " ", el("span", { class: "muted", text: [hit.agent, hit.category, when(hit.timestamp)].filter(Boolean).join(" · ") })),
    el("div", { class: "content" }, snippet(hit.snippet)))) : [el("li", { class: "muted", text: "Nothing found." })]));
  if (data.degraded) say("Semantic search is unavailable: these results are lexical only.");
}

// ---- admin ---------------------------------------------------------------------------

function renderSpaceList(spaces) {
  $("space-list").replaceChildren(...spaces.map((s) => {
    const confirmBox = el("span", { class: "confirm", hidden: "" },
      el("input", { placeholder: `type ${s.space_id} to confirm`, "data-confirm": s.space_id }),
      el("button", { type: "button", class: "danger", onclick: (event) => guarded(async () => {
        const typed = event.target.previousSibling.value;
        if (typed !== s.space_id) { say("Type the space id exactly to delete it."); return; }
        await api(`/api/spaces/${enc(s.space_id)}/delete`, { method: "POST", body: { confirm: true } });
        await loadSpaces();
      }) }, "Delete for good"));
    return el("li", {}, el("span", { text: `${s.space_id} — ${s.description || "no description"}` }),
      el("button", { type: "button", onclick: () => { confirmBox.hidden = false; } }, "Delete…"), confirmBox);
  }));
}

function row(...cells) { return el("tr", {}, ...cells.map((c) => (c instanceof Node ? el("td", {}, c) : el("td", { text: String(c ?? "") })))); }

async function loadAdmin() {
  const space = enc(state.space);
  const [jobs, backups] = await Promise.all([api(`/api/spaces/${space}/jobs`), api(`/api/spaces/${space}/backups`)]);
  $("jobs").tBodies[0].replaceChildren(...jobs.jobs.map((j) => row(j.job_id, j.state, j.requested_by, age(j.age_seconds), j.runner || "", j.error)));
  $("backup-list").replaceChildren(...backups.backups.map((b) => {
    const target = el("input", { placeholder: "restore into space id (new)" });
    return el("li", {}, el("span", { text: `${b.backup_id} · ${when(b.created_at)} · ${b.objects} objects` }), target,
      el("button", { type: "button", onclick: () => guarded(async () => {
        const [owner, id] = b.backup_id.split("/");
        const done = await api(`/api/spaces/${enc(owner)}/backups/${enc(id)}/restore`, { method: "POST", body: { target_space_id: target.value.trim() } });
        say(`Restored ${done.objects_restored} objects into ${done.space_id}.`);
        await loadSpaces();
      }) }, "Restore"));
  }));
  if (!state.me.can_admin) return;
  const [tokens, audit] = await Promise.all([api("/api/tokens"), api("/api/audit?limit=50")]);
  $("tokens").tBodies[0].replaceChildren(...tokens.tokens.map((t) => row(t.name, t.permission, t.space_ids.join(", "),
    t.revoked ? "revoked" : "active",
    t.revoked ? "" : el("button", { type: "button", class: "danger", onclick: () => guarded(async () => {
      await api(`/api/tokens/${enc(t.token_id)}/revoke`, { method: "POST", body: {} });
      await loadAdmin();
    }) }, "Revoke"))));
  $("audit").tBodies[0].replaceChildren(...audit.records.map((r) => row(when(r.at), r.agent, r.action, r.space_id, r.target, r.outcome)));
}

// ---- wiring --------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (event) => { event.preventDefault(); signIn($("token").value.trim()); });
  $("sign-out").addEventListener("click", () => signOut(""));
  $("space-picker").addEventListener("change", (event) => { state.space = event.target.value; showTab(state.tab); });
  for (const button of document.querySelectorAll(".tab")) button.addEventListener("click", () => showTab(button.dataset.tab));
  for (const link of document.querySelectorAll("[data-goto]")) link.addEventListener("click", () => showTab(link.dataset.goto));
  $("filter-agent").addEventListener("change", () => guarded(() => loadNotes()));
  $("filter-category").addEventListener("change", () => guarded(() => loadNotes()));
  $("more-notes").addEventListener("click", () => guarded(() => loadNotes(true)));
  $("items-state").addEventListener("change", () => guarded(loadItems));
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); guarded(search); });
  $("space-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const body = { space_id: $("new-space-id").value.trim(), description: $("new-space-description").value, rules: $("new-space-rules").value };
      await api("/api/spaces", { method: "POST", body });
      state.space = body.space_id;
      event.target.reset();
      await loadSpaces();
    });
  });
  $("consolidate").addEventListener("click", () => guarded(async () => {
    const job = await api(`/api/spaces/${enc(state.space)}/consolidate`, { method: "POST", body: {} });
    say(`Consolidation ${job.job_id} ${job.state}.`);
    setTimeout(() => guarded(loadAdmin), 1500);
  }));
  $("backup-create").addEventListener("click", () => guarded(async () => {
    await api(`/api/spaces/${enc(state.space)}/backups`, { method: "POST", body: {} });
    await loadAdmin();
  }));
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const body = { name: $("new-token-name").value.trim(), permission: $("new-token-permission").value, space_ids: $("new-token-spaces").value };
      const made = await api("/api/tokens", { method: "POST", body });
      const secret = $("new-token-secret");
      secret.hidden = false;
      secret.replaceChildren("New token for ", el("b", { text: made.name }), " (shown once, copy it now): ", el("code", { text: made.token }));
      event.target.reset();
      await loadAdmin();
    });
  });
  const saved = sessionStorage.getItem(KEY);
  if (saved) signIn(saved);
});
