"""The Ray executor (``e2ebench run --executor ray``): every cell as a Ray task, records written by the driver.

Ray is in the ``test`` extra, so CI always runs these tests: there a missing Ray is an error, not a skip.
One local Ray instance (2 CPUs, no dashboard) serves the whole module; the pure helpers need none.
"""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest
from typer.testing import CliRunner

from suite.cli import app
from suite.ray_executor import (INSTALL_HINT, RayUnavailable, cell_slots, require_ray, resolve_address, unreachable,
                                worker_pythonpath)
from suite.store import Store

try:
    import ray
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("CI"):
        raise ImportError("Ray is not installed, but CI must run the Ray executor's tests: install the test extra "
                          "(pip install -e '.[tf,test]'), which includes ray") from None
    ray = None

needs_ray = pytest.mark.skipif(ray is None, reason="Ray is not installed (pip install -e '.[ray]'); CI=1 makes this an error")
runner = CliRunner()

HOSTILE = '''
import os
from suite import registry
from suite.api import Regime


@registry.regimes.register
class ExitNow(Regime):
    """Ends its Ray worker's process mid-cell, as a crash or the out-of-memory killer would (a test fixture)."""
    name = "exit-now"
    version = "1.0"
    description = "calls os._exit(1) while training"
    citation = "none"

    def train(self, ctx):
        os._exit(1)
'''

HOSTILE_SUITE = '''
[suite]
name = "ray-hostile"
version = "1.0"
seeds = [0]

[[tasks]]
name = "digits-mlp"
params = { depth = 2, width = 16 }
budget = { epochs = 1 }

[[regimes]]
name = "e2e"

[[regimes]]
name = "exit-now"

[metrics.probe]
enabled = false
'''


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance for this module; the executor uses a driver's existing connection and leaves it open."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="warning")  # never a cluster found running
    try:
        yield
    finally:
        ray.shutdown()


def _run(*args: str) -> tuple[int, str]:
    out = runner.invoke(app, ["run", *args, "--no-progress"])
    return out.exit_code, out.output


def _result_hashes(root) -> dict[str, str | None]:
    return {r.cell_hash: r.result_hash for r in Store(root)}


@needs_ray
def test_ray_runs_every_cell_like_the_local_executor_resumes_and_survives_a_dying_worker(tmp_path, local_ray):
    """The ci suite on Ray: every cell ran (2 at once), the records' result hashes equal the local executor's,
    a rerun reuses every cell; then a regime that kills its Ray worker leaves a failed record, the other cell finishes."""
    code, output = _run("ci", "--executor", "ray", "--results", str(tmp_path / "ray"))
    assert code == 0, output
    assert "ran 6, reused 0" in output
    code, output = _run("ci", "--results", str(tmp_path / "local"))
    assert code == 0, output
    on_ray, local = _result_hashes(tmp_path / "ray"), _result_hashes(tmp_path / "local")
    assert len(on_ray) == 6 and on_ray == local
    assert {r.provenance.threads for r in Store(tmp_path / "ray")} == {1}
    assert not list((tmp_path / "ray" / "records").glob(".tmp-*"))  # written atomically, by the driver alone

    code, output = _run("ci", "--executor", "ray", "--results", str(tmp_path / "ray"))
    assert code == 0, output
    assert "ran 0, reused 6" in output

    plugin, suite = tmp_path / "exit_now.py", tmp_path / "hostile.toml"
    plugin.write_text(HOSTILE)
    suite.write_text(HOSTILE_SUITE)
    code, output = _run(str(suite), "--executor", "ray", "--results", str(tmp_path / "hostile"), "--plugin", str(plugin))
    assert code == 1, output
    assert "Traceback" not in output
    records = {r.regime_label: r for r in Store(tmp_path / "hostile")}
    assert records["exit-now"].status == "failed" and "Ray worker running this cell died" in records["exit-now"].error
    assert records["e2e"].status == "ok"


