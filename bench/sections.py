"""Writing a benchmark's measured section into a Markdown file, between its script's markers."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, section: str, start: str, end: str) -> None:
    """Replace the text between ``start`` and ``end`` in ``path`` with ``section`` (append the markers if missing)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{start}\n{section}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block + "\n"
    path.write_text(text, encoding="utf-8")
