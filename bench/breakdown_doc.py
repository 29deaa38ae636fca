"""Write the measured numbers of docs/breakdown.md from the committed breakdown leaderboards.

    python bench/breakdown_doc.py           # rewrite the block between the markers in docs/breakdown.md
    python bench/breakdown_doc.py --check   # exit 1 if the block differs from what the records give

The block is generated from ``leaderboard/breakdown-<version>/`` and ``leaderboard/breakdown-layerwise-<version>/``
(their manifests and records, verified against the manifests' hashes); nothing in it is typed by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "breakdown.md"
LEADERBOARDS = ("breakdown-1.0", "breakdown-layerwise-1.0")


def generated_block(root: Path = ROOT) -> str:
    """The measured block from the committed leaderboards (the layer-wise one adds only its own regimes)."""
    from suite import leaderboard
    from suite.reports.breakdown import analyze, measured_block

    sources = {name: leaderboard.load(root / "leaderboard" / name).results for name in LEADERBOARDS}
    main, layerwise = (sources[name] for name in LEADERBOARDS)
    known = {(r.cell_hash) for r in main}
    merged = main + layerwise.where(lambda r: r.cell_hash not in known)
    return measured_block(analyze(merged), sources)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if docs/breakdown.md is stale")
    args = parser.parse_args(argv)
    from suite.reports.breakdown import replace_block

    text = DOC.read_text(encoding="utf-8")
    new = replace_block(text, generated_block())
    if args.check:
        if new != text:
            print(f"{DOC.relative_to(ROOT)}: the measured block is out of date; run `python bench/breakdown_doc.py`", file=sys.stderr)
            return 1
        print(f"{DOC.relative_to(ROOT)}: the measured block matches the records")
        return 0
    DOC.write_text(new, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
