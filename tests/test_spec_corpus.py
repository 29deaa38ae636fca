"""A corpus of malformed suite files: each must give one SpecError naming the file and the field.

Every case is written to a file and loaded through ``suite.spec.load_suite``, as the CLI does. Run as
``python tests/test_spec_corpus.py`` to print ``clear errors / tracebacks / accepted`` counts.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

from suite.spec import MAX_FILE_BYTES, SpecError, load_suite

GOOD = """\
[suite]
name = "corpus"
version = "1.0"
seeds = [0, 1]

[[tasks]]
name = "digits-mlp"
params = { depth = 2, width = 16 }
budget = { epochs = 3, learning_rate = 0.001 }

[[regimes]]
name = "e2e"

[[regimes]]
name = "layerwise"
params = { detach = true }

[metrics.probe]
probe_size = 100
"""


def edit(old: str, new: str) -> str:
    """GOOD with ``old`` replaced by ``new`` (``old`` must occur, so no case silently tests GOOD)."""
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def regimes(n: int) -> str:
    return "".join(f'\n[[regimes]]\nname = "e2e"\nlabel = "e2e-{i}"\n' for i in range(n))


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    content: str | bytes
    expect: tuple[str, ...]  # fragments the message must contain (besides the file's name)


def case(id: str, content: str | bytes, *expect: str) -> Case:
    return Case(id, content, expect)


CASES = [
    # bytes and structure
    case("non-utf8-byte", GOOD.replace("corpus", "caf\xe9").encode("latin-1"), "(file)", "not UTF-8", "0xe9", "line 2"),
    case("utf16-bom", GOOD.encode("utf-16"), "(file)", "UTF-16", "UTF-8"),
    case("utf16-no-bom", GOOD.encode("utf-16-be"), "(file)", "NUL byte"),
    case("nul-byte", GOOD + "\x00\n", "(file)", "NUL byte", "line 20"),
    case("empty-file", "", "(file)", "no settings", "[suite]"),
    case("only-a-comment", "# nothing here\n", "(file)", "no settings"),
    case("only-whitespace", "\n\n   \n\t\n", "(file)", "no settings"),
    case("deep-arrays", "a = " + "[" * 5000 + "]" * 5000 + "\n", "(file)", "nested too deeply"),
    case("deep-inline-tables", "a = " + "{ b = " * 3000 + "1" + " }" * 3000 + "\n", "(file)", "nested too deeply"),
    case("nested-params", edit("depth = 2,", "depth = " + "[" * 20 + "]" * 20 + ","), "tasks[0].params.depth", "nested too deeply", "16"),
    case("huge-file", GOOD + "# " + "x" * (MAX_FILE_BYTES + 10) + "\n", "(file)", "larger than", "KiB"),
    case("million-seeds", edit("seeds = [0, 1]", "seeds = [" + ",".join(map(str, range(1_300_000))) + "]"), "(file)", "larger than"),
    case("too-many-seeds", edit("seeds = [0, 1]", "seeds = [" + ",".join(map(str, range(5000))) + "]"), "suite.seeds", "at most 1000 seeds", "5000"),
    case("toml-syntax-error", "[suite\nname = 'x'\n", "TOML syntax error", "line 1"),
    case("impossible-date", edit('version = "1.0"', "version = 1979-02-30"), "TOML syntax error"),
    case("date-value", edit('version = "1.0"', "version = 1979-05-27"), "suite.version", "dates and times", "quote it"),
    case("control-char", edit('name = "corpus"', 'name = "corpus"\ndescription = "bell\\u0007"'), "suite.description", "control character"),
    case("suite-as-array", GOOD.replace("[suite]", "[[suite]]"), "suite:", "dictionary"),
    case("tasks-as-string", 'tasks = "digits-mlp"\n' + GOOD.replace("[[tasks]]\nname = \"digits-mlp\"\nparams = { depth = 2, width = 16 }\nbudget = { epochs = 3, learning_rate = 0.001 }\n", ""), "tasks:", "list"),
    case("params-not-a-table", edit("params = { depth = 2, width = 16 }", "params = 3"), "tasks[0].params", "dictionary"),
    # strings and booleans are not numbers
    case("epochs-string", edit("epochs = 3", 'epochs = "1"'), "tasks[0].budget.epochs", "valid integer", "'1'"),
    case("epochs-float", edit("epochs = 3", "epochs = 3.0"), "tasks[0].budget.epochs", "valid integer"),
    case("epochs-bool", edit("epochs = 3", "epochs = true"), "tasks[0].budget.epochs", "valid integer", "True"),
    case("seed-bool", edit("seeds = [0, 1]", "seeds = [true]"), "suite.seeds[0]", "valid integer"),
    case("seed-string", edit("seeds = [0, 1]", 'seeds = ["0"]'), "suite.seeds[0]", "valid integer", "'0'"),
    case("seed-float", edit("seeds = [0, 1]", "seeds = [0.0]"), "suite.seeds[0]", "valid integer"),
    case("learning-rate-string", edit("learning_rate = 0.001", 'learning_rate = "1e-3"'), "tasks[0].budget.learning_rate", "valid number", "'1e-3'"),
    case("learning-rate-bool", edit("learning_rate = 0.001", "learning_rate = true"), "tasks[0].budget.learning_rate", "valid number"),
    case("regime-bool-param-string", edit("detach = true", 'detach = "no"'), "regimes[1].params.detach", "valid boolean", "'no'"),
    case("regime-bool-param-int", edit("detach = true", "detach = 1"), "regimes[1].params.detach", "valid boolean"),
    case("task-int-param-string", edit("depth = 2", 'depth = "2"'), "tasks[0].params.depth", "valid integer", "'2'"),
    case("probe-enabled-string", edit("probe_size = 100", 'probe_size = 100\nenabled = "yes"'), "metrics.probe.enabled", "valid boolean"),
    case("probe-size-float", edit("probe_size = 100", "probe_size = 100.0"), "metrics.probe.probe_size", "valid integer"),
    # non-finite numbers
    case("learning-rate-inf", edit("learning_rate = 0.001", "learning_rate = inf"), "tasks[0].budget.learning_rate", "finite"),
    case("learning-rate-nan", edit("learning_rate = 0.001", "learning_rate = nan"), "tasks[0].budget.learning_rate", "finite"),
    case("learning-rate-overflow", edit("learning_rate = 0.001", "learning_rate = 1e999"), "tasks[0].budget.learning_rate", "finite"),
    case("regime-param-inf", GOOD + '\n[[regimes]]\nname = "forward-forward"\nparams = { threshold = inf }\n', "regimes[2].params.threshold", "finite"),
    case("regime-param-nan", GOOD + '\n[[regimes]]\nname = "direct-feedback-alignment"\nparams = { feedback_scale = -nan }\n', "regimes[2].params.feedback_scale", "finite"),
    case("probe-sigma-nan", edit("probe_size = 100", "probe_size = 100\nsigma = nan"), "metrics.probe.sigma", "finite"),
    # bounds, each with its cap in the message
    case("epochs-over-cap", edit("epochs = 3", "epochs = 20000"), "tasks[0].budget.epochs", "10000"),
    case("epochs-negative", edit("epochs = 3", "epochs = -1"), "tasks[0].budget.epochs", "greater than 0", "-1"),
    case("batch-size-over-cap", edit("epochs = 3", "epochs = 3, batch_size = 2000000"), "tasks[0].budget.batch_size", "1000000"),
    case("learning-rate-over-cap", edit("learning_rate = 0.001", "learning_rate = 100"), "tasks[0].budget.learning_rate", "10"),
    case("seed-over-2**32", edit("seeds = [0, 1]", "seeds = [4294967296]"), "suite.seeds[0]", "4294967295"),
    case("seed-negative", edit("seeds = [0, 1]", "seeds = [-1]"), "suite.seeds[0]", "greater than or equal to 0"),
    case("seeds-duplicate", edit("seeds = [0, 1]", "seeds = [1, 1]"), "suite.seeds", "distinct"),
    case("seeds-empty", edit("seeds = [0, 1]", "seeds = []"), "suite.seeds", "at least 1"),
    case("too-many-cells", edit("seeds = [0, 1]", "seeds = [" + ",".join(map(str, range(1000))) + "]") + regimes(99), "(top level)", "101000 cells", "100000"),
    case("too-many-regimes", GOOD + regimes(1001), "regimes", "at most 1000 [[regimes]] entries"),
    case("probe-size-over-cap", edit("probe_size = 100", "probe_size = 20000"), "metrics.probe.probe_size", "10000"),
    case("probe-size-over-test-split", edit("name = \"digits-mlp\"\nparams = { depth = 2, width = 16 }", "name = \"sparse-parity\"\nparams = { test_size = 60 }"),
         "metrics.probe.probe_size", "100 is more than the 60 test examples", "tasks[0]"),
    case("probe-every-zero", edit("probe_size = 100", "probe_size = 100\nevery = 0"), "metrics.probe.every", "1..10000"),
    # report sections
    case("unknown-report-section", GOOD + '\n[report]\nsections = ["tabel"]\n', "report.sections[0]", "unknown report section 'tabel'", "did you mean 'table'"),
    case("duplicate-report-section", GOOD + '\n[report]\nsections = ["table", "table"]\n', "report.sections[1]", "listed twice"),
    case("no-report-sections", GOOD + "\n[report]\nsections = []\n", "report.sections", "at least 1"),
    # names and labels
    case("suite-name-300-chars", edit('name = "corpus"', f'name = "{"a" * 300}"'), "suite.name", "should match pattern"),
    case("suite-name-slash", edit('name = "corpus"', 'name = "a/b"'), "suite.name", "should match pattern"),
    case("suite-name-dot-dot", edit('name = "corpus"', 'name = "a..b"'), "suite.name", "'..'"),
    case("suite-name-parent", edit('name = "corpus"', 'name = "../up"'), "suite.name", "should match pattern"),
    case("suite-name-nul", edit('name = "corpus"', 'name = "a\\u0000b"'), "suite.name", "control character"),
    case("suite-name-space", edit('name = "corpus"', 'name = "my suite"'), "suite.name", "should match pattern"),
    case("suite-name-unicode-digits", edit('name = "corpus"', 'name = "\u0661\u0662"'), "suite.name", "should match pattern"),
    case("label-pipe", edit('name = "e2e"', 'name = "e2e"\nlabel = "a|b"'), "regimes[0].label", "'|'"),
    case("label-newline", edit('name = "e2e"', 'name = "e2e"\nlabel = "a\\nb"'), "regimes[0].label", "'\\n'"),
    case("label-too-long", edit('name = "e2e"', f'name = "e2e"\nlabel = "{"x" * 200}"'), "regimes[0].label", "120 characters"),
    case("label-empty", edit('name = "e2e"', 'name = "e2e"\nlabel = ""'), "regimes[0].label", "empty"),
    case("generated-task-label-pipe", edit("name = \"digits-mlp\"\nparams = { depth = 2, width = 16 }", "name = \"tfds-image\"\nparams = { train_split = \"train|x\" }"),
         "tasks[0].params", "label", "'|'"),
    # the kinds that always failed cleanly
    case("unknown-field-close-match", edit("seeds = [0, 1]", "seeds = [0, 1]\nseed = 3"), "suite.seed: unknown field; did you mean 'seeds'?"),
    case("unknown-table", GOOD.replace("[metrics.probe]", "[metric.probe]"), "metric: unknown field; did you mean 'metrics'?"),
    case("wrong-type", edit("depth = 2", 'depth = "deep"'), "tasks[0].params.depth", "'deep'"),
    case("unknown-task", edit('name = "digits-mlp"', 'name = "digit-mlp"'), "tasks[0].name: unknown task 'digit-mlp'; did you mean 'digits-mlp'"),
    case("unknown-regime", edit('name = "layerwise"', 'name = "layerwize"'), "regimes[1].name: unknown regime 'layerwize'; did you mean 'layerwise'"),
    case("unknown-task-param", edit("depth = 2", "detph = 2"), "tasks[0].params.detph: unknown field; did you mean 'depth'?"),
    case("bad-version", edit('version = "1.0"', 'version = "one"'), "suite.version", "'one'"),
    case("missing-regimes", GOOD.split("[[regimes]]")[0], "regimes: required field is missing"),
    case("same-regime-twice", GOOD + '\n[[regimes]]\nname = "e2e"\n', "labelled 'e2e'", "distinct 'label'"),
    case("same-task-twice", GOOD + '\n[[tasks]]\nname = "digits-mlp"\nparams = { depth = 2, width = 16 }\n', "tasks:", "listed twice"),
    case("description-too-long", edit('name = "corpus"', f'name = "corpus"\ndescription = "{"d" * 3000}"'), "suite.description", "2000 characters"),
]


def write(tmp: Path, c: Case) -> Path:
    path = tmp / f"{c.id}.toml"
    if isinstance(c.content, bytes):
        path.write_bytes(c.content)
    else:
        path.write_text(c.content, encoding="utf-8", newline="")
    return path


def outcome(path: Path, c: Case) -> tuple[str, str]:
    """``("clear" | "unclear" | "traceback" | "accepted", detail)`` for one case."""
    try:
        load_suite(path)
    except SpecError as exc:
        msg = str(exc)
        missing = [f for f in (str(path), *c.expect) if f not in msg]
        return ("unclear", f"missing {missing} in:\n{msg}") if missing else ("clear", msg)
    except BaseException as exc:  # noqa: BLE001 - exactly what the corpus looks for
        return "traceback", f"{type(exc).__name__}: {str(exc)[:200]}"
    return "accepted", ""


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_malformed_suite_gives_one_clear_spec_error(tmp_path, c):
    kind, detail = outcome(write(tmp_path, c), c)
    assert kind == "clear", detail
    assert detail.splitlines()[0] == f"{tmp_path / c.id}.toml: invalid suite file"


def test_a_million_seeds_are_rejected_within_a_second(tmp_path):
    path = tmp_path / "seeds.toml"
    path.write_text(edit("seeds = [0, 1]", "seeds = [" + ", ".join(map(str, range(1_300_000))) + "]"))
    start = time.perf_counter()
    with pytest.raises(SpecError, match="larger than 256 KiB"):
        load_suite(path)
    assert time.perf_counter() - start < 1.0


def test_the_good_file_loads_and_an_integer_is_a_valid_float(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    suite = load_suite(path)
    assert [r.label for r in suite.regimes] == ["e2e", "layerwise"]
    path.write_text(edit("learning_rate = 0.001", "learning_rate = 1"))
    budget = load_suite(path).tasks[0].budget
    assert budget.learning_rate == 1.0 and budget.model_dump(mode="json")["learning_rate"] == 1.0
    path.write_text(edit("learning_rate = 0.001", "learning_rate = 1.0"))
    assert load_suite(path).tasks[0].budget.model_dump(mode="json") == budget.model_dump(mode="json")


def test_crlf_and_a_utf8_bom_load_like_the_plain_file(tmp_path):
    plain, crlf, bom = tmp_path / "plain.toml", tmp_path / "crlf.toml", tmp_path / "bom.toml"
    plain.write_bytes(GOOD.encode())
    crlf.write_bytes(GOOD.replace("\n", "\r\n").encode())
    bom.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_suite(crlf).sha256 == load_suite(bom).sha256 == load_suite(plain).sha256


def test_labels_may_hold_brackets_equals_commas_and_spaces(tmp_path):
    path = tmp_path / "labels.toml"
    path.write_text(edit('name = "e2e"', 'name = "e2e"\nlabel = "e2e [lr=3, again]"'))
    assert load_suite(path).regimes[0].label == "e2e [lr=3, again]"


def test_cli_validate_of_a_bad_file_is_one_error_line_and_exit_code_2(tmp_path):
    from typer.testing import CliRunner

    from suite.cli import app

    path = write(tmp_path, next(c for c in CASES if c.id == "deep-arrays"))
    result = CliRunner().invoke(app, ["validate", str(path)])
    text = result.output if "error:" in result.output else result.stderr  # Click >= 8.2 mixes stderr into output
    assert result.exit_code == 2, text
    assert sum(line.startswith("error:") for line in text.splitlines()) == 1, text
    assert "Traceback" not in text and f"error: {path}: invalid suite file" in text


def main() -> int:
    """Run the corpus and print the counts; exit 1 unless every case is a clear error."""
    counts = {"clear": 0, "unclear": 0, "traceback": 0, "accepted": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for c in CASES:
            kind, detail = outcome(write(Path(tmp), c), c)
            counts[kind] += 1
            if kind != "clear":
                print(f"{c.id}: {kind} {detail}")
    print(f"{len(CASES)} cases: clear errors {counts['clear']} / tracebacks {counts['traceback']} / accepted {counts['accepted']}"
          + (f" / unclear {counts['unclear']}" if counts["unclear"] else ""))
    return 0 if counts["clear"] == len(CASES) else 1


if __name__ == "__main__":
    sys.exit(main())
