"""Name -> factory for description backends, so the annotator, the CLI and the bench pick backends by name.

Why factories that import lazily: the `local` and `openai` backends pull in heavy or optional dependencies (a model
runtime, an HTTP client configured with secrets); `rules` must work with nothing installed. Each backend module adds
itself here with one entry in BACKENDS and, when it cannot always run, one in AVAILABLE (a cheap check, no I/O that
could hang: "is the runtime importable, is an endpoint configured").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from annotator.describe.base import Backend

BackendFactory = Callable[..., Backend]


def _rules(**options: Any) -> Backend:
    from annotator.describe.rules import RulesBackend

    return RulesBackend(**options)


def _openai(**options: Any) -> Backend:
    from annotator.describe.openai_backend import OpenAIBackend

    return OpenAIBackend(**options)


def _local(**options: Any) -> Backend:
    from annotator.describe.local_backend import LocalBackend

    return LocalBackend(**options)


def _openai_configured() -> bool:
    from annotator.describe.openai_backend import endpoint_configured

    return endpoint_configured()


def _local_runnable() -> bool:
    from annotator.describe.local_backend import runtime_available

    return runtime_available()


BACKENDS: dict[str, BackendFactory] = {"rules": _rules, "openai": _openai, "local": _local}
# Optional availability checks; a backend without one is always available.
AVAILABLE: dict[str, Callable[[], bool]] = {"openai": _openai_configured, "local": _local_runnable}


def get_backend(name: str, **options: Any) -> Backend:
    """The backend called `name`, built with `options`; a clear error naming the known backends otherwise."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown description backend {name!r}; known: {', '.join(sorted(BACKENDS))}") from None
    return factory(**options)


def available_backends() -> list[str]:
    """Backends that can run on this machine now, `rules` first (it is the fallback for every other one)."""
    names = [name for name in BACKENDS if _is_available(name)]
    return sorted(names, key=lambda n: (n != "rules", n))


def _is_available(name: str) -> bool:
    check = AVAILABLE.get(name)
    if check is None:
        return True
    try:
        return bool(check())
    except Exception:  # a broken optional dependency means "not available", never a crash
        return False
