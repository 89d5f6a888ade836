"""``GET /downloads/{ticket}``: where the links of ``space_export`` and
``backup_download`` lead. The ticket is the credential (128 random bits, spent on the
first request, expired after ``EXPORT_LINK_SECONDS``), so a client fetches the archive
with a plain GET, as it would an S3 presigned URL; the archive is streamed from the
spool and removed once the response ends: sent, failed, or the client gone. A ``HEAD``
answers the same headers and spends nothing (RFC 9110, section 9.3.2). An unknown,
spent or expired ticket answers 404 with the error body of every other refusal.
"""

from __future__ import annotations

import base64
import re
from typing import Final

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from application.services import Download, Services
from domain import NotFound
from interfaces.edge.errors import error_body, kind_and_message

__all__ = ["download_routes"]

log = structlog.get_logger("live_mem.downloads")
_TICKET_RE: Final = re.compile(r"[0-9a-f]{32}")
_NO_STORE: Final = {"Cache-Control": "no-store"}


class _SentOnce(StreamingResponse):
    """A streaming response that closes its body when the response ends, however it
    ends: Starlette leaves the generator suspended when the client goes away, and the
    archive would stay on disk until the process exits."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            closer = getattr(self.body_iterator, "aclose", None)
            if closer is not None:
                await closer()


def _headers(found: Download) -> dict[str, str]:
    return {
        **_NO_STORE,
        "Content-Type": "application/gzip",
        "Content-Length": str(found.size),
        "Content-Disposition": f'attachment; filename="{found.filename}"',
        # RFC 9530, section 3: the digest of the bytes sent, base64 between colons
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(found.sha256)).decode()}:",
    }


def download_routes(services: Services) -> list[BaseRoute]:
    """The download route, over ``services.downloads``."""

    async def download(request: Request) -> Response:
        ticket = request.path_params["ticket"]
        try:
            if not _TICKET_RE.fullmatch(ticket):
                raise NotFound("this download link is unknown, already used or expired; ask for a new one")
            if request.method == "HEAD":
                return Response(headers=_headers(await services.downloads.peek(ticket)))
            found, chunks = await services.downloads.claim(ticket)
        except NotFound as exc:
            return JSONResponse(error_body(*kind_and_message(exc)), status_code=404, headers=_NO_STORE)
        log.info("archive_download", filename=found.filename, size=found.size)
        return _SentOnce(chunks, media_type="application/gzip", headers=_headers(found))

    return [Route("/downloads/{ticket}", download, methods=["GET", "HEAD"])]
