"""Behind reverse proxies: the client's address from ``X-Forwarded-For``, trusting only our own proxies.

With ``PROXIES`` = 0 (the default) the address is the connection's peer, and a client's
``X-Forwarded-For`` is ignored: anyone can write one. With N proxies in front (a load balancer,
say), the address is the one the outermost of them saw, so the logs and the per-address rate
limits see clients, not the proxy.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def install(app: Flask) -> None:
    hops = int(app.config["PROXIES"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
