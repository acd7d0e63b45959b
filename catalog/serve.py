"""Run the web UI and API with uvicorn."""

from __future__ import annotations

import ipaddress

from catalog.errors import InvalidInput
from catalog.settings import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_server(settings: Settings, host: str, port: int, allow_remote: bool) -> None:
    """Serve on `host:port`. An embedded catalog has no login yet, so it only listens on loopback unless the
    operator says otherwise explicitly."""
    import uvicorn

    from catalog.app import create_app

    if settings.mode == "embedded" and not is_loopback(host) and not allow_remote:
        raise InvalidInput(
            f"refusing to serve the embedded single-user catalog on {host}: anyone who can reach it gets full "
            "access; use 127.0.0.1, or pass --allow-remote if this network is yours alone"
        )
    if not 0 < port < 65536:
        raise InvalidInput(f"port {port} is out of range")
    print(f"catalog serving at http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
