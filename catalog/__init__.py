"""The catalog core: settings, metadata store, services, API, CLI and client.

Importing this package is cheap on purpose: heavy modules (FastAPI, connectors, models) load on first use,
so `catalog --help` stays fast.
"""

__version__ = "0.1.0"
