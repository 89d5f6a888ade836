"""MCP tools of the system, space and live-note families."""

from __future__ import annotations

from typing import Any, Final

from application.services.auth import BOOTSTRAP_AGENT
from application.services.search import LIMIT_MAX as SEARCH_LIMIT_MAX
from domain import AlreadyExists, InvalidInput, Permission, SpaceRules
from domain.work import ITEM_CATEGORIES
from interfaces.edge.shapes import bank_file_dict, comma_list, embeddings_dict, hit_dict, meta_dict, note_dict
from interfaces.mcp.context import Call, Tool, tool

__all__ = ["CORE_TOOLS"]


@tool(Permission.READ)
async def system_health(call: Call) -> dict[str, Any]:
    """Health of live-mem, its object store (S3: HEAD bucket) and, when consolidation
    uses a model, the model endpoint. Needs any valid token. status: "healthy",
    "degraded" (the model endpoint does not answer) or "error" (the store does not);
    also the store's state and the consolidation mode."""
    s = call.services
    health = await s.system.health(probe_llm=True)
    llm_ok = health.llm.endswith((": ok", "(no model)"))
    return {
        "status": "error" if not health.ok else "healthy" if llm_ok else "degraded",
        "version": s.system.version,
        "store": {
            "status": health.store,
            "kind": health.store_kind,
            "conditional_writes": health.conditional_writes,
        },
        "llm": health.llm,
        "embeddings": embeddings_dict(s.search.progress_all()),
    }


@tool(Permission.READ)
async def system_about(call: Call) -> dict[str, Any]:
    """What live-mem is, its version and its tools with one line each."""
    tools = call.context.tools  # every tool, not only those offered to the caller
    return {
        "status": "ok",
        "name": "live-mem",
        "version": call.services.system.version,
        "description": "Shared working memory for AI agents: notes consolidated into a memory bank.",
        "tools_count": len(tools),
        "tools": [{"name": t.name, "description": t.summary} for t in tools],
    }


@tool(Permission.READ)
async def system_whoami(call: Call) -> dict[str, Any]:
    """Your identity: the token's name (your agent name, also client_name), its
    permission (permissions: that one and every one below it), its spaces (space_ids
    and allowed_spaces; "*" for all) and auth_type ("token", or "bootstrap" for the
    bootstrap key)."""
    me = call.me
    return {
        "status": "ok",
        "name": me.name.value,
        "client_name": me.name.value,
        "permission": me.permission.label,
        "permissions": [p.label for p in Permission if p <= me.permission],
        "auth_type": "bootstrap" if me.name == BOOTSTRAP_AGENT else "token",
        "space_ids": list(me.spaces),
        "allowed_spaces": list(me.spaces),
    }


@tool(Permission.MANAGE, audited=True)
async def space_create(
    call: Call, space_id: str, description: str = "", rules: str = "", owner: str = ""
) -> dict[str, Any]:
    """Create a space (needs manage). space_id: 1-64 lowercase letters, digits, '-'.
    rules: Markdown naming the bank files with headings like '## progress.md' and a
    paragraph on each file's role; empty rules, or rules naming no file, get the
    default files (default_files_added lists them). A token limited to some spaces
    gains the space it creates. An existing id answers status already_exists.
    Errors: InvalidInput, PermissionDenied."""
    me, s = call.me, call.services
    try:
        meta = await s.spaces.create(me, space_id, description, rules)
    except AlreadyExists as exc:
        return {"status": "already_exists", "space_id": space_id, "message": str(exc)}
    if owner:
        meta = await s.spaces.update(me, space_id, owner=owner)
    added = [n.value for n in SpaceRules.given(rules)[1]]
    return {
        "status": "created",
        **meta_dict(meta),
        "rules_size": len(rules.encode()),
        "default_files_added": added,
    }


@tool(Permission.READ)
async def space_list(call: Call) -> dict[str, Any]:
    """The spaces your token may use, with description, owner, live note count
    (notes_count) and bank file count (bank_files) (needs read); unreadable lists the
    ids of spaces whose metadata is corrupt."""
    me, s = call.me, call.services
    metas, unreadable = await s.spaces.listing(me)
    counts = await s.spaces.counts(me, [m.space_id.value for m in metas])
    spaces = [{**meta_dict(m), **counts[m.space_id.value]} for m in metas]
    return {"status": "ok", "spaces": spaces, "total": len(spaces), "unreadable": unreadable}


