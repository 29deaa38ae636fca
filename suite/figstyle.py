"""The one style of every figure e2ebench draws: widths, fonts, regime styles, legends, files.

* **Widths.** ``"single"`` (one column of a two-column paper, :data:`WIDTHS`) or ``"double"`` (the full
  text width); a figure is drawn at exactly that width, so it goes into a paper at scale 1 and its text
  keeps the sizes set here.
* **Text** is at least :data:`FONT_SIZE` points everywhere (titles, labels, ticks, legends).
* **Regimes** are told apart by colour *and* line style *and* marker (:func:`regime_styles`), so a
  figure reads in greyscale. The colours are Okabe and Ito's colour-blind-safe palette, with its
  yellow (faint on white) replaced by grey. Styles are assigned by the suite's regime order, so a
  regime looks the same in every figure of a suite, whichever regimes a figure shows.
* **Legends** sit outside the axes (:func:`legend_outside`), axes have no top or right spine, and
  the layout is matplotlib's constrained layout.
* **Files**: :func:`save` writes PDF (TrueType fonts embedded, ``pdf.fonttype = 42``) and PNG side by side.

The settings are matplotlib rcParams applied by the context manager :func:`style`; importing this
module changes nothing. Build a figure and save it inside ``with style():`` (the figure functions of
``suite.plots`` and :func:`save` do it themselves).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend
    from matplotlib.text import Text

Width = Literal["single", "double"]
#: Figure widths in inches: one column and the full text width of a two-column paper (e.g. 3.3 and 6.9
#: in for IEEE/ACM/NeurIPS-style layouts; a one-column paper's text width is close to ``double``).
WIDTHS: dict[str, float] = {"single": 3.3, "double": 6.9}
FONT_SIZE = 8.0  # points: the smallest text in any figure
DPI = 300  # of the PNG files
FORMATS = ("png", "pdf")

#: Okabe and Ito's palette, yellow swapped for grey, in the order regimes receive them.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")
#: Dash patterns (in line widths) that stay apart in greyscale: solid, dashed, dash-dot, dotted, long
#: dash-dot-dot, sparse short dashes, long dashes, dash-dot-dot-dot.
LINESTYLES: tuple[Any, ...] = ("-", (0, (4, 1.5)), (0, (6, 1.5, 1.5, 1.5)), (0, (1, 1.2)), (0, (8, 2, 1.5, 2, 1.5, 2)),
                               (0, (2, 2.5)), (0, (10, 3)), (0, (3, 1.5, 1, 1.5, 1, 1.5, 1, 1.5)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")

RC: dict[str, Any] = {
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "legend.fontsize": FONT_SIZE,
    "legend.title_fontsize": FONT_SIZE,
    "figure.titlesize": FONT_SIZE + 1,
    "figure.labelsize": FONT_SIZE,
    "legend.frameon": False,
    "legend.handlelength": 2.6,  # long enough to show a dash pattern
    "legend.columnspacing": 1.2,
    "legend.labelspacing": 0.3,
    "legend.borderaxespad": 0.3,
    "legend.handletextpad": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "axes.titlepad": 4.0,
    "axes.labelpad": 2.0,
    "axes.grid": True,
    "grid.linewidth": 0.4,
    "grid.alpha": 0.35,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "xtick.major.pad": 2.0,
    "ytick.major.pad": 2.0,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,
    "figure.constrained_layout.h_pad": 0.02,
    "figure.constrained_layout.w_pad": 0.02,
    "savefig.dpi": DPI,
    "savefig.bbox": None,  # keep the figure's width exactly
    "pdf.fonttype": 42,  # TrueType fonts embedded (type 3 fonts are refused by some publishers)
    "ps.fonttype": 42,
    "svg.fonttype": "none",
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Apply the figure style (:data:`RC`) inside the block, restoring the previous settings after it."""
    from matplotlib import rc_context

    with rc_context(RC):
        yield


def width_inches(width: Width | float) -> float:
    """A figure width in inches: ``"single"``, ``"double"`` (:data:`WIDTHS`) or a number of inches."""
    if isinstance(width, str):
        try:
            return WIDTHS[width]
        except KeyError:
            raise ValueError(f"unknown figure width {width!r}; expected one of {sorted(WIDTHS)} or inches") from None
    if not 1.0 <= float(width) <= 20.0:
        raise ValueError(f"a figure width of {width} inches is out of range (1 to 20)")
    return float(width)


