"""Run the web UI and API with uvicorn."""

from __future__ import annotations

import ipaddress
from typing import Any

from catalog.errors import InvalidInput
from catalog.settings import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


WEAK_SECRETS = {"changeme", "change-me", "secret", "default", "catalog", "password", "development", "dev"}
MIN_SECRET = 32


def check_server_secrets(settings: Settings) -> None:
    """Server mode refuses to start with a missing, short or well-known secret key (it signs login sessions)."""
    if settings.trusted_header and len(settings.trusted_proxy_secret or "") < MIN_SECRET:
        raise InvalidInput(f"CATALOG_TRUSTED_HEADER needs CATALOG_TRUSTED_PROXY_SECRET of at least {MIN_SECRET} "
                           "characters, sent by the proxy as X-Catalog-Proxy-Secret")
    key = settings.secret_key or ""
    if len(key) < MIN_SECRET or key.strip().lower() in WEAK_SECRETS or len(set(key)) < 8:
        raise InvalidInput(
            f"server mode needs CATALOG_SECRET_KEY: at least {MIN_SECRET} random characters, not a default "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')")


MAX_WORKERS = 64


def run_server(settings: Settings, host: str, port: int, allow_remote: bool, workers: int = 1) -> None:
    """Serve on `host:port`. An embedded catalog has no login yet, so it only listens on loopback unless the
    operator says otherwise explicitly.

    With `workers` > 1, uvicorn forks that many processes, each building its app from the environment
    (`worker_app`). Nothing lives only in one worker's memory: sessions, CSRF tokens and grants are in the store,
    and every worker reopens the search index when `catalog index` commits a newer snapshot.
    """
    import uvicorn

    from catalog.app import create_app

    if settings.mode == "embedded" and not is_loopback(host) and not allow_remote:
        raise InvalidInput(
            f"refusing to serve the embedded single-user catalog on {host}: anyone who can reach it gets full "
            "access; use 127.0.0.1, or pass --allow-remote if this network is yours alone"
        )
    if settings.mode == "server":
        check_server_secrets(settings)
    if not 0 < port < 65536:
        raise InvalidInput(f"port {port} is out of range")
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInput(f"--workers must be between 1 and {MAX_WORKERS}, not {workers}")
    print(f"catalog serving at http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    if workers > 1:
        uvicorn.run("catalog.serve:worker_app", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")
        return
    app = create_app(settings)
    freeze_startup_objects()
    uvicorn.run(app, host=host, port=port, log_level="warning")


def worker_app() -> Any:
    """The app of one worker process, with settings read from the environment the parent was started with."""
    from catalog.app import create_app
    from catalog.settings import load_settings

    app = create_app(load_settings())
    freeze_startup_objects()
    return app


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, templates, the app) out of the garbage collector's reach.

    Why: a server holds ~160k long-lived objects after imports, and every full collection scanned them all
    (~90 ms on the 2-core machine), so one request in ten paid that pause; frozen, a full collection only scans
    what requests left behind (bench/page_render.py shows the effect on the tail latency).
    """
    import gc

    gc.collect()
    gc.freeze()
