"""File names derived from labels: one rule for figures, report files and leaderboard entries."""

from __future__ import annotations

import re

MAX_STEM = 120


def slug(text: str, fallback: str = "item") -> str:
    """A file-name-safe form of ``text``: runs of anything but letters, digits, ``_``, ``.`` and ``-``
    become one ``-``; never empty, never starting with a dot, at most :data:`MAX_STEM` characters."""
    out = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:MAX_STEM].strip("-.")
    return out or fallback
