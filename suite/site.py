"""The static leaderboard site: an index page and one page per regime, self-contained HTML.

``e2ebench leaderboard SUITE --html DIR`` writes it. A leaderboard directory's own ``site/`` is kept with its
tables: ``e2ebench leaderboard SUITE`` regenerates it when it exists, and ``--check`` reports it stale.

* ``index.html``: the suite (name, version, description), the backend, a summary of the records' provenance,
  a link per regime page, per task a sortable table (one row per regime, ``mean ± half-width (n=…)`` cells as
  in the Markdown table, the leaders in bold as in the LaTeX table, n/a cells with their reason), and the
  performance profiles (``suite.profiles``) with their areas.
* ``regime-<label>.html``: one regime's scores per task, its learning curves and information planes
  (``suite.plots``), every cell it has (seed, trial, status, scores, cell hash) and its records' provenance.

The pages work from ``file://``: the CSS and the table-sorting script are inline, and every figure is a PNG
data URI (drawn by ``suite.plots`` in ``suite.figstyle``'s style, reduced to a 256-colour palette), so nothing is fetched. A page is a
function of the leaderboard's manifest, records and submission entries alone (no clock, no path of this
machine), so the same records give the same bytes.

Figures also depend on the matplotlib version and style. Each carries a digest of what it draws (its kind,
task, regimes and their record hashes), and :func:`stale` compares pages with the figures' pixels masked: a
page is stale when its text or the records behind one of its figures changed, not when another matplotlib
draws the same records another way (CI installs the newest).
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import hashlib
import html
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from suite import leaderboard as lb
from suite.paths import slug
from suite.results import Aggregate, Result, ResultSet
from suite.scores import Score, score_of
from suite.spec import trial_label
from suite.tables import NOT_APPLICABLE, SUMMARY_FMT, Row, cell_parts, leaders, summary_columns
from suite.tables import rows as table_rows

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from suite.plots import TaskResults
    from suite.records import Record

SITE_DIR = "site"
INDEX = "index.html"
GENERATOR = "e2ebench leaderboard"
PROFILE_SCORE = "test_accuracy"  # always profiled, as `e2ebench plot profiles` does by default
# Figures have a paper's widths and 8-point text (``suite.figstyle``): on screen they are shown at 1.5 times that
# size, drawn with a third more pixels than they take (sharp on high-density screens, small files).
SHOWN_PPI = 144  # CSS pixels per inch of figure
DPI = 192
PALETTE_COLOURS = 256
_FIGURE = re.compile(r'(<img class="plot" data-inputs="[0-9a-f]+" alt="[^"]*")[^>]*>')
_GENERATED = re.compile(r'<meta name="generator" content="' + re.escape(GENERATOR) + '"')


def site_dir(board: lb.Leaderboard) -> Path:
    """``<leaderboard directory>/site``: where a leaderboard version keeps its site."""
    return board.directory / SITE_DIR


# ----------------------------------------------------------------------------------------------------- figures

class _Figures:
    """Turns figures into ``<img>`` tags: PNG data URIs, or (``draw=False``) the masked tag alone."""

    def __init__(self, draw: bool) -> None:
        self.draw = draw

    def img(self, draw: Callable[[], Figure | None], inputs: object, alt: str) -> str | None:
        """The tag of the figure ``draw`` makes (None when it makes none); ``inputs`` is what it draws, hashed into
        ``data-inputs``. Without drawing, ``draw`` is not called: the caller knows the figure exists."""
        digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
        head = f'<img class="plot" data-inputs="{digest}" alt="{_e(alt)}"'
        if not self.draw:
            return head + ">"
        fig = draw()
        if fig is None:
            return None
        data, (width, height) = _png(fig)
        return (f'{head} width="{round(width * SHOWN_PPI / DPI)}" height="{round(height * SHOWN_PPI / DPI)}" '
                f'src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">')


def _png(fig: Figure) -> tuple[bytes, tuple[int, int]]:
    """``fig`` as a palette PNG (a quarter of the size of matplotlib's RGBA one) and its size in pixels."""
    from PIL import Image

    from suite import figstyle

    raw = io.BytesIO()
    with figstyle.style():
        fig.savefig(raw, format="png", dpi=DPI, facecolor="white")
    raw.seek(0)
    image = Image.open(raw).convert("RGB").quantize(colors=PALETTE_COLOURS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue(), image.size


def _inputs(kind: str, group: TaskResults) -> list[object]:
    """What a figure of one task draws: its regimes' records, and the order and labels that style them."""
    return [kind, group.task, [[regime, [r.record.record_hash for r in rs if r.record is not None]]
                               for regime, rs in group.regimes.items()], list(group.regime_order), dict(group.labels)]


def mask(page: str) -> str:
    """``page`` with every figure reduced to its digest: what :func:`stale` compares."""
    return _FIGURE.sub(r"\1>", page)


# ------------------------------------------------------------------------------------------------------ pieces

def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<meta name=\"generator\" content=\"{GENERATOR}\">\n<title>{_e(title)}</title>\n"
            "<link rel=\"icon\" href=\"data:,\">\n"
            f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n<script>{_JS}</script>\n</body>\n</html>\n")


def _header(score: Score) -> str:
    return score.name + {"higher": " ↑", "lower": " ↓"}.get(score.direction, "")


def _th(label: str, kind: str = "text", first: str = "ascending", title: str = "") -> str:
    tip = f' title="{_e(title)}"' if title else ""
    return f'<th scope="col" data-type="{kind}" data-first="{first}"{tip}><button type="button">{_e(label)}</button></th>'


def _score_th(score: Score) -> str:
    return _th(_header(score), "number", "descending" if score.direction == "higher" else "ascending", score.description)


class _Reasons:
    """The n/a reasons of one table, numbered in order of first use, for footnotes."""

    def __init__(self, table_id: str) -> None:
        self.table_id = table_id
        self.notes: dict[tuple[str, str], int] = {}

    def mark(self, regime: str, reason: str) -> str:
        """The footnote marker of ``reason`` (a sentence: ``regime: n/a, reason``)."""
        number = self.notes.setdefault((regime, reason), len(self.notes) + 1)
        return f'<sup><a href="#{self.table_id}-na-{number}">{number}</a></sup>'

    def html(self) -> str:
        if not self.notes:
            return ""
        items = "".join(f'<li id="{self.table_id}-na-{n}" value="{n}">{_e(regime)}: {_e(reason)}</li>'
                        for (regime, reason), n in self.notes.items())
        return f'<ol class="reasons">{items}</ol>\n'


def _aggregate_cell(agg: Aggregate, score: Score, leader: bool, row: Row, reasons: _Reasons, plane_na: str | None) -> str:
    """A table cell as the Markdown table writes it (``mean ± half-width (notes)``), sortable by its mean; an n/a
    cell is marked with its reason (``plane_na``: the regime's, where the information plane does not apply)."""
    parts = cell_parts(agg, score)
    if parts.word is not None:
        if agg.not_applicable:
            why = (f"information scores n/a, the information plane does not apply ({agg.not_applicable})"
                   if agg.not_applicable == plane_na else f"n/a, {agg.not_applicable}")
            return f'<td class="na" title="{_e(why)}">{NOT_APPLICABLE}{reasons.mark(row.regime_text, why)}</td>'
        return f'<td class="word">{_e(parts.word)}</td>'
    number = parts.mean if parts.half_width is None else f"{parts.mean} ± {parts.half_width}"
    shown = f"<strong>{_e(number)}</strong>" if leader else _e(number)
    value = agg.interval.mean
    return (f'<td class="num{" leader" if leader else ""}" data-value="{value!r}">{shown} '
            f'<span class="notes">({_e(parts.notes)})</span></td>')


def _regime_link(row: Row, pages: Mapping[str, str]) -> str:
    return f'<a href="{_e(pages[row.regime])}">{_e(row.regime_text)}</a>'


Leaders = Mapping[str, set[tuple[str, str]]]  # per score, the (task, regime) rows that lead their task


def leading(rows: Sequence[Row], metrics: Sequence[str]) -> dict[str, set[tuple[str, str]]]:
    """Per score, the (task, regime) of the rows that lead their task (``suite.tables.leaders``, over every row)."""
    return {m: {(rows[i].task, rows[i].regime) for i in leaders(rows, m)} for m in metrics}


def _scores_table(rows: Sequence[Row], metrics: Sequence[str], bold: Leaders, plane_na: Mapping[str, str | None],
                  table_id: str, first: Callable[[Row], str], first_header: str) -> str:
    """A sortable table of rows (one task's regimes, or one regime's tasks), leaders in bold; ``plane_na``: per
    regime, why its information plane does not apply (None where it does)."""
    scores = [score_of(m) for m in metrics]
    summaries = summary_columns(rows)
    tuned = any(r.tuned for r in rows)
    reasons = _Reasons(table_id)
    heads = ([_th(first_header)] + [_score_th(s) for s in scores]
             + [_th(f"{c} ↑", "number", "descending") for c in summaries] + ([_th("tuned")] if tuned else []))
    body = []
    for r in rows:
        cells = [f"<td>{first(r)}</td>"]
        cells += [_aggregate_cell(r.metrics[s.name], s, (r.task, r.regime) in bold[s.name], r, reasons, plane_na.get(r.regime))
                  for s in scores]
        cells += [f'<td class="num" data-value="{r.summaries[c]!r}">{r.summaries[c]:{SUMMARY_FMT}}</td>' if c in r.summaries
                  else "<td></td>" for c in summaries]
        if tuned:
            cells.append(f'<td class="tuned">{_e(r.tuned)}</td>')
        body.append(f'<tr data-task="{_e(r.task)}" data-regime="{_e(r.regime)}">' + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="sortable" id="{table_id}">\n<thead><tr>{"".join(heads)}</tr></thead>\n'
            f'<tbody>\n' + "\n".join(body) + "\n</tbody>\n</table></div>\n" + reasons.html())


def _facts(items: Iterable[tuple[str, str]]) -> str:
    """A definition list of (term, HTML) pairs."""
    return '<dl class="facts">' + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>\n"


def _counted(values: Sequence[object], missing: str = "not recorded") -> str:
    """``v`` when every record agrees, else ``v1 (n1 records), v2 (n2 records)``, most frequent first."""
    counts = collections.Counter("" if v is None else str(v) for v in values)
    if len(counts) == 1:
        (value,) = counts
        return f"<code>{_e(value)}</code>" if value else f'<span class="muted">{missing}</span>'
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join((f"<code>{_e(v)}</code>" if v else missing) + f" ({n} records)" for v, n in ordered)


def provenance(records: Sequence[Record], code: bool = False) -> str:
    """Where and with what ``records`` were produced, as they carry it: backend, device, platform, threads, git
    commit, package versions (and, with ``code``, the regime's and tasks' code hashes) and when they ran."""
    if not records:
        return '<p class="muted">No records: none has run yet, or the regime applies to none of the tasks.</p>\n'
    p = [r.provenance for r in records]
    items = [("records", str(len(records))), ("backend", _counted([x.backend for x in p])),
             ("device", _counted([x.device for x in p])), ("cpu", _counted([x.cpu for x in p], "not recorded")),
             ("platform", _counted([x.platform for x in p])),
             ("threads per cell", _counted([x.threads for x in p])), ("git commit", _counted([x.git_commit for x in p]))]
    packages = list(dict.fromkeys(name for x in p for name in x.packages))
    items += [(f"package {name}", _counted([x.packages.get(name) for x in p], "absent")) for name in packages]
    if code:
        items += [("regime code sha256", _counted([x.regime_code_sha256 for x in p])),
                  ("task code sha256", _counted([x.task_code_sha256 for x in p]))]
    items.append(("ran", f"{_e(min(x.started_at for x in p))} to {_e(max(x.finished_at for x in p))}"))
    return _facts(items)


def _records(results: ResultSet) -> list[Record]:
    return [r.record for r in results if r.record is not None]


def _generated_note(board: lb.Leaderboard) -> str:
    where = f"{board.directory.parent.name}/{board.directory.name}"
    return (f'<p class="muted generated">Generated by <code>e2ebench leaderboard {_e(where)} --html DIR</code> from '
            f"<code>{lb.MANIFEST}</code>, the records and the submission entries; do not edit by hand. A leaderboard's own "
            f"<code>{SITE_DIR}/</code> is regenerated by <code>e2ebench leaderboard</code> and checked by its "
            f"<code>--check</code>.</p>\n")


def _legend(metrics: Sequence[str], among: str = "") -> str:
    return ('<p class="legend">Mean ± half-width of the 95% interval over seeds (Student t; accuracies floored at the '
            "binomial error of their split), n = seeds with a value. <strong>Bold</strong>: "
            f"the task's leaders on a score{among}, "
            "the best mean in its declared direction and every row the protocol's one-sided test over seeds cannot call "
            "worse (↑ higher is better, ↓ lower, no arrow: neither). n/a: not applicable, for the numbered reason. "
            f"Rows ranked by {_e(metrics[0])}; click a header to sort (the first click puts the best first).</p>\n")


# ------------------------------------------------------------------------------------------------------- pages

def _page_names(regimes: Sequence[str]) -> dict[str, str]:
    """Each regime's page file name, ``regime-<slug>.html``, unique even where two labels share a slug."""
    names: dict[str, str] = {}
    taken: set[str] = {INDEX}
    for regime in regimes:
        stem = f"regime-{slug(regime, 'regime')}"
        name, k = f"{stem}.html", 2
        while name in taken:
            name, k = f"{stem}-{k}.html", k + 1
        taken.add(name)
        names[regime] = name
    return names


def _index(board: lb.Leaderboard, rows: Sequence[Row], bold: Leaders, metrics: Sequence[str],
           profile_scores: Sequence[str], pages: Mapping[str, str], figures: _Figures) -> str:
    suite = board.suite
    regimes = board.results.labels("regime")
    refs = {r.regime.label: r.regime for r in board.results}
    texts = {r.regime: r.regime_text for r in rows}
    submitted = {e["regime"]["label"] for e in board.entries}
    title = f"Leaderboard: suite {suite['name']} {suite['version']}"
    parts = [f"<h1>{_e(title)}</h1>\n"]
    if suite.get("description"):
        parts.append(f'<p class="lead">{_e(suite["description"])}</p>\n')
    parts.append(_facts([
        ("suite", f"<code>{_e(suite['name'])}</code> {_e(suite['version'])} (suite file sha256 <code>{_e(suite['sha256'][:12])}</code>)"),
        ("backend", f"<code>{_e(board.backend)}</code>"),
        ("seeds", _e(", ".join(str(s) for s in suite["seeds"]))),
        ("tasks", _e(", ".join(board.results.labels("task")))),
        ("records", f"{len(_records(board.results))} behind the tables"
                    + (" (the trial selected for each task, regime and seed)" if any(r.trial for r in board.results) else "")
                    + f"; {board.verified} verified against the manifest; submission entries: {len(board.entries)}"),
    ]))
    parts.append(_generated_note(board))
    links = "".join(f'<li><a href="{_e(pages[g])}">{_e(texts.get(g, g))}</a> <span class="muted">{_e(refs[g].family)}'
                    f'{", baseline" if refs[g].baseline else ""}{", submitted" if g in submitted else ""}</span></li>'
                    for g in regimes)
    parts.append(f'<nav aria-label="regimes"><h2>Regimes</h2><ul class="regimes">{links}</ul></nav>\n')
    parts.append("<h2>Scores</h2>\n" + _legend(metrics))
    plane_na = {g: ref.probe_not_applicable for g, ref in refs.items()}
    for k, task in enumerate(dict.fromkeys(r.task for r in rows)):
        group = [r for r in rows if r.task == task]
        parts.append(f'<h3 id="task-{k + 1}">{_e(task)}</h3>\n')
        parts.append(_scores_table(group, metrics, bold, plane_na, f"scores-{k + 1}", lambda r: _regime_link(r, pages), "regime"))
    parts.append(_profiles(board.results, rows, profile_scores, pages, figures))
    parts.append("<h2>Provenance</h2>\n<p>What the records behind the tables carry, counted where they differ.</p>\n")
    parts.append(provenance(_records(board.results)))
    return _page(title, "".join(parts))


def _profiles(results: ResultSet, rows: Sequence[Row], profile_scores: Sequence[str], pages: Mapping[str, str],
              figures: _Figures) -> str:
    """Performance profiles, one figure per score, and a table of every regime's profile areas."""
    from suite.plots import budget_labels, profiles_figure
    from suite.profiles import TAU_MAX, performance_profile

    if not results.finished():
        return "<h2>Performance profiles</h2>\n<p class=\"muted\">No finished records yet.</p>\n"
    scores = list(dict.fromkeys([PROFILE_SCORE, *profile_scores]))
    labels, order = budget_labels(results), results.labels("regime")  # marked and styled as in every figure
    profiles = {s: performance_profile(results, s) for s in scores}
    texts = {r.regime: r.regime_text for r in rows}
    out = ["<h2>Performance profiles</h2>\n",
           f"<p>For each regime, the fraction of tasks on which its cost (1 − score for higher-is-better scores, the score "
           f"itself for lower-is-better ones; the mean over seeds) is within a factor τ of the best regime's, for τ in "
           f"[1, {TAU_MAX:g}]; the area is 1 for a regime that is best on every task (docs/metrics.md, "
           f"\"Performance profiles\").</p>\n"]
    for s, profile in profiles.items():
        tag = figures.img(lambda: profiles_figure(profile, labels, width="double", order=order),
                          ["profiles", s, [r.record_hash for r in _records(results)]], f"performance profiles of every regime for {s}")
        out.append(f"<figure>{tag}<figcaption>Performance profiles for {_e(s)} over {len(profile.tasks)} tasks; "
                   f"the legend gives each regime's area.</figcaption></figure>\n")
    areas = {s: p.aucs() for s, p in profiles.items()}
    order = sorted(profiles[scores[0]].regimes, key=lambda g: -areas[scores[0]][g])
    heads = [_th("regime")] + [_th(f"profile_auc({s}) ↑", "number", "descending") for s in scores]
    body = "\n".join(f'<tr data-regime="{_e(g)}"><td><a href="{_e(pages[g])}">{_e(texts.get(g, g))}</a></td>'
                     + "".join(f'<td class="num" data-value="{areas[s][g]!r}">{areas[s][g]:{SUMMARY_FMT}}</td>' for s in scores)
                     + "</tr>" for g in order)
    out.append(f'<div class="scroll"><table class="sortable" id="profile-areas">\n<thead><tr>{"".join(heads)}</tr></thead>\n'
               f"<tbody>\n{body}\n</tbody>\n</table></div>\n")
    return "".join(out)


def _value_cell(result: Result, score: Score) -> str:
    """One cell's score in the per-seed table: the value, or why there is none."""
    if result.not_applicable:
        return f'<td class="na" title="{_e(result.not_applicable)}">{NOT_APPLICABLE}</td>'
    value = result.score(score.name)
    if value is not None:
        return f'<td class="num" data-value="{value!r}">{value:{score.fmt}}</td>'
    if result.finished and score.group == "information" and result.regime.probe_not_applicable:
        return f'<td class="na" title="{_e(result.regime.probe_not_applicable)}">{NOT_APPLICABLE}</td>'
    word = "never" if result.finished and score.group == "convergence" else "—"
    return f'<td class="word">{word}</td>'


def _cells_table(results: ResultSet, metrics: Sequence[str]) -> str:
    """One row per cell of a regime: task, seed, trial, status, every score, cell hash."""
    scores = [score_of(m) for m in metrics]
    trials = any(r.trial is not None for r in results)
    heads = ([_th("task"), _th("seed", "number")] + ([_th("trial")] if trials else []) + [_th("status")]
             + [_score_th(s) for s in scores] + [_th("cell")])
    body = []
    for r in results:
        cells = [f"<td>{_e(r.task.label)}</td>", f'<td class="num" data-value="{r.seed}">{r.seed}</td>']
        if trials:
            cells.append(f"<td>{_e(trial_label(r.trial)) if r.trial and r.status != 'n/a' else '—'}</td>")  # n/a: nothing tried
        cells.append(f'<td class="status-{_e(r.status.replace("/", ""))}">{_e(r.status)}</td>')
        cells += [_value_cell(r, s) for s in scores]
        cells.append(f"<td><code>{_e(r.cell_hash)}</code></td>")
        body.append(f'<tr data-task="{_e(r.task.label)}" data-seed="{r.seed}">' + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="sortable" id="cells">\n<thead><tr>{"".join(heads)}</tr></thead>\n'
            f"<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table></div>\n")


def _regime_page(board: lb.Leaderboard, regime: str, rows: Sequence[Row], bold: Leaders, metrics: Sequence[str],
                 figures: _Figures) -> str:
    from suite import plots

    results = board.results.where(regime=regime)
    ref = results[0].regime
    own = [r for r in rows if r.regime == regime]
    text = own[0].regime_text if own else regime
    entry = next((e for e in board.entries if e["regime"]["label"] == regime), None)
    suite = board.suite
    parts = [f'<p class="crumbs"><a href="{INDEX}">← leaderboard {_e(suite["name"])} {_e(suite["version"])}</a></p>\n',
             f"<h1>{_e(text)}</h1>\n"]
    facts = [("regime", f"<code>{_e(ref.name)}</code> {_e(ref.version)}"), ("family", _e(ref.family) + (", the family's baseline" if ref.baseline else "")),
             ("params", f"<code>{_e(json.dumps(dict(ref.params), sort_keys=True))}</code>")]
    if own and any(r.budget for r in own):
        facts.append(("budget", _e(", ".join(f"{r.task}: ×{r.budget:g} the shared budget" for r in own if r.budget))))
    if ref.probe_not_applicable:
        facts.append(("information plane", f"not applicable: {_e(ref.probe_not_applicable)}"))
    if entry is not None:
        r = entry["regime"]
        facts += [("submitted", f"entry <code>submissions/{_e(slug(r['label'], 'regime'))}-{_e(slug(r['version'], 'v'))}.json</code>"),
                  ("description", _e(r.get("description", ""))), ("citation", _e(r.get("citation", ""))),
                  ("checks", _e(", ".join(entry.get("checks", [])) or "none"))]
    parts.append(_facts(facts))
    parts.append(_generated_note(board))
    parts.append("<h2>Scores</h2>\n" + _legend(metrics, " among all regimes"))
    plane_na = {regime: ref.probe_not_applicable}
    parts.append(_scores_table(own, metrics, bold, plane_na, "scores", lambda r: _e(r.task), "task"))
    parts.append("<h2>Figures</h2>\n")
    groups = plots.by_task(board.results)
    baseline = board.results.baseline("end-to-end")
    for task in results.labels("task"):
        parts.append(f"<h3>{_e(task)}</h3>\n")
        group = next((g for g in groups if g.task == task and regime in g.regimes), None)
        if group is None:
            reason = next((r.not_applicable for r in results.where(task=task) if r.not_applicable), None)
            parts.append(f'<p class="muted">{"Not applicable: " + _e(reason) if reason else "No finished records on this task."}</p>\n')
            continue
        # the suite's regime order and budget marks stay with the subsets: a regime is drawn alike on every page
        curves = dataclasses.replace(group, regimes={g: rs for g, rs in group.regimes.items() if g in (baseline, regime)})
        beside = f", beside the end-to-end baseline {_e(baseline)}" if baseline in curves.regimes and baseline != regime else ""
        tag = figures.img(lambda: plots.curves_figure(curves, seconds=True), _inputs("curves", curves),
                          f"learning curves of {regime} on {task}")
        parts.append(f"<figure>{tag}<figcaption>Test accuracy after every epoch, against epochs and training seconds "
                     f"(compilation excluded){beside}: per regime the mean over seeds with a band for its "
                     f"{plots.LEVEL:.0%} Student-t interval (dashed: the task's target, dotted: chance).</figcaption></figure>\n")
        plane = dataclasses.replace(group, regimes={regime: group.regimes[regime]})
        tag = (figures.img(lambda: plots.info_plane_figure(plane, width="single"), _inputs("information-plane", plane),
                           f"information plane of {regime} on {task}") if plots.has_plane(plane.regimes[regime]) else None)
        if tag is not None:
            parts.append(f"<figure>{tag}<figcaption>Every block's trajectory in the information plane, nHSIC(X; T) against "
                         "nHSIC(Y; T), mean over seeds: one colour per block (dark: first), a hollow circle at the "
                         "initialization, arrowheads in the direction of training, the block's marker at the last probe."
                         "</figcaption></figure>\n")
        elif ref.probe_not_applicable:
            parts.append(f'<p class="muted">Information plane not applicable: {_e(ref.probe_not_applicable)}</p>\n')
        else:
            parts.append('<p class="muted">No information-plane measurements in the records.</p>\n')
    parts.append("<h2>Cells</h2>\n<p>Every cell of this regime that the tables use: in a tuned suite the trial "
                 "selected on validation accuracy for each seed.</p>\n" + _cells_table(results, metrics))
    parts.append("<h2>Provenance</h2>\n" + provenance(_records(results), code=True))
    return _page(f"{text}: leaderboard {suite['name']} {suite['version']}", "".join(parts))


def pages(board: lb.Leaderboard, metrics: Sequence[str] = lb.METRICS, profile_scores: Sequence[str] = (),
          figures: bool = True) -> dict[str, str]:
    """Every page of the site, by file name: ``index.html`` and one page per regime. Without ``figures`` the
    figures are left as their digests (the masked pages :func:`stale` compares; nothing is drawn).

    Raises:
        ValueError: a profiled score is neutral, or higher-is-better with values outside [0, 1].
    """
    rows = lb.ranked(table_rows(board.results, metrics, profile_scores), metrics[0])
    bold = leading(rows, metrics)
    draw = _Figures(figures)
    names = _page_names(board.results.labels("regime"))
    out = {INDEX: _index(board, rows, bold, metrics, profile_scores, names, draw)}
    for regime, name in names.items():
        out[name] = _regime_page(board, regime, rows, bold, metrics, draw)
    return out


# ------------------------------------------------------------------------------------------------ files on disk

def _generated_pages(out_dir: Path) -> list[Path]:
    """The pages in ``out_dir`` that this module wrote (its generator tag), so other files are never touched."""
    if not out_dir.is_dir():
        return []
    return sorted(p for p in out_dir.glob("*.html") if _GENERATED.search(p.read_text(encoding="utf-8", errors="replace")[:2000]))


def write(board: lb.Leaderboard, out_dir: str | Path, metrics: Sequence[str] = lb.METRICS,
          profile_scores: Sequence[str] = ()) -> list[Path]:
    """Write the site into ``out_dir`` (each page atomically) and remove the pages of regimes it no longer has;
    returns the pages written."""
    out = Path(out_dir)
    new = pages(board, metrics, profile_scores)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in new.items():
        path = out / name
        tmp = out / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    for old in _generated_pages(out):
        if old.name not in new:
            old.unlink()
    return written


def stale(board: lb.Leaderboard, out_dir: str | Path, metrics: Sequence[str] = lb.METRICS,
          profile_scores: Sequence[str] = ()) -> list[Path]:
    """The pages of the site in ``out_dir`` that differ from what the records give now, figures compared by what
    they draw (:func:`mask`), and the generated pages that should no longer be there."""
    out = Path(out_dir)
    new = pages(board, metrics, profile_scores, figures=False)
    bad = [out / name for name, text in new.items()
           if not (out / name).is_file() or mask((out / name).read_text(encoding="utf-8")) != text]
    return bad + [p for p in _generated_pages(out) if p.name not in new]


# -------------------------------------------------------------------------------------------------- CSS and JS

_CSS = """
:root{--fg:#1c2230;--muted:#5a6374;--line:#d9dee7;--head:#f2f4f8;--link:#0a58a8;--lead:#fff4cc}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1380px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:1.55rem;margin:.3em 0}
h2{font-size:1.2rem;margin:1.8em 0 .5em;padding-bottom:.2em;border-bottom:1px solid var(--line)}
h3{font-size:1.02rem;margin:1.3em 0 .4em}
a{color:var(--link)}
code{font:.88em ui-monospace,"DejaVu Sans Mono",Menlo,monospace;background:#f1f3f7;padding:0 .25em;border-radius:3px;word-break:break-all}
.muted,.notes,.legend,figcaption,.reasons{color:var(--muted)}
.lead{font-size:1.05rem}
.legend,figcaption,.reasons,.generated{font-size:.85rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1.2em;margin:.6em 0}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0}
ul.regimes{columns:2 18em;padding-left:1.2em;margin:.3em 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.86rem;margin:.3em 0 .2em}
th,td{padding:.32em .65em;border-bottom:1px solid var(--line);text-align:left;vertical-align:baseline;white-space:nowrap}
thead th{background:var(--head);border-bottom:2px solid var(--line)}
tbody tr:hover{background:#f7f9fc}
th button{font:inherit;font-weight:600;color:inherit;background:none;border:0;padding:0;cursor:pointer;text-align:left}
th button:hover{text-decoration:underline}
th[aria-sort=ascending] button::after{content:" \\25B2";font-size:.75em}
th[aria-sort=descending] button::after{content:" \\25BC";font-size:.75em}
td.num{font-variant-numeric:tabular-nums}
td.leader{background:var(--lead)}
td.na,td.word{color:var(--muted)}
td.tuned{white-space:normal;min-width:12em}
td.na sup{margin-left:.15em}
.status-failed,.status-missing{color:#b3261e}
.reasons{margin:.2em 0 1em;padding-left:1.6em}
figure{margin:1em 0 1.4em}
img.plot{display:block;max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
figcaption{margin-top:.3em;max-width:62em}
.crumbs{margin:0;font-size:.9rem}
"""

_JS = """
(function () {
  "use strict";
  function key(cell, numeric) {
    var value = cell.getAttribute("data-value");
    if (numeric) { return value === null ? null : parseFloat(value); }
    return (value === null ? cell.textContent : value).trim().toLowerCase();
  }
  function sortBy(table, column, th) {
    var numeric = th.getAttribute("data-type") === "number";
    var now = th.getAttribute("aria-sort");
    var order = now ? (now === "ascending" ? "descending" : "ascending") : th.getAttribute("data-first");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", order);
    var sign = order === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[column], numeric), y = key(b.cells[column], numeric);
      if (x === null || y === null) { return (x === null) - (y === null); }  /* no value: last either way */
      return sign * (numeric ? x - y : x.localeCompare(y));
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.querySelector("button").addEventListener("click", function () { sortBy(table, column, th); });
    });
  });
})();
"""
