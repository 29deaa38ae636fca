"""Commands that need no task code answer without importing a backend: `--help`, `list suites`, and
`validate` of a file with a TOML error (measured in README.md, "Performance")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import sys
from suite.cli import main
sys.argv[0] = "e2ebench"
sys.argv[1:] = {args!r}
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("exit", code, "imported", sorted(m for m in ("keras", "tensorflow", "jax", "torch", "ray") if m in sys.modules))
"""


def _cli(*args: str) -> str:
    """Run the command line in a fresh interpreter; its output ends with the exit code and the backends imported."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=list(args))], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return out.stdout + out.stderr


@pytest.mark.parametrize("args, code, says", [
    (["--help"], 0, "Usage: e2ebench"),
    (["list", "suites"], 0, "tiny smoke suite"),
    (["run", "--help"], 0, "--executor"),
])
def test_commands_without_task_code_import_no_backend(args, code, says):
    output = _cli(*args)
    assert says in output
    assert f"exit {code} imported []" in output


def test_validate_reports_a_toml_error_without_a_backend(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[suite\nname = "x"\n')
    output = _cli("validate", str(bad))
    assert "TOML syntax error" in output
    assert "exit 2 imported []" in output


def test_list_suites_counts_cells_as_the_resolved_suite_does():
    from suite.spec import load_suite, shipped_suites, summarize_suite

    for name in shipped_suites():
        s, full = summarize_suite(name), load_suite(name)
        assert (s.name, s.version, s.description) == (full.name, full.version, full.description)
        assert s.cells == len(full.tasks) * len(full.regimes) * len(full.seeds) * full.n_trials, name
