"""What every edge answers (MCP tools, the CLI's ``--json``, the web API): JSON-ready
dicts of domain objects, one shape each, and the parsing of the loose parameter forms the
public live-memory contract accepts."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import attrs

from application.consolidation import ConsolidationReport, JobRecord
from application.consolidation.jobs import RunDetail
from application.consolidation.supervision import Backlog, GcReport, Lanes, LeaseView, StaleSpaces
from application.ports import BackupInfo, BankFileInfo
from application.search_ports import SearchHit
from application.services.bankedit import BankEdit, BankRepair
from application.services.downloads import Download
from application.services.embedding import EmbeddingProgress
from application.work.listing import ItemView
from application.work.presence import AgentActivity
from domain import BankFile, InvalidInput, Note, Permission, SpaceMeta, TokenRecord
from domain.consolidation import ConsumedNote, Journal
from domain.work import Claim, WorkItem

__all__ = [
    "activity_dict",
    "archive",
    "claim_dict",
    "item_dict",
    "settled_dict",
    "backup_dict",
    "comma_list",
    "highest_permission",
    "hit_dict",
    "job_dict",
    "meta_dict",
    "note_dict",
    "split_backup_id",
    "token_dict",
]


def meta_dict(meta: SpaceMeta) -> dict[str, Any]:
    """A space's metadata."""
    return {
        "space_id": meta.space_id.value,
        "description": meta.description,
        "owner": meta.owner.value,
        "created_at": meta.created_at.isoformat(),
        "consolidations": meta.consolidations,
        "last_consolidation": meta.last_consolidation_at.isoformat() if meta.last_consolidation_at else None,
        "generation": meta.generation,
    }


def bank_file_dict(file: BankFile) -> dict[str, Any]:
    """A bank file with its content; ``size`` in bytes."""
    return {"filename": file.name.value, "content": file.content, "size": file.size}


def bank_info_dict(info: BankFileInfo) -> dict[str, Any]:
    """A bank file without its content; ``archived`` for the archive's files."""
    return {"filename": info.name.value, "size": info.size, "archived": info.archived}


def note_dict(note: Note) -> dict[str, Any]:
    """A note."""
    return {
        "note_id": note.note_id,
        "agent": note.agent.value,
        "category": note.category.value,
        "content": note.content,
        "tags": list(note.tags),
        "timestamp": note.created_at.isoformat(),
    }


def hit_dict(hit: SearchHit) -> dict[str, Any]:
    """A search result: kind, ref, score, snippet, timestamp, agent, category."""
    return {
        "kind": hit.doc.kind.value,
        "ref": hit.doc.ref,
        "score": hit.score,
        "snippet": hit.snippet,
        "timestamp": hit.doc.timestamp.isoformat() if hit.doc.timestamp else None,
        "agent": hit.doc.agent,
        "category": hit.doc.category,
    }


def token_dict(record: TokenRecord) -> dict[str, Any]:
    """A token's metadata (never its secret)."""
    return {
        "token_id": record.token_id,
        "token_hash": record.token_hash,
        "hash": record.token_hash[:16],
        "name": record.name.value,
        "permission": record.permission.label,
        "permissions": [p.label for p in Permission if p <= record.permission],
        "space_ids": list(record.spaces),
        "created_at": record.created_at.isoformat(),
        "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        "revoked": record.revoked,
    }


def backup_dict(info: BackupInfo) -> dict[str, Any]:
    """A backup's description; ``generation`` is the incarnation of the space it copied."""
    return {
        "backup_id": f"{info.space_id}/{info.backup_id}",
        "space_id": info.space_id.value,
        "created_at": info.created_at.isoformat(),
        "objects": info.objects,
        "size": info.size,
        "generation": info.generation,
    }


def report_dict(report: ConsolidationReport) -> dict[str, Any]:
    """What a consolidation run did (a job's ``report``, ``bank_compact``'s answer)."""
    return {
        **attrs.asdict(report),
        "files_changed": list(report.files_changed),
        "run_ids": list(report.run_ids),
        "archive_files": list(report.archive_files),
        "notes_unreadable": list(report.notes_unreadable),
    }


def consumed_dict(note: ConsumedNote) -> dict[str, Any]:
    """A note a consolidation batch consumed, and what became of it (without its text)."""
    return {
        "note_id": note.note_id,
        "agent": note.agent.value,
        "category": note.category.value,
        "timestamp": note.created_at.isoformat(),
        "outcome": note.outcome,
        "detail": note.detail,
    }