@tool(Permission.READ)
async def space_info(call: Call, space_id: str) -> dict[str, Any]:
    """A space's metadata, live note counts by category and agent, and bank files."""
    me, s = call.me, call.services
    o = await s.spaces.overview(me, space_id)
    return {
        "status": "ok",
        **meta_dict(o.meta),
        "live": {
            "notes_count": o.notes,
            "by_category": o.notes_by_category,
            "by_agent": o.notes_by_agent,
        },
        "bank": {
            "files_count": len(o.bank_files),
            "total_size": sum(f.size for f in o.bank_files),
            "files": [f.name.value for f in o.bank_files],
        },
        "synthesis_exists": bool(o.synthesis),
        "embeddings": embeddings_dict(s.search.progress(me, space_id)),
    }


@tool(Permission.READ)
async def space_rules(call: Call, space_id: str) -> dict[str, Any]:
    """The space's rules (Markdown) and the bank files they declare."""
    me, s = call.me, call.services
    rules = await s.spaces.rules(me, space_id)
    return {
        "status": "ok",
        "space_id": space_id,
        "rules": rules.text,
        "files": [n.value for n in rules.file_names()],
    }


@tool(Permission.READ)
async def space_summary(call: Call, space_id: str) -> dict[str, Any]:
    """Everything an agent needs at the start of a task, in one call: metadata, rules,
    the last synthesis, the hot bank's files with their content (within the bank's
    token budget; the archive is left out, read it with bank_read) and live note counts."""
    me, s = call.me, call.services
    o = await s.spaces.overview(me, space_id)
    rules = await s.spaces.rules(me, space_id)
    hot = await s.bank.read_all(me, space_id)
    return {
        "status": "ok",
        **meta_dict(o.meta),
        "rules": rules.text,
        "synthesis": o.synthesis,
        "bank_files": [{"filename": f.name.value, "size": f.size} for f in o.bank_files],
        "bank": [bank_file_dict(f) for f in hot],
        "live": {"notes_count": o.notes, "by_category": o.notes_by_category},
    }


@tool(Permission.MANAGE, audited=True)
async def space_update(
    call: Call, space_id: str, description: str | None = None, owner: str | None = None
) -> dict[str, Any]:
    """Change a space's description and/or owner (needs manage); an empty or missing
    value leaves that field unchanged. Rules change with space_update_rules."""
    me, s = call.me, call.services
    meta = await s.spaces.update(me, space_id, description or None, owner or None)
    return {"status": "ok", **meta_dict(meta)}


@tool(Permission.MANAGE, audited=True)
async def space_update_rules(call: Call, space_id: str, rules: str) -> dict[str, Any]:
    """Replace the space's rules (needs manage), validated as at space_create; the
    previous rules are kept in the space's rules history. The next consolidation
    follows the new rules; bank files they no longer declare stay (bank_repair lists
    them). Errors: InvalidInput (invalid rules), NotFound, PermissionDenied."""
    me, s = call.me, call.services
    previous, new = await s.spaces.update_rules(me, space_id, rules)
    return {
        "status": "ok",
        "space_id": space_id,
        "files": [n.value for n in new.file_names()],
        "previous_files": [n.value for n in previous.file_names()],
        "rules_size": len(new.text.encode()),
    }


@tool(Permission.MANAGE, audited=True)
async def space_delete(call: Call, space_id: str, confirm: bool = False) -> dict[str, Any]:
    """Delete a space with all its notes and bank (needs manage; cannot be undone;
    backups are kept). Pass confirm=true."""
    me, s = call.me, call.services
    removed = await s.spaces.delete(me, space_id, confirm)
    return {
        "status": "deleted",
        "space_id": space_id,
        "objects_deleted": removed,
        "files_deleted": removed,
    }


@tool(Permission.READ, audited=True)
async def space_export(call: Call, space_id: str) -> dict[str, Any]:
    """The whole space as a tar.gz archive (needs read; at most 50 MiB of objects):
    over HTTP a download_url to GET once before expires_at (no token needed: the
    link is the secret), over stdio the archive in archive_base64. Errors:
    NotFound, LimitExceeded, RateLimited (too many archives being built or waiting)."""
    me, s = call.me, call.services
    return await call.deliver(await s.spaces.export(me, space_id))


