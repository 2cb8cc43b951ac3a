"""The client's address, scheme and host behind reverse proxies, trusted only from those proxies.

Werkzeug's ProxyFix believes the last N X-Forwarded-* entries of any request. A request
that reaches the app server directly (a port left open, a second proxy in other hands)
could then choose its own address and dodge per-IP rate limits. So the headers are only
read when the connection comes from an address in PROXY_TRUSTED (addresses or networks);
from anyone else they are removed before the app sees them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
)


class TrustedProxies:
    """WSGI middleware: ProxyFix for connections from trusted proxies, headers dropped otherwise."""

    def __init__(self, app: Any, trusted: Iterable[str], hops: int) -> None:
        self.networks = [
            ipaddress.ip_network(entry.strip(), strict=False) for entry in trusted if entry.strip()
        ]
        self.plain = app
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)

    def trusts(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.trusts(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        for header in FORWARDED_HEADERS:
            environ.pop(header, None)
        return self.plain(environ, start_response)


def init_app(app: Flask) -> None:
    """PROXY_TRUSTED: list (or comma-separated string) of proxy addresses; PROXY_HOPS: how many."""
    app.config.setdefault("PROXY_TRUSTED", [])
    app.config.setdefault("PROXY_HOPS", 1)
    trusted = app.config["PROXY_TRUSTED"]
    if isinstance(trusted, str):
        trusted = trusted.split(",")
    try:
        middleware = TrustedProxies(app.wsgi_app, trusted, int(app.config["PROXY_HOPS"]))
    except ValueError as error:
        from forum.config import ConfigurationError

        raise ConfigurationError(f"PROXY_TRUSTED holds something that is not an address: {error}") from error
    app.wsgi_app = middleware  # type: ignore[method-assign]
