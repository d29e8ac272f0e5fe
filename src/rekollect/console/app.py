"""Serves the console's static files under ``/console`` (no authentication: they hold no data).

Every response carries a Content-Security-Policy that allows scripts, styles and connections to
this origin only (images also from ``blob:``/``data:`` URLs and videos from ``blob:`` URLs, for the
photos and videos the user picks and the face pictures fetched through the API), so
keys typed into the page (kept in ``sessionStorage``) cannot be sent elsewhere by injected markup.
WebAssembly may be compiled (``'wasm-unsafe-eval'``: the Face Liveness page's face detector runs
TensorFlow.js's WASM backend); ``'self'`` covers the page's ``wss:`` stream to this host.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .install import SIGNER_FILE
from .liveness_install import FOLDER as LIVENESS_FOLDER

mimetypes.add_type("application/wasm", ".wasm")  # WebAssembly.instantiateStreaming needs it

STATIC = Path(__file__).with_name("static")
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' blob: data:;"
        " media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def console_app(vendor_dir: Path) -> ASGIApp:
    """The ASGI app to mount at ``/console``: the pages from ``static/``,
    ``vendor/aws4fetch.js`` from ``vendor_dir`` (where ``install.py`` put it; 404 with the install
    command when it is missing: the console then works only without server credentials), and the
    Face Liveness page's files under ``vendor/liveness/`` (``liveness_install.py``; 404 when missing)."""

    async def signer(request: Request) -> Response:
        path = vendor_dir / SIGNER_FILE
        if not path.is_file():
            return PlainTextResponse(
                f"{path} is missing: run `rekollect install`", status_code=404
            )
        return FileResponse(path, media_type="text/javascript")

    app = Starlette(
        routes=[
            Route("/vendor/aws4fetch.js", signer, methods=["GET", "HEAD"]),
            Mount("/vendor/liveness", StaticFiles(directory=vendor_dir / LIVENESS_FOLDER, check_dir=False)),
            Mount("/", StaticFiles(directory=STATIC, html=True)),
        ]
    )
    return _with_headers(app)


def root_redirect() -> Route:
    """``GET /`` (a browser opening the server's address) answered with a redirect to ``/console/``;
    ``POST /`` stays the API's."""

    async def redirect(request: Request) -> Response:
        return RedirectResponse("/console/", status_code=307)

    return Route("/", redirect, methods=["GET", "HEAD"])


def _with_headers(app: ASGIApp) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()),
                ]
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped
