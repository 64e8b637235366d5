"""Serves the web app's static export at ``/`` (the APIs keep ``/api`` and ``/v1``).

Pages are looked up the way the export lays them out (``/chat`` is ``chat.html``, ``/`` is
``index.html``); anything else is a file of the export or its ``404.html``. Every HTML page
is sent with a strict Content-Security-Policy: Next.js writes its bootstrap data as inline
``<script>`` elements, so instead of allowing inline scripts the policy lists the SHA-256
hash of each inline script of that page, computed from the file when it is first served
(and again whenever the file changes).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Receive, Scope, Send

logger = logging.getLogger(__name__)

_INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_HAS_SRC = re.compile(r"\bsrc\s*=", re.IGNORECASE)

# Everything but the script hashes; nothing inline is allowed for styles either.
_POLICY = (
    "default-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_TYPES = {".webmanifest": "application/manifest+json", ".txt": "text/plain; charset=utf-8"}


def inline_script_hashes(html: str) -> list[str]:
    """CSP sources (``'sha256-…'``) for the inline scripts of ``html``, sorted, no repeats."""
    hashes = set()
    for match in _INLINE_SCRIPT.finditer(html):
        attributes, body = match.group(1), match.group(2)
        if _HAS_SRC.search(attributes):
            continue
        digest = hashlib.sha256(body.encode("utf-8")).digest()
        hashes.add(f"'sha256-{base64.b64encode(digest).decode('ascii')}'")
    return sorted(hashes)


def content_security_policy(html: str) -> str:
    """The policy for one page: scripts from this origin plus that page's inline scripts."""
    script_src = " ".join(["script-src 'self'", *inline_script_hashes(html)])
    return "; ".join([_POLICY[0], script_src, *_POLICY[1:]])


@dataclass(frozen=True)
class _Page:
    stamp: tuple[int, int]
    body: bytes
    policy: str


class WebApp:
    """An ASGI app for the export: pages with their CSP, static files, the 404 page."""

    def __init__(
        self, root: Path, api_routes: Callable[[], Sequence[BaseRoute]] | None = None
    ) -> None:
        self.root = root.resolve()
        self._pages: dict[Path, _Page] = {}
        self._api_routes = api_routes or (lambda: ())

    def allowed_methods(self, scope: Scope) -> set[str]:
        """Methods of the API routes whose path matches ``scope`` (a 405 rather than a 404)."""
        routes = [r for r in self._api_routes() if not isinstance(r, Mount)]
        allowed: set[str] = set()
        for method in _METHODS:
            probe = {**scope, "method": method}
            if any(route.matches(probe)[0] is Match.FULL for route in routes):
                allowed.add(method)
        if "GET" in allowed:
            allowed.add("HEAD")
        return allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        if scope["type"] != "http":
            raise HTTPException(404)
        path: str = scope["path"]
        if path in ("/api", "/v1") or path.startswith(("/api/", "/v1/")):
            allowed = self.allowed_methods(scope)
            if allowed:
                raise HTTPException(
                    405, "method not allowed", headers={"Allow": ", ".join(sorted(allowed))}
                )
            raise HTTPException(404, "no such API route")
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            raise HTTPException(405, headers={"Allow": "GET, HEAD"})
        response = self.respond(
            path, scope.get("query_string", b"").decode("latin-1"), method == "HEAD"
        )
        await response(scope, receive, send)

    def respond(self, path: str, query: str, head: bool) -> Response:
        """The response for ``path``."""
        if path != "/" and path.endswith("/"):
            target = path.rstrip("/") or "/"
            return RedirectResponse(target + (f"?{query}" if query else ""), status_code=308)
        file = self.lookup(path)
        if file is None:
            missing = self.root / "404.html"
            if missing.is_file():
                return self.page(missing, head, status=404)
            raise HTTPException(404)
        if file.suffix == ".html":
            return self.page(file, head)
        relative = file.relative_to(self.root).as_posix()
        cache = IMMUTABLE if relative.startswith("_next/static/") else REVALIDATE
        return FileResponse(
            file,
            media_type=_TYPES.get(file.suffix),
            headers={"Cache-Control": cache},
        )

    def lookup(self, path: str) -> Path | None:
        """The export's file for a URL path, or None; never a file outside the export."""
        relative = path.lstrip("/")
        parts = PurePosixPath(relative).parts
        if (
            "\x00" in relative
            or "\\" in relative
            or any(p in ("..", ".") or p.startswith(".") for p in parts)
        ):
            return None
        if not relative:
            candidates = ["index.html"]
        else:
            candidates = [relative, f"{relative}.html", f"{relative}/index.html"]
        for candidate in candidates:
            file = (self.root / candidate).resolve()
            if file.is_file() and file.is_relative_to(self.root):
                return file
        return None

    def page(self, file: Path, head: bool, status: int = 200) -> Response:
        """An HTML page with its Content-Security-Policy."""
        page = self._load(file)
        return Response(
            b"" if head else page.body,
            status_code=status,
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": page.policy,
                "Cache-Control": REVALIDATE,
                **({"Content-Length": str(len(page.body))} if head else {}),
            },
        )

    def _load(self, file: Path) -> _Page:
        stat = file.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._pages.get(file)
        if cached is not None and cached.stamp == stamp:
            return cached
        body = file.read_bytes()
        page = _Page(stamp, body, content_security_policy(body.decode("utf-8", errors="replace")))
        self._pages[file] = page
        return page

    def preload(self) -> int:
        """Hash every page of the export now (at start-up); returns how many there are."""
        count = 0
        for file in self.root.rglob("*.html"):
            self._load(file.resolve())
            count += 1
        return count


def mount_web_app(app: FastAPI, web_dir: Path) -> None:
    """Serve the export at ``/``; its pages' script hashes are computed at start-up."""
    web = WebApp(web_dir, api_routes=lambda: app.router.routes)
    pages = web.preload()
    logger.info("serving the web app from %s (%d pages)", web_dir, pages)
    app.mount("/", web, name="web")
