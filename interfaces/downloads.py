"""``GET /downloads/{ticket}``: where the links of ``space_export`` and
``backup_download`` lead. The ticket is the credential (128 random bits, spent on the
first request, expired after ``EXPORT_LINK_SECONDS``), so a client fetches the archive
with a plain GET, as it would an S3 presigned URL; the archive is streamed from the
spool and removed once sent. An unknown, spent or expired ticket answers 404 with the
error body of every other refusal.
"""

from __future__ import annotations

import base64
import re
from typing import Final

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from application.services import Services
from domain import NotFound
from interfaces.mcp.context import error_body, kind_and_message

__all__ = ["download_routes"]

log = structlog.get_logger("live_mem.downloads")
_TICKET_RE: Final = re.compile(r"[0-9a-f]{32}")
_NO_STORE: Final = {"Cache-Control": "no-store"}


def download_routes(services: Services) -> list[BaseRoute]:
    """The download route, over ``services.downloads``."""

    async def download(request: Request) -> Response:
        ticket = request.path_params["ticket"]
        try:
            if not _TICKET_RE.fullmatch(ticket):
                raise NotFound("this download link is unknown, already used or expired; ask for a new one")
            found, chunks = await services.downloads.claim(ticket)
        except NotFound as exc:
            return JSONResponse(error_body(*kind_and_message(exc)), status_code=404, headers=_NO_STORE)
        log.info("archive_download", filename=found.filename, size=found.size)
        return StreamingResponse(
            chunks,
            media_type="application/gzip",
            headers={
                **_NO_STORE,
                "Content-Length": str(found.size),
                "Content-Disposition": f'attachment; filename="{found.filename}"',
                # RFC 9530, section 3: the digest of the bytes sent, base64 between colons
                "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(found.sha256)).decode()}:",
            },
        )

    return [Route("/downloads/{ticket}", download, methods=["GET"])]
