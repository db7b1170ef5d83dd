"""How the gateway answers a bad request: a typed exception and one JSON error shape."""

from __future__ import annotations

from aiohttp import web


class BadRequest(Exception):
    """A client error, answered as `{"error": message}` with a 4xx status by the app's middleware."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """`{"error": message}` with `status`: every error the gateway sends looks like this."""
    return web.json_response({"error": message}, status=status, headers=headers)
