"""Provenance facts written into every record: code hashes, git commit, platform."""

from __future__ import annotations

import functools
import hashlib
import inspect
import platform
import subprocess
from pathlib import Path


def code_hash(cls: type) -> str:
    """sha256 of the source file that defines ``cls`` (changes whenever its code changes); for a stand-in
    of an untrusted regime, of the file it came from."""
    if isinstance(getattr(cls, "code_sha256", None), str):
        return cls.code_sha256  # type: ignore[attr-defined]
    try:
        source = Path(inspect.getfile(cls)).read_bytes()
    except (TypeError, OSError):
        source = repr(cls).encode()
    return hashlib.sha256(source).hexdigest()


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the e2ebench checkout in use (``+dirty`` if it has local changes), or None."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


@functools.lru_cache(maxsize=1)
def platform_string() -> str:
    """OS, machine and Python implementation, e.g. ``Linux-6.1-x86_64 CPython 3.11.7``."""
    return f"{platform.platform(terse=True)}-{platform.machine()} {platform.python_implementation()} {platform.python_version()}"
