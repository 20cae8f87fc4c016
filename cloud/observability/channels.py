"""Which channel and route a request is counted under.

Labels must stay a small, fixed set: the channel comes from the first segment of the path
(one dictionary look-up), the route is the canonical pattern aiohttp matched
(``/api/v1/customers/{customer_id}``), never the raw path, so no id, phone or token ever
becomes a label; anything unmatched is one ``unmatched`` route."""

from __future__ import annotations

from aiohttp import web

CHANNELS: dict[str, str] = {
    "api": "api",
    "evotor": "evotor",
    "frontol": "frontol",
    "sigma": "sigma",
    "moysklad": "moysklad",
    "modulkassa": "modulkassa",
    "1c": "1c",
    "cabinet": "cabinet",
    "bridge": "bridge",
    "health": "service",
    "ready": "service",
    "metrics": "service",
    "messages": "callbacks",
    "telegram": "telegram",
}
"""The first path segment -> channel; everything else is the customers' pages
(``/join``, ``/feedback``, ``/m/stop``)."""

PAGES = "pages"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def channel_of(path: str) -> str:
    return CHANNELS.get(path[1:].partition("/")[0], PAGES)


def route_of(request: web.Request) -> str | None:
    """The canonical route matched, or None (an unknown address, a wrong method)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def method_of(request: web.Request) -> str:
    """The method as a label: a client may send any token as a method."""
    method = request.method
    return method if method in METHODS else "OTHER"