def _run_head(run: Journal) -> dict[str, Any]:
    """What identifies a committed batch: its run and job, when, in which mode."""
    return {"run_id": run.run_id, "job_id": run.job_id, "at": run.started_at.isoformat(), "mode": run.mode}


def run_dict(run: Journal) -> dict[str, Any]:
    """A committed consolidation batch, as ``bank_history`` lists it."""
    return {
        **_run_head(run),
        "notes_consumed": len(run.consumed),
        "notes": [consumed_dict(c) for c in run.consumed],
        "files_changed": sorted(run.files),
        "tokens_in": run.tokens_in,
        "tokens_out": run.tokens_out,
        "duration_s": run.duration_s,
    }


def run_detail_dict(detail: RunDetail) -> dict[str, Any]:
    """A committed batch with its provenance: the notes with their text, each changed
    file before and after with the diff, the synthesis."""
    run = detail.run
    return {
        **_run_head(run),
        "notes": [{**consumed_dict(c), "content": c.content} for c in run.consumed],
        "files": [{**attrs.asdict(f), "diff": list(f.diff)} for f in detail.files],
        "synthesis": run.synthesis,
    }


def job_dict(job: JobRecord) -> dict[str, Any]:
    """A consolidation job."""
    return {
        "job_id": job.job_id,
        "space_id": job.space_id.value,
        "state": job.state.value,
        "requested_by": job.requested_by,
        "agent": job.agent_scope,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "attempts": job.attempts,
        "runner": job.runner,
        "age_seconds": round((datetime.now(UTC) - job.created_at).total_seconds(), 1),
        "error": job.error,
        "report": report_dict(job.report) if job.report is not None else None,
    }


def edit_dict(edit: BankEdit) -> dict[str, Any]:
    """A hand edit of the bank (``bank_write``, ``bank_delete``): its run id, the file
    and, for a write, its size."""
    return attrs.asdict(edit, filter=lambda _, value: value is not None)


def repair_dict(repair: BankRepair) -> dict[str, Any]:
    """What ``bank_repair`` found and fixed (``run_id`` only when it wrote)."""
    answer: dict[str, Any] = {
        "dry_run": repair.dry_run,
        "repairs": [
            {"filename": r.filename, "merged_sections": list(r.merged_sections)} for r in repair.repairs
        ],
        "undeclared": list(repair.undeclared),
    }
    if repair.run_id is not None:
        answer["run_id"] = repair.run_id
    return answer


def lease_dict(lease: LeaseView) -> dict[str, Any]:
    """A space's consolidation lease (``admin_break_lease``)."""
    return {
        **attrs.asdict(lease),
        "expires_at": lease.expires_at.isoformat() if lease.expires_at else None,
        "unfinished_journals": list(lease.unfinished_journals),
    }


def lanes_dict(found: Lanes) -> dict[str, Any]:
    """The consolidation lanes with their totals (``bank_consolidation_queues``)."""
    lanes = [
        {**attrs.asdict(lane, recurse=False), "latest_jobs": [job_dict(j) for j in lane.latest_jobs]}
        for lane in found.lanes
    ]
    return {
        "lanes": lanes,
        "total_spaces": len(lanes),
        "active_spaces": found.count("queued", "running"),
        "running_spaces": found.count("running"),
        "queued_jobs": sum(lane.queued_count for lane in found.lanes),
        "failed_recent": found.count("failed"),
        "parallelism_model": "one job per space at a time; spaces in parallel",
        "denied_spaces": list(found.denied_spaces),
    }


def _backlog_dict(space: Backlog) -> dict[str, Any]:
    return {
        "space_id": space.space_id,
        "live_notes_count": space.live_notes_count,
        "oldest_note_age_days": space.oldest_note_age_days,
        "oldest_note_timestamp": space.oldest_note_at.isoformat() if space.oldest_note_at else None,
        "is_stale": space.is_stale,
    }


def stale_dict(found: StaleSpaces) -> dict[str, Any]:
    """Spaces whose consolidation fell behind (``bank_stale_spaces``)."""
    return {
        "spaces": [_backlog_dict(s) for s in found.spaces],
        "scanned": [_backlog_dict(s) for s in found.scanned],
        "total_spaces": len(found.scanned),
        "total_stale": len(found.spaces),
        "min_notes": found.min_notes,
        "min_age_days": found.min_age_days,
        "denied_spaces": list(found.denied_spaces),
    }


