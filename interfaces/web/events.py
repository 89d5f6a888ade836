"""``GET /api/spaces/{space_id}/events``: a space's change feed as Server-Sent Events
(the WHATWG HTML standard's ``text/event-stream``, served by sse-starlette).

Events: ``ready`` once (``{"interval": seconds}``), then ``notes``
(``{"notes": [...], "consumed": n}``) whenever notes appear or leave the live set, and
``signout`` (then the end of the stream) when the token stops authenticating, and
``forbidden`` (``{"message": ...}``, then the end) when it may no longer read the
space. The token and its access are checked again before every ``notes`` event and at
least every ``RECHECK_SECONDS``, so a token that lost the space is sent none of its
notes. A comment line every 15 s keeps proxies from closing an idle stream. The page
reads the stream with ``fetch`` so that the token travels in the ``Authorization``
header, never in the URL.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any, Final

from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.routing import Route

from application.changefeed import Subscription
from application.store import StoreError
from domain import AuthenticationFailed, Identity, LimitExceeded, Permission, PermissionDenied, SpaceId
from interfaces.bearer import VERIFIED
from interfaces.edge.shapes import note_dict
from interfaces.web.common import WebContext

__all__ = ["STREAMS_PER_TOKEN", "event_routes"]

RECHECK_SECONDS: Final = 5.0
STREAMS_PER_TOKEN: Final = 8
"""Event streams one token may hold open at once (tabs of the page)."""


def event_routes(web: WebContext) -> list[Route]:
    """The routes of this module."""
    s = web.services
    open_streams: Counter[str] = Counter()

    async def refused(secret: str, space: SpaceId) -> dict[str, Any] | None:
        """The closing event for a token that lost its rights, or None while it may read."""
        try:
            identity = await s.auth.authenticate(secret)
            identity.require(Permission.READ, space)
        except AuthenticationFailed as exc:
            return {"event": "signout", "data": json.dumps({"message": str(exc)})}
        except PermissionDenied as exc:
            return {"event": "forbidden", "data": json.dumps({"message": str(exc)})}
        return None

    async def stream(
        secret: str, space: SpaceId, sub: Subscription, stack: AsyncExitStack
    ) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {"event": "ready", "data": json.dumps({"interval": s.feed.interval})}
            checked = time.monotonic()
            while True:
                event = await sub.next(RECHECK_SECONDS)
                if event is None and time.monotonic() - checked < RECHECK_SECONDS:
                    continue
                checked = time.monotonic()
                try:
                    closing = await refused(secret, space)
                except StoreError:
                    continue  # the token store is down: send nothing, check again later
                if closing is not None:
                    yield closing
                    return
                if event is not None:
                    data = {"notes": [note_dict(n) for n in event.notes], "consumed": event.consumed}
                    yield {"event": "notes", "data": json.dumps(data)}
        finally:
            await stack.aclose()

    @web.endpoint("live_read")
    async def events(request: Request, me: Identity) -> EventSourceResponse:
        verified = VERIFIED.get()
        secret = verified[0] if verified else ""
        if open_streams[me.name.value] >= STREAMS_PER_TOKEN:
            raise LimitExceeded(f"at most {STREAMS_PER_TOKEN} event streams per token; close another tab")
        stack = AsyncExitStack()
        sub = await stack.enter_async_context(s.feed.subscribe(me, request.path_params["space_id"]))
        open_streams[me.name.value] += 1

        def release() -> None:
            open_streams[me.name.value] -= 1
            if open_streams[me.name.value] <= 0:
                del open_streams[me.name.value]

        stack.callback(release)
        return EventSourceResponse(
            stream(secret, SpaceId(request.path_params["space_id"]), sub, stack),
            ping=15,
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            background=BackgroundTask(stack.aclose),
        )

    return [Route("/api/spaces/{space_id}/events", events, methods=["GET"])]
