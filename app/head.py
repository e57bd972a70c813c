"""HEAD for every GET resource (RFC 9110: the GET answer's status and headers, without the body).

FastAPI routes answer only the methods they declare, so a HEAD request is passed on as a GET — through the tile
fast path and every route alike — and the body is dropped on the way out; `Content-Length` stays that of the GET
answer. The API definition keeps listing GET only.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)
        ended = False

        async def send_headers_only(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.body":
                if ended:
                    return
                if message.get("more_body", False):  # a streamed body: say nothing until its last part
                    return
                ended = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
