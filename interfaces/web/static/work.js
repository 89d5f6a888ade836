// live-mem page, the work: who is active (on the timeline) and the Items view. Shares
// app.js's helpers (api, el, when, age, state); text goes in with textContent only.
"use strict";

// Who is active: the agents of the last 30 minutes, with how much each holds.
async function loadPresence() {
  const data = await api(`/api/spaces/${enc(state.space)}/presence`);
  const node = $("presence");
  const active = data.agents.filter((a) => a.active);
  const shown = active.length ? active : data.agents.slice(0, 5);
  node.replaceChildren(el("span", { text: active.length ? "Active now: " : data.agents.length ? "Nobody active in the last 30 min; lately: " : "Nobody has written here yet." }));
  for (const a of shown) {
    const holds = a.items.length + a.resources.length;
    node.append(el("span", {
      class: "who" + (a.active ? " active" : ""),
      title: `last activity ${when(a.last_activity_at)}` + (holds ? `; holds ${[...a.items, ...a.resources].join(", ")}` : ""),
      text: a.agent + (holds ? ` · holds ${holds}` : ""),
    }));
  }
}

// ---- work items ----------------------------------------------------------------------

function itemEntry(item) {
  const status = item.claimed_by ? `claimed by ${item.claimed_by}` : item.state;
  const settled = item.settled_by ? [el("div", { class: "outcome", text: `${item.state} by ${item.settled_by}: ${item.outcome}` })] : [];
  return el("li", { class: "note cat-" + item.category, "data-item-id": item.item_id },
    el("div", { class: "meta" },
      el("time", { text: when(item.created_at) }), " ",
      el("span", { class: "agent", text: item.agent }), " ",
      el("span", { class: "badge", text: item.category }), " ",
      el("span", { class: "state state-" + item.state, text: status }), " ",
      el("span", { text: `${age(item.age_seconds)} old · ${item.item_id}` })),
    el("div", { class: "content", text: item.title }),
    ...settled);
}

async function loadItems() {
  const q = new URLSearchParams({ state: $("items-state").value, limit: "100" });
  const data = await api(`/api/spaces/${enc(state.space)}/items?${q}`);
  $("items-list").replaceChildren(...data.items.map(itemEntry));
  $("items-count").textContent = `${data.total} items` + (data.next_cursor ? " (newest 100 shown)" : "");
  $("items-empty").hidden = data.total > 0;
}
