"""The catalog's versions repository: git plus DVC under `CATALOG_HOME/versions`, with a DVC remote.

Layout, chosen so plain DVC tools work outside the catalog:
- `data/<dataset name>.parquet.dvc` is committed to git; each version is a commit tagged `<dataset name>@v<N>`,
  so `dvc get <repo> data/team/churn.parquet --rev team/churn@v3` and `dvc.api.read(..., rev=...)` both work.
- The Parquet bytes live in DVC's cache (`.dvc/cache/files/md5/..`) and in the remote named `catalog`
  (`CATALOG_HOME/dvc-remote` by default; any DVC remote URL through `CATALOG_DVC_REMOTE`, e.g. `s3://bucket/x`
  with `CATALOG_DVC_REMOTE_ENDPOINT_URL` for S3-compatible servers; credentials come from the usual AWS variables
  and are never written to the repository's config).
- The workspace holds no data files: nobody works in it, and a second copy of every version would only cost disk.

DVC has no public write API, so this module writes what `dvc add` + `dvc push` would: the object (already hashed
while it was staged) is moved into the cache, sent to the remote through DVC's own remote filesystem, and the
`.dvc` file is written in DVC's format. That avoids hashing and copying a gigabyte twice more than needed.
Git is driven through its command line with a fixed identity; a file lock serialises commits of concurrent
publishers on this machine.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from catalog.errors import CatalogError
from catalog.settings import Settings

REMOTE_NAME = "catalog"
DATA_DIR = "data"
GIT_TIMEOUT_S = 60


class RepositoryError(CatalogError):
    """The versions repository or its remote refused an operation; the message says which and why."""


def dvc_file_text(md5: str, size: int, file_name: str) -> str:
    """A `.dvc` file exactly as `dvc add` writes it (DVC 3 format)."""
    return f"outs:\n- md5: {md5}\n  size: {size}\n  hash: md5\n  path: {file_name}\n"


class VersionRepo:
    """One catalog's versions repository. Cheap to construct; `ensure()` creates it on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.home / "versions"
        self.remote_url = settings.dvc_remote or str(settings.home / "dvc-remote")

    # -- layout -------------------------------------------------------------------------------------------------
    def data_path(self, name: str) -> str:
        """The tracked path of a dataset inside the repository (relative, POSIX)."""
        return f"{DATA_DIR}/{name}.parquet"

    @staticmethod
    def tag_of(name: str, number: int) -> str:
        return f"{name}@v{number}"

    def cache_path(self, md5: str) -> Path:
        return self.root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]

    def staging_dir(self) -> Path:
        """Where versions are written before their checks pass; same filesystem as the cache, so accepting one
        is a rename, not a copy."""
        path = self.root / ".dvc" / "tmp" / "catalog-staging"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- setup --------------------------------------------------------------------------------------------------
    def ensure(self) -> None:
        """Create the git + DVC repository and its remote configuration if missing (idempotent)."""
        if (self.root / ".dvc" / "config").exists() and (self.root / ".git").exists():
            self._configure_remote()
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with self.lock():
            if not (self.root / ".git").exists():
                self._git("init", "--quiet", "--initial-branch=main")
                self._git("config", "user.name", "catalog")
                self._git("config", "user.email", "catalog@localhost")
                self._git("config", "commit.gpgsign", "false")
                self._git("config", "tag.gpgsign", "false")
            if not (self.root / ".dvc" / "config").exists():
                # What `dvc init` writes, written directly: DVC's init logs a welcome to stdout, which must stay
                # clean for `--json`, and importing DVC costs half a second.
                (self.root / ".dvc").mkdir(exist_ok=True)
                (self.root / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
                (self.root / ".dvcignore").write_text("# Patterns of files DVC should ignore.\n")
                (self.root / ".dvc" / "config").write_text("")
                (self.root / ".gitignore").write_text(f"/{DATA_DIR}/**/*.parquet\n/.catalog.lock\n")
                self._configure_remote()
                self._git("add", ".dvc/config", ".dvc/.gitignore", ".dvcignore", ".gitignore")
                self._git("commit", "--quiet", "-m", "catalog: versions repository")

    def _configure_remote(self) -> None:
        """Point the `catalog` remote at the configured URL (in `.dvc/config`, without credentials)."""
        lines = [f"[core]\n    remote = {REMOTE_NAME}\n",
                 f"['remote \"{REMOTE_NAME}\"']\n    url = {self.remote_url}\n"]
        endpoint = os.environ.get("CATALOG_DVC_REMOTE_ENDPOINT_URL")
        if endpoint:
            lines.append(f"    endpointurl = {endpoint}\n")
        text = "".join(lines)
        config = self.root / ".dvc" / "config"
        if config.read_text() != text:
            config.write_text(text)
            if (self.root / ".git").exists() and self._git_ok("rev-parse", "--verify", "HEAD"):
                self._git("add", ".dvc/config")
                if not self._git_ok("diff", "--cached", "--quiet"):
                    self._git("commit", "--quiet", "-m", "catalog: DVC remote changed")

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise repository writes across processes on this machine (publishes, reconciliation)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".catalog.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- git ----------------------------------------------------------------------------------------------------
    def _git(self, *args: str, author: str | None = None) -> str:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        if author:
            env.update(GIT_AUTHOR_NAME=author, GIT_AUTHOR_EMAIL="catalog@localhost")
        result = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, text=True, env=env,
                                timeout=GIT_TIMEOUT_S, check=False)
        if result.returncode != 0:
            raise RepositoryError(f"versions repository: git {args[0]} failed: "
                                  f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}")
        return result.stdout.strip()

    def _git_ok(self, *args: str) -> bool:
        result = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, timeout=GIT_TIMEOUT_S,
                                check=False)
        return result.returncode == 0

    def tag_exists(self, tag: str) -> bool:
        return self._git_ok("rev-parse", "--verify", "--quiet", f"refs/tags/{tag}")

    def tags_of(self, name: str) -> list[str]:
        """Version tags of one dataset (`<name>@v<N>`), as git has them."""
        listed = self._git("tag", "--list", f"{name}@v*")
        return [t for t in listed.splitlines() if t[len(name) + 2:].isdigit()]

    def commit_version(self, name: str, number: int, md5: str, size: int, message: str, author: str) -> str:
        """Write the `.dvc` file, commit it and tag the commit; returns the commit id. Caller holds `lock()`."""
        relative = self.data_path(name)
        dvc_file = self.root / f"{relative}.dvc"
        dvc_file.parent.mkdir(parents=True, exist_ok=True)
        dvc_file.write_text(dvc_file_text(md5, size, Path(relative).name))
        self._git("add", "--", f"{relative}.dvc")
        self._git("commit", "--quiet", "--allow-empty", "-m", message, author=author)
        commit = self._git("rev-parse", "HEAD")
        self._git("tag", self.tag_of(name, number), commit)
        return commit

    def restore_pointer(self, name: str, md5: str | None, size: int | None, note: str) -> None:
        """Put a dataset's `.dvc` file back to the given object (or remove it) and commit; used to undo a commit
        whose version row could not be recorded. Caller holds `lock()`."""
        relative = self.data_path(name)
        dvc_file = self.root / f"{relative}.dvc"
        if md5 is None or size is None:
            if dvc_file.exists():
                self._git("rm", "--quiet", "--", f"{relative}.dvc")
        else:
            dvc_file.write_text(dvc_file_text(md5, size, Path(relative).name))
            self._git("add", "--", f"{relative}.dvc")
        if not self._git_ok("diff", "--cached", "--quiet"):
            self._git("commit", "--quiet", "-m", note)

    def delete_tag(self, tag: str) -> None:
        if self.tag_exists(tag):
            self._git("tag", "-d", tag)

    # -- objects ------------------------------------------------------------------------------------------------
    def adopt(self, staged: Path, md5: str) -> Path:
        """Move a staged, hashed file into the DVC cache (read-only, like DVC's protected cache)."""
        target = self.cache_path(md5)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            staged.unlink(missing_ok=True)  # same bytes already stored (content-addressed)
        else:
            os.replace(staged, target)
        target.chmod(0o444)
        return target

    def _remote_odb(self) -> Any:
        from dvc.repo import Repo

        try:
            with Repo(str(self.root)) as repo:
                return repo.cloud.get_remote_odb(REMOTE_NAME)
        except Exception as exc:  # noqa: BLE001 - DVC raises many types; one line for the user
            raise RepositoryError(f"DVC remote '{REMOTE_NAME}' is not usable: {type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else ''}") from None

    def push(self, md5: str) -> None:
        """Send one cached object to the remote. A local remote gets a hard link when it shares the filesystem
        (both copies are read-only and content-addressed), else a copy; other remotes go through DVC's fs."""
        source = self.cache_path(md5)
        odb = self._remote_odb()
        remote_path = odb.oid_to_path(md5)
        try:
            if odb.fs.exists(remote_path):
                return
            if type(odb.fs).__name__ == "LocalFileSystem":
                _link_or_copy(source, Path(remote_path))
            else:
                odb.fs.put_file(str(source), remote_path)
        except Exception as exc:  # noqa: BLE001
            raise RepositoryError(f"cannot push to the DVC remote: {type(exc).__name__}: "
                                  f"{_first(exc)}") from None

    def fetch(self, md5: str) -> Path:
        """The cached object, fetched from the remote first when the cache lacks it (a fresh replica, a cleaned
        cache). The fetched bytes are checked against the md5 before they enter the cache."""
        target = self.cache_path(md5)
        if target.exists():
            return target
        from catalog.parquet_io import hash_file

        odb = self._remote_odb()
        partial = self.staging_dir() / f"fetch-{md5}-{os.getpid()}"
        try:
            odb.fs.get_file(odb.oid_to_path(md5), str(partial))
        except Exception as exc:  # noqa: BLE001
            partial.unlink(missing_ok=True)
            raise RepositoryError(f"cannot fetch version {md5[:12]} from the DVC remote: {type(exc).__name__}: "
                                  f"{_first(exc)}") from None
        if hash_file(partial).md5 != md5:
            partial.unlink(missing_ok=True)
            raise RepositoryError(f"the DVC remote holds corrupted bytes for {md5[:12]}")
        return self.adopt(partial, md5)

    def remote_has(self, md5: str) -> bool:
        odb = self._remote_odb()
        try:
            return bool(odb.fs.exists(odb.oid_to_path(md5)))
        except Exception:  # noqa: BLE001
            return False


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{os.getpid()}.tmp")
    try:
        os.link(source, partial)
    except OSError:
        shutil.copyfile(source, partial)
    os.replace(partial, target)


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""
