"""LaTeX tables that compile with pdflatex: booktabs rules, ``$\\pm$`` intervals, leaders in bold, ASCII only.

The output is a ``tabular`` to ``\\input`` into a document that loads ``booktabs`` (and ``siunitx`` for
``siunitx=True``). Rules of the table:

* one row per task x regime, the task named on its first row, a ``\\midrule`` between tasks;
* a cell is ``mean $\\pm$ half-width (n=...; notes)``, as in the Markdown table (``suite.tables``);
* the leaders of each task on each score are in bold (:func:`suite.tables.leaders`: the best mean in the
  score's declared direction, and every row the protocol's one-sided test over seeds cannot call worse);
* every character is ASCII: labels are escaped (``_ % & # $ { } ~ ^ \\``) and symbols (arrows, ``×``, ``±``,
  ``≥``, ``−``, dashes) become their LaTeX commands, so no ``inputenc`` or Unicode engine is needed.

With ``siunitx`` each score takes two columns: an ``S`` column that aligns the mean and its uncertainty
on the decimal point, and a column for the notes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from suite.scores import Score, score_of

if TYPE_CHECKING:
    from suite.tables import CellParts, Row

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}
_SYMBOLS = {"↑": r"$\uparrow$", "↓": r"$\downarrow$", "→": r"$\rightarrow$", "←": r"$\leftarrow$", "×": r"$\times$",
            "±": r"$\pm$", "≥": r"$\geq$", "≤": r"$\leq$", "≈": r"$\approx$", "−": r"$-$", "—": "---", "–": "--",
            "…": r"\ldots{}", "·": r"$\cdot$", "°": r"$^\circ$", "µ": r"$\mu$", "μ": r"$\mu$", "τ": r"$\tau$",
            "ρ": r"$\rho$", "σ": r"$\sigma$", "‘": "`", "’": "'", "“": "``", "”": "''", "\u00a0": "~"}
ARROWS = {"higher": r" $\uparrow$", "lower": r" $\downarrow$"}


def escape(text: str) -> str:
    """``text`` as LaTeX source in ASCII: special characters escaped, known symbols as commands, accented
    letters without their accents, and any other non-ASCII character as ``?``."""
    out = []
    for ch in str(text):
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ch in _SYMBOLS:
            out.append(_SYMBOLS[ch])
        elif ch.isascii():
            out.append(ch)
        else:
            plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
            out.append(escape(plain) if plain else "?")
    return "".join(out)


def header(score: Score) -> str:
    """A score's column header: its name and an arrow for its better direction."""
    return escape(score.name) + ARROWS.get(score.direction, "")


def _text_cell(parts: CellParts, bold: bool) -> str:
    if parts.word is not None:
        return escape(parts.word)
    number = parts.mean if parts.half_width is None else f"{parts.mean} $\\pm$ {parts.half_width}"
    return (f"\\textbf{{{number}}}" if bold else number) + f" ({escape(parts.notes)})"


def _si_cells(parts: CellParts, bold: bool) -> tuple[str, str]:
    """The ``S`` cell (number and uncertainty, or a braced word) and the notes cell."""
    if parts.word is not None:
        return f"{{{escape(parts.word)}}}", ""
    number = parts.mean if parts.half_width is None else f"{parts.mean} \\pm {parts.half_width}"
    return (f"\\bfseries {number}" if bold else number), f"({escape(parts.notes)})"


def _decimals(score: Score) -> int:
    match = re.search(r"\.(\d+)f", score.fmt)
    return int(match.group(1)) if match else 0


def _table_format(column: Sequence[CellParts], score: Score) -> str:
    """siunitx's ``table-format`` for a column: integer digits, decimals and uncertainty digits (compact form)."""
    decimals = _decimals(score)
    numbers = [p for p in column if p.word is None and p.mean is not None]
    integers = max((len(p.mean.lstrip("-").split(".")[0]) for p in numbers), default=1)
    sign = "-" if any(p.mean.startswith("-") for p in numbers) else ""
    digits = [len(str(int(round(float(p.half_width) * 10**decimals)))) for p in numbers if p.half_width is not None]
    uncertainty = f"({max(digits)})" if digits else ""
    return f"{sign}{integers}.{decimals}{uncertainty}" if decimals else f"{sign}{integers}{uncertainty}"


def latex_table(rows: Sequence[Row], metrics: Sequence[str], siunitx: bool = False) -> str:
    """The rows as a booktabs ``tabular`` (see the module docstring)."""
    from suite.tables import SUMMARY_FMT, cell_parts, leaders, summary_columns

    scores = [score_of(m) for m in metrics]
    tuned = any(r.tuned for r in rows)
    bold = {s.name: leaders(rows, s.name) for s in scores}
    parts = {s.name: [cell_parts(r.metrics[s.name], s) for r in rows] for s in scores}
    if siunitx:
        spec = "ll" + "".join(f"S[table-format={_table_format(parts[s.name], s)},separate-uncertainty,detect-weight,"
                              f"mode=text]@{{\\,}}l" for s in scores)
        heads = [f"\\multicolumn{{2}}{{c}}{{{header(s)}}}" for s in scores]
    else:
        spec = "ll" + "l" * len(scores)
        heads = [header(s) for s in scores]
    summaries = summary_columns(rows)
    spec += "r" * len(summaries) + ("l" if tuned else "")
    heads += [escape(c) + r" $\uparrow$" for c in summaries]
    lines = [f"\\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(["task", "regime", *heads, *(["tuned"] if tuned else [])]) + r" \\", r"\midrule"]
    previous = None
    for i, r in enumerate(rows):
        if previous is not None and r.task != previous:
            lines.append(r"\midrule")
        cells = [escape(r.task) if r.task != previous else "", escape(r.regime_text)]
        previous = r.task
        for s in scores:
            p, b = parts[s.name][i], i in bold[s.name]
            cells += list(_si_cells(p, b)) if siunitx else [_text_cell(p, b)]
        cells += [f"{r.summaries[c]:{SUMMARY_FMT}}" if c in r.summaries else "" for c in summaries]
        if tuned:
            cells.append(escape(r.tuned))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    text = "\n".join(lines)
    assert text.isascii(), "LaTeX output must be ASCII"
    return text