def gc_dict(report: GcReport) -> dict[str, Any]:
    """Old live notes per space and what was done with them (``admin_gc_notes``)."""
    spaces = [attrs.asdict(e, filter=lambda _, value: value is not None) for e in report.spaces]
    return {
        "dry_run": report.dry_run,
        "delete_only": report.delete_only,
        "older_than_days": report.older_than_days,
        "spaces": spaces,
        "total_old_notes": sum(e.old_notes for e in report.spaces),
    }


def split_backup_id(backup_id: str) -> tuple[str, str]:
    """``space/backup`` into its two parts. Raises ``InvalidInput``."""
    if not isinstance(backup_id, str) or backup_id.count("/") != 1:
        raise InvalidInput("backup_id must look like 'space-id/20260131T120000Z-1a2b3c4d' (see backup_list)")
    space, _, backup = backup_id.partition("/")
    return space, backup


def comma_list(value: str | list[str] | None) -> list[str]:
    """A comma-separated string or a list, as a list of non-empty strings. Raises ``InvalidInput``."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if not isinstance(value, str):
        raise InvalidInput("expected a comma-separated string")
    return [part.strip() for part in value.split(",") if part.strip()]


def highest_permission(permissions: str) -> str:
    """The highest permission named in a comma-separated list. Raises ``InvalidInput``."""
    levels = [Permission.parse(p) for p in comma_list(permissions)]
    if not levels:
        raise InvalidInput("permissions must name read, write, manage or admin")
    return max(levels).label


def archive(download: Download, *, url: str | None = None, data: bytes | None = None) -> dict[str, Any]:
    """A tar.gz archive as a tool answer: its link (``download_url``, fetched once
    before ``expires_at``) over HTTP, or its bytes in base64 (``archive_base64``) for
    stdio and in-memory clients, which have no link to follow. ``size`` and
    ``archive_size`` are the archive's bytes, ``files_count`` its files, ``sha256`` its
    digest."""
    answer: dict[str, Any] = {
        "status": "ok",
        "filename": download.filename,
        "format": "tar.gz",
        "size": download.size,
        "archive_size": download.size,
        "files_count": download.files,
        "sha256": download.sha256,
    }
    if url is not None:
        return {**answer, "download_url": url, "expires_at": download.expires_at.isoformat()}
    return {**answer, "archive_base64": base64.b64encode(data or b"").decode()}


def item_dict(view: ItemView, now: datetime) -> dict[str, Any]:
    """A work item: its id, category, author, title, state (open, claimed, done,
    answered, dropped), its claim and how it was settled."""
    item, claim = view.item, view.claim
    return {
        "item_id": item.item_id,
        "category": item.category.value,
        "agent": item.agent.value,
        "title": item.title,
        "state": view.state,
        "created_at": item.created_at.isoformat(),
        "age_seconds": int((now - item.created_at).total_seconds()),
        "claimed_by": claim.holder.value if claim is not None else None,
        "claimed_until": claim.until.isoformat() if claim is not None else None,
        "settled_by": item.settled_by.value if item.settled_by is not None else None,
        "settled_at": item.settled_at.isoformat() if item.settled_at is not None else None,
        "outcome": item.outcome,
        "settled_note": item.settled_note or None,
    }


def settled_dict(item: WorkItem) -> dict[str, Any]:
    """A work item just settled: its new state as ``status`` (done, answered, dropped),
    its id, and the progress note that records it."""
    return {"status": item.state.value, "item_id": item.item_id, "note_id": item.settled_note}


def claim_dict(claim: Claim) -> dict[str, Any]:
    """A claim: resource, holder, since, until, released, and the item it is on."""
    return {
        "resource": claim.resource,
        "holder": claim.holder.value,
        "since": claim.since.isoformat(),
        "until": claim.until.isoformat(),
        "released": claim.released,
        "item_id": claim.item_id,
    }


def activity_dict(activity: AgentActivity) -> dict[str, Any]:
    """An agent's presence in a space."""
    return {
        "agent": activity.agent.value,
        "active": activity.active,
        "last_activity_at": activity.last_activity_at.isoformat(),
        "last_note_at": activity.last_note_at.isoformat() if activity.last_note_at else None,
        "last_note_category": activity.last_note_category.value if activity.last_note_category else None,
        "items": list(activity.items),
        "resources": list(activity.resources),
    }


def embeddings_dict(progress: EmbeddingProgress | None) -> dict[str, Any] | None:
    """Semantic search's embedding progress (None when it is off): the model, documents
    with a vector, documents waiting for one, the last failure ("" if none)."""
    if progress is None:
        return None
    return {
        "model": progress.model,
        "embedded": progress.embedded,
        "pending": progress.pending,
        "error": progress.error,
    }