@tool(Permission.WRITE)
async def live_note(
    call: Call, space_id: str, category: str, content: str, agent: str = "", tags: str | list[str] = ""
) -> dict[str, Any]:
    """Append a note to the space's live log (needs write). Call it whenever you learn
    something worth keeping. category: observation | decision | todo | insight |
    question | progress | issue. content: 1 to 100,000 characters of text. tags: up to 16,
    comma-separated. The note is written as your token's name; agent, if given, must
    be that name. Notes are never edited; consolidation carries them into the bank.
    A todo, issue or question is a work item (work_items); "resolves:ID" or
    "answers:ID" in content or tags settles item ID."""
    me, s = call.me, call.services
    if agent and agent != me.name.value:
        raise InvalidInput(f"agent must be empty or your token's name ({me.name.value})")
    posted = await s.notes.post(me, space_id, category, content, comma_list(tags))
    note = posted.note
    return {
        "status": "created",
        "space_id": space_id,
        **note_dict(note),
        "filename": note.file_name,
        "size": len(content.encode()),
        "work_item": note.category in ITEM_CATEGORIES,
        "settled_items": posted.effects.settled,
        "not_settled": posted.effects.not_settled,
    }


@tool(Permission.READ)
async def live_read(
    call: Call,
    space_id: str,
    limit: int = 50,
    category: str = "",
    agent: str = "",
    since: str = "",
    cursor: str = "",
) -> dict[str, Any]:
    """Live notes newest first (needs read). Filters: category, agent, since (ISO 8601,
    inclusive; UTC when it has no zone). limit: 1-200. total counts every matching
    note; has_more says whether next_cursor gives another page."""
    me, s = call.me, call.services
    page = await s.notes.read(
        me,
        space_id,
        category=category or None,
        agent=agent or None,
        since=since or None,
        limit=limit,
        cursor=cursor or None,
    )
    return {
        "status": "ok",
        "space_id": space_id,
        "notes": [note_dict(n) for n in page.notes],
        "count": len(page.notes),
        "total": page.total_matching,
        "has_more": page.next_cursor is not None,
        "next_cursor": page.next_cursor,
    }


@tool(Permission.READ)
async def live_search(call: Call, space_id: str, query: str, limit: int = 20) -> dict[str, Any]:
    """Live notes (not yet consolidated) ranked by relevance to query (BM25: any of
    its words, rarer and more of them rank higher), best first (needs read). To search
    the bank and the archive too, use memory_search."""
    me, s = call.me, call.services
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= SEARCH_LIMIT_MAX:
        raise InvalidInput(f"limit must be between 1 and {SEARCH_LIMIT_MAX}")
    found = await s.search.search(me, space_id, query, scope="live", limit=SEARCH_LIMIT_MAX)
    notes = [
        {
            "note_id": h.doc.ref,
            "agent": h.doc.agent,
            "category": h.doc.category,
            "content": h.doc.text,
            "timestamp": h.doc.timestamp.isoformat() if h.doc.timestamp else None,
            "score": h.score,
        }
        for h in found.hits[:limit]
    ]
    return {
        "status": "ok",
        "space_id": space_id,
        "query": query,
        "notes": notes,
        "count": len(notes),
        "total": len(found.hits),
        "has_more": len(found.hits) > limit,
    }


@tool(Permission.READ)
async def memory_search(
    call: Call,
    space_id: str,
    query: str,
    scope: str = "all",
    limit: int = 10,
    category: str = "",
    agent: str = "",
    since: str = "",
) -> dict[str, Any]:
    """Ranked search over the space's whole memory (needs read): live notes, bank
    sections and archive entries (every consolidated note in full). scope: all, live,
    bank or archive. Filters: category, agent, since (ISO 8601; UTC without a zone).
    Each result: kind (note, bank, archive), ref (note id, or file#heading; read it
    with bank_read), score (higher is better), snippet (**matched** terms), timestamp,
    agent, category. partial: true while the space's index is still being built (the
    results come from what is indexed; ask again shortly)."""
    me, s = call.me, call.services
    found = await s.search.search(
        me, space_id, query, scope=scope, limit=limit, category=category, agent=agent, since=since
    )
    results = [hit_dict(h) for h in found.hits]
    return {
        "status": "ok",
        "space_id": space_id,
        "query": query,
        "scope": scope,
        "results": results,
        "count": len(results),
        "degraded": found.degraded,
        "partial": found.partial,
    }


CORE_TOOLS: Final[tuple[Tool, ...]] = (
    system_health,
    system_about,
    system_whoami,
    space_create,
    space_list,
    space_info,
    space_rules,
    space_summary,
    space_update,
    space_update_rules,
    space_delete,
    space_export,
    live_note,
    live_read,
    live_search,
    memory_search,
)
