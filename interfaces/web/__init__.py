"""The web page (``/ui``) and the JSON API it calls (``/api/``); see docs/ui.md.

The page is static files (HTML, two scripts, one stylesheet) served from this package:
it works offline and loads nothing from elsewhere. Its token lives in the browser's
``sessionStorage`` and travels in the ``Authorization`` header; the API's endpoints call
the same application services as the MCP tools, behind the same bearer gate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from interfaces.web.api_admin import admin_routes
from interfaces.web.api_read import read_routes
from interfaces.web.api_work import work_routes
from interfaces.web.common import WebContext
from interfaces.web.events import event_routes
from interfaces.web.security import PageSecurity

__all__ = ["PageSecurity", "WebContext", "web_routes"]

STATIC: Final = Path(__file__).with_name("static")


def web_routes(web: WebContext) -> list[BaseRoute]:
    """Every route of the page and its API."""

    async def page(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def root(_: Request) -> Response:
        return RedirectResponse("/ui", status_code=307)

    return [
        Route("/", root, methods=["GET"]),
        Route("/ui", page, methods=["GET"]),
        Route("/ui/", page, methods=["GET"]),
        Mount("/ui/static", app=StaticFiles(directory=STATIC), name="static"),
        *read_routes(web),
        *work_routes(web),
        *event_routes(web),
        *admin_routes(web),
    ]
