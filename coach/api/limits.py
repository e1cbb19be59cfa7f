"""Request body limits, enforced while the body streams in (before it is parsed or written to disk)."""

from __future__ import annotations

import json


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: answer 413 when a request body to one of ``limits`` (path prefix -> bytes) grows
    past its limit. A ``Content-Length`` over the limit is refused before reading anything."""

    def __init__(self, app, limits: dict[str, int], default: int | None = None) -> None:
        self.app = app
        self.limits = limits
        self.default = default

    def _limit(self, path: str) -> int | None:
        for prefix, n in self.limits.items():
            if path.startswith(prefix):
                return n
        return self.default

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self._limit(scope.get("path", ""))
        if limit is None:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _too_large(send, limit)
        seen = 0
        started = False
        overflow = False

        async def counting_receive():
            nonlocal seen, overflow
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    overflow = True
                    raise BodyTooLarge()
            return message

        async def tracking_send(message):
            # A framework may turn the failed read into its own error response: answer 413 instead.
            nonlocal started
            if overflow:
                if not started:
                    started = True
                    await _too_large(send, limit)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                started = True
                await _too_large(send, limit)


async def _too_large(send, limit: int) -> None:
    body = json.dumps({"detail": f"the request body is larger than the limit of {limit} bytes "
                                 f"({limit / 1e6:.1f} MB)"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