def test_a_missing_ray_is_one_clear_line_before_any_cell(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(RayUnavailable, match="pip install"):
        require_ray()
    code, output = _run("ci", "--executor", "ray", "--results", str(tmp_path / "res"))
    assert code == 2
    assert f"error: {INSTALL_HINT}" in output
    assert not (tmp_path / "res").exists()  # nothing planned, trained or written


def test_ray_options_are_checked_against_the_executor(tmp_path):
    code, output = _run("ci", "--gpus-per-cell", "0.5", "--results", str(tmp_path / "res"))
    assert code == 2 and "only with --executor ray" in output
    if ray is not None:
        code, output = _run("ci", "--executor", "ray", "--jobs", "2", "--results", str(tmp_path / "res"))
        assert code == 2 and "--jobs is for the local executor" in output
        code, output = _run("ci", "--executor", "ray", "--gpus-per-cell", "1.5", "--results", str(tmp_path / "res"))
        assert code == 2 and "whole number of GPUs" in output


def test_the_address_is_the_option_then_ray_address_then_a_local_instance():
    assert resolve_address("head:6379", {"RAY_ADDRESS": "other:6379"}) == "head:6379"
    assert resolve_address(None, {"RAY_ADDRESS": "other:6379"}) == "other:6379"
    assert resolve_address(None, {}) == "local"


def test_an_address_where_nothing_listens_is_reported_at_once():
    """Ray would retry such an address for minutes; the executor says so first (loopback only)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert unreachable(f"127.0.0.1:{port}") is None
    assert unreachable(f"127.0.0.1:{port}") is not None  # closed now
    assert unreachable("auto") is None and unreachable("ray://127.0.0.1:10001") is None  # Ray resolves those


def test_cells_at_once_follow_the_cluster_resources():
    assert cell_slots({"CPU": 2.0}, 1.0, 0.0) == 2
    assert cell_slots({"CPU": 16.0, "GPU": 1.0}, 1.0, 0.25) == 4  # four cells share the GPU
    assert cell_slots({"CPU": 2.0, "GPU": 4.0}, 1.0, 1.0) == 2
    assert cell_slots({"CPU": 8.0}, 1.0, 0.5) == 0  # a GPU cell on a cluster without GPUs
    assert cell_slots({"CPU": 0.3}, 0.1, 0.0) == 3  # no floating-point shortfall


def test_workers_import_the_drivers_code(tmp_path):
    checkout, installed = str(tmp_path / "checkout"), str(tmp_path / "site-packages")
    assert worker_pythonpath({}, checkout) == checkout  # a source checkout: its root goes on the path
    assert worker_pythonpath({"PYTHONPATH": f"/a{os.pathsep}{checkout}"}, checkout) == f"/a{os.pathsep}{checkout}"
    assert worker_pythonpath({}, installed, [installed]) is None  # an installed package: workers find it themselves
    assert worker_pythonpath({"PYTHONPATH": "/a"}, installed, [installed]) == "/a"


def test_a_record_travels_back_as_json_and_is_checked(store):
    """What the worker sends is the record's JSON; the driver refuses one that does not verify."""
    from conftest import make_suite
    from suite.plan import plan
    from suite.ray_executor import _portable, _received
    from suite.records import SuiteRef
    from suite.runner import failed_record

    suite = make_suite('[[tasks]]\nname = "digits-mlp"\n\n[[regimes]]\nname = "e2e"\n')
    cell = plan(suite)[0]
    ref = SuiteRef(name=suite.name, version=suite.version, sha256=suite.sha256)
    record = failed_record(cell, ref, "a stand-in record")
    back = _received(_portable(record), cell, ref)
    assert back == record
    tampered = json.loads(_portable(record))
    tampered["error"] = "edited on the way"
    refused = _received(json.dumps(tampered), cell, ref)
    assert refused.status == "failed" and "does not verify" in refused.error
