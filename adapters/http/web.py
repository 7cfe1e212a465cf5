"""The auditor's and admin's web page (``GET /``): static files shipped as package data (``adapters/http/web/``).

Plain ES modules, a stylesheet and one HTML page, no build step: the page signs in with a bearer token and reads
everything through the same ``/v1`` API as any other client, with the same permission checks. Every asset is
served from here (no CDN, no external network); the files are read once, when the app is made. The answers carry
a Content-Security-Policy that allows only this server's own scripts, styles and API (``connect-src 'self'``).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from litestar import Request, Response, get

from adapters.http.errors import ApiError

TYPES = {
    ".html": "text/html",  # Litestar adds "; charset=utf-8" to text types
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


def assets() -> dict[str, tuple[bytes, str]]:
    """Every file of ``adapters/http/web``: its name → (its bytes, its media type)."""
    folder = resources.files("adapters.http").joinpath("web")
    found: dict[str, tuple[bytes, str]] = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in TYPES:
            found[entry.name] = (entry.read_bytes(), TYPES[suffix])
    return found


def web_routes() -> list[Any]:
    """``GET /`` (the page) and ``GET /web/{name}`` (its scripts and stylesheet)."""
    files = assets()

    def answer(name: str) -> Response[bytes]:
        content, media = files[name]
        return Response(content=content, media_type=media, headers=HEADERS)

    @get("/", sync_to_thread=False)
    def index() -> Response[bytes]:
        return answer("index.html")

    @get("/web/{name:str}", sync_to_thread=False)
    def asset(request: Request[Any, Any, Any]) -> Response[bytes]:
        name = request.path_params["name"]
        if name not in files:
            raise ApiError(404, "not_found", f"no such path: GET /web/{name[:80]}")
        return answer(name)

    return [index, asset]


__all__ = ["CSP", "assets", "web_routes"]