def new_figure(width: Width | float, height: float) -> Figure:
    """A figure ``width`` wide (see :func:`width_inches`) and ``height`` inches high, with an Agg canvas
    (no display needed) and constrained layout. Call inside :func:`style`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_inches(width), height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


@dataclasses.dataclass(frozen=True)
class RegimeStyle:
    """How one regime is drawn in every figure: colour, line style and marker."""

    color: str
    linestyle: Any
    marker: str

    def line(self) -> dict[str, Any]:
        """Keyword arguments of ``Axes.plot`` for this regime."""
        return {"color": self.color, "linestyle": self.linestyle, "marker": self.marker}


def regime_style(index: int) -> RegimeStyle:
    """The style of the regime at position ``index`` of the suite's regime order. The first 8 differ in
    colour, line style and marker; (colour, line style, marker) stays distinct for the first 40."""
    return RegimeStyle(PALETTE[index % len(PALETTE)], LINESTYLES[index % len(LINESTYLES)], MARKERS[index % len(MARKERS)])


def regime_styles(order: Sequence[str], shown: Sequence[str] = ()) -> dict[str, RegimeStyle]:
    """The style of every regime of ``order`` (the suite's regime order), by position; a regime of
    ``shown`` missing from ``order`` gets the next free position."""
    names = list(dict.fromkeys([*order, *shown]))
    return {name: regime_style(i) for i, name in enumerate(names)}


def block_colors(depth: int) -> list[Any]:
    """One colour per block, from dark (first block) to light (last): viridis at evenly spaced points,
    ordered in lightness, so depth reads in greyscale too."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    if depth == 1:
        return [cmap(0.35)]
    return [cmap(0.9 * i / (depth - 1)) for i in range(depth)]


def legend_outside(fig: Figure, handles: Sequence[Artist], labels: Sequence[str], *, where: Literal["below", "right"] = "below",
                   title: str | None = None, side: Literal["left", "center", "right"] = "center", grow: bool = True,
                   max_columns: int | None = None, max_width: float | None = None) -> Legend:
    """A figure legend outside every axes: ``below`` them in as many columns as fit the figure's width
    (balanced rows), or to their ``right`` in one column. With ``grow`` the figure grows by the legend's
    size, so the axes keep theirs. ``side`` places a legend below at the left, centre or right (two
    legends below sit side by side, each given a ``max_width`` in inches). Call inside :func:`style`."""
    width, height = fig.get_size_inches()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    if where == "right":
        legend = fig.legend(handles, labels, loc="outside right upper", title=title, ncols=1)
        if grow:
            fig.set_size_inches(width + legend.get_window_extent(renderer).width / fig.dpi, height)
        return legend
    if side == "center":
        loc = "outside lower center"
    else:
        loc = f"outside lower {side}"
    n = len(labels)
    top = min(n, max_columns or n) or 1
    legend = None
    for ncols in range(top, 0, -1):
        rows = -(-n // ncols)
        ncols = -(-n // rows)  # as few columns as the rows need: balanced
        if legend is not None:
            legend.remove()
        legend = fig.legend(handles, labels, loc=loc, title=title, ncols=ncols)
        if title:
            fit_text(legend.get_title(), max_width or width - 0.1)
        if legend.get_window_extent(renderer).width / fig.dpi <= (max_width or width - 0.1):
            break
    assert legend is not None
    if grow:
        fig.set_size_inches(width, height + legend.get_window_extent(renderer).height / fig.dpi)
    return legend


def fit_text(text: Text, max_width: float) -> Text:
    """Break ``text`` into lines so that it is at most ``max_width`` inches wide: after ``", "`` and ``"; "``
    where that is enough, else also at spaces, else also after hyphens (a piece wider than that keeps a
    line of its own); returns it."""
    fig = text.get_figure(root=True)
    renderer = fig.canvas.get_renderer()  # type: ignore[union-attr]

    def fits(s: str) -> bool:
        text.set_text(s)
        return text.get_window_extent(renderer).width / fig.dpi <= max_width  # type: ignore[union-attr]

    original = text.get_text().replace("\n", " ")
    lines = [original]
    for breaks in (r"(?<=[,;] )", r"(?<= )", r"(?<=[- ])"):
        if all(fits(line) for line in lines):
            break
        pieces = [p for p in re.split(breaks, original) if p]
        lines = [pieces[0]]
        for piece in pieces[1:]:
            if fits((lines[-1] + piece).strip()):
                lines[-1] += piece
            else:
                lines.append(piece)
        lines = [line.strip() for line in lines]
    text.set_text("\n".join(lines))
    return text


def save(fig: Figure, out_dir: str | Path, stem: str, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``out_dir/stem.<format>`` for each format (PDF with TrueType fonts, PNG at
    :data:`DPI`); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with style():
        for fmt in formats:
            path = out / f"{stem}.{fmt}"
            fig.savefig(path, dpi=DPI, metadata={"CreationDate": None} if fmt == "pdf" else None)  # PDFs stay byte-stable
            paths.append(path)
    return paths
