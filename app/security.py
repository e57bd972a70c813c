"""The edge of the app: what every request passes before any route sees it, and what every response carries.

- A request id for each request (a sane `X-Request-ID` from a proxy is kept): sent back as `X-Request-ID`, carried
  by every problem document (`request_id`) and by the log lines about the request, so a client's report finds the
  server's log without the client ever seeing the server's internals.
- Links are built from a configured public URL (`LAPIS_PUBLIC_URL`: the Host header is then never used) or from a
  Host on an allow-list (`LAPIS_ALLOWED_HOSTS`; by default the local names and the bind address). A request with any
  other Host is refused (400) instead of being answered with links to that host — a shared cache would otherwise keep
  the poisoned links for everyone.
- NUL characters in the path or the query string are refused (400): PostgreSQL text cannot hold them, and the
  parts of the server that are C would cut the text short at them.
- Security headers on every response, errors and the tile fast path included: `X-Content-Type-Options`,
  `Referrer-Policy`, a Content-Security-Policy (the pages' one lets MapLibre run its workers from blob: URLs and
  style elements inline; anything else gets `default-src 'none'`) and frame options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urlsplit
from uuid import uuid4

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.memory import MemoryGuard
from app.negotiate import BASE_URL_KEY
from app.problems import REQUEST_ID, problem_of, problem_response
from spatial.settings import Settings

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
WILDCARD_BINDS = {"0.0.0.0", "::", "[::]", ""}  # noqa: S104 - names, not a bind
HOST_SYNTAX = re.compile(r"^(?P<name>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::(?P<port>\d{1,5}))?$")
INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class PublicUrl:
    scheme: str
    netloc: str
    path: str  # '' or '/prefix'

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path}"


def parse_public_url(text: str | None) -> PublicUrl | None:
    """LAPIS_PUBLIC_URL, checked at start-up (a bad one stops the app with a clear message)."""
    if not text:
        return None
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise ValueError(f"LAPIS_PUBLIC_URL must be http(s)://host[:port][/path], without query or user: {text!r}")
    return PublicUrl(parts.scheme, parts.netloc.lower(), parts.path.rstrip("/"))


class HostPolicy:
    """Which Host headers links may be built from: `base_url(scope)` is the base of every link, or None when the
    request's Host is not allowed."""

    def __init__(self, settings: Settings) -> None:
        self.public = parse_public_url(settings.public_url)
        names = settings.allowed_hosts.split(",") if settings.allowed_hosts else [
            *LOCAL_HOSTS, *([settings.host] if settings.host not in WILDCARD_BINDS else [])]
        self.any = "*" in (n.strip() for n in names)
        self.exact = {n.strip().lower() for n in names if n.strip() and not n.strip().startswith("*")}
        self.suffixes = tuple(n.strip().lower()[1:] for n in names if n.strip().startswith("*."))
        self.exact |= {f"[{n}]" for n in self.exact if ":" in n and not n.startswith("[")}  # a bare IPv6 address

    def allows(self, host: str) -> bool:
        match = HOST_SYNTAX.match(host)
        if match is None:
            return False
        if self.any:
            return True
        name = match["name"]
        return host in self.exact or name in self.exact or name.endswith(self.suffixes)

    def base_url(self, scope: Scope) -> str | None:
        if self.public is not None:
            return self.public.base
        host = _header(scope, b"host")
        if host is None:  # HTTP/1.0 without Host: the address the request came to
            server = scope.get("server")
            host = f"{server[0]}:{server[1]}" if server else "localhost"
        host = host.lower()
        if not self.allows(host):
            return None
        return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"


def content_security_policy(settings: Settings) -> str:
    """The pages' CSP: scripts and styles from this server only (styles also inline: MapLibre and Swagger UI set
    them on elements), MapLibre's workers from blob: URLs, images from data:/blob:, and the basemap's origin when
    one is configured."""
    extra = ""
    if settings.basemap_url:
        parts = urlsplit(settings.basemap_url.replace("{", "").replace("}", ""))
        extra = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob:{extra}; connect-src 'self'{extra}; worker-src 'self' blob:; "
            "child-src 'self' blob:; font-src 'self' data:; object-src 'none'; base-uri 'none'; "
            f"form-action 'self'; frame-ancestors {settings.frame_ancestors}")


def security_headers(settings: Settings) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """(headers of HTML pages, headers of everything else)."""
    common = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"strict-origin-when-cross-origin")]
    frame = {"'self'": b"SAMEORIGIN", "'none'": b"DENY"}.get(settings.frame_ancestors.strip())
    page = [*common, (b"content-security-policy", content_security_policy(settings).encode())]
    if frame:
        page.append((b"x-frame-options", frame))
    other = [*common, (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
             (b"x-frame-options", b"DENY")]
    return page, other


class EdgeMiddleware:
    """Request id, Host policy, NUL refusal and security headers (see the module's docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hosts = HostPolicy(settings)
        self.page_headers, self.other_headers = security_headers(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and INCOMING_ID.match(incoming) else uuid4().hex
        REQUEST_ID.set(request_id)  # this request's task (and the threads it starts) only
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                media = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                extra = self.page_headers if media.startswith(b"text/html") else self.other_headers
                headers += [(k, v) for k, v in extra if k not in names]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            return await refusal(scope, receive, send_with_headers)
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if not started:  # answer the 500 here, so that it too carries the headers; the server logs it
                await problem_of(exc, scope.get("path", ""))(scope, receive, send_with_headers)
            raise

    def _refusal(self, scope: Scope) -> Response | None:
        path, query = scope.get("path", ""), scope.get("query_string", b"")
        if "\x00" in path or b"\x00" in unquote_to_bytes(query):
            return problem_response(400, "Invalid parameter", "the URL contains a NUL character (%00)")
        base = self.hosts.base_url(scope)
        if base is None:
            return problem_response(400, "Invalid Host header", "this server does not answer for the Host this "
                                    "request names (configure LAPIS_PUBLIC_URL or LAPIS_ALLOWED_HOSTS)",
                                    parameter="Host")
        scope[BASE_URL_KEY] = base
        public = self.hosts.public
        if public is not None:  # whatever Starlette builds from the request (redirects) names the public host too
            scope["scheme"] = public.scheme
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"host"] + [
                (b"host", public.netloc.encode())]
        return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def install_edge(app: Starlette, settings: Settings) -> None:
    """EdgeMiddleware outermost (but for Starlette's error middleware, whose 500s it answers itself), and inside it
    the memory guard (`app.memory`)."""
    app.add_middleware(MemoryGuard, threshold=settings.body_spool_bytes)
    app.add_middleware(EdgeMiddleware, settings=settings)
