"""The static leaderboard site (``suite.site``): its pages, their staleness check, and a real browser on them.

A tiny leaderboard is trained once per module: two tasks (an MLP and a CNN on the digits) by e2e, layerwise-seq
(which spends twice the shared budget) and forward-forward (n/a on the CNN; no information plane on the MLP),
two seeds, with the probe on. The browser test drives Debian's Chromium through chromedriver
(``apt-get install chromium chromium-driver``) with Selenium; it is skipped, saying what is missing, without them.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suite import leaderboard as lb
from suite import site
from suite.cli import app
from suite.executor import run_suite
from suite.scores import score_of
from suite.store import Store
from suite.tables import format_cell, leaders
from suite.tables import rows as table_rows
from conftest import make_suite

LEADERBOARD = Path(__file__).resolve().parents[1] / "leaderboard"
BODY = """
[[tasks]]
name = "digits-mlp"
params = { depth = 2, width = 16 }
budget = { epochs = 2 }

[[tasks]]
name = "digits-cnn"
params = { depth = 2, width = 4 }
budget = { epochs = 2 }

[[regimes]]
name = "e2e"

[[regimes]]
name = "layerwise-seq"

[[regimes]]
name = "forward-forward"
"""
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> lb.Leaderboard:
    """A trained tiny leaderboard version, frozen by its manifest."""
    suite = make_suite(BODY, name="site-t", seeds="[0, 1]", probe='probe_size = 60\nestimators = ["nhsic"]')
    lb_dir = tmp_path_factory.mktemp("leaderboard") / "site-t-1.0"
    assert run_suite(suite, Store(lb_dir), progress=False, log=lambda line: None).ok
    return lb.prepare(suite, lb_dir)


@pytest.fixture(scope="module")
def written(board, tmp_path_factory) -> Path:
    """The tiny leaderboard's site, written once."""
    out = tmp_path_factory.mktemp("site")
    site.write(board, out)
    return out


def _text(fragment: str) -> str:
    """The text a browser shows for an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _rows(page: str) -> list[tuple[str, str, list[str]]]:
    """(task, regime, cell HTML) of every row of the index's score tables."""
    out = []
    for table in re.findall(r'<table class="sortable" id="scores-\d+">(.*?)</table>', page, re.S):
        for task, regime, body in re.findall(r'<tr data-task="([^"]*)" data-regime="([^"]*)">(.*?)</tr>', table, re.S):
            out.append((html.unescape(task), html.unescape(regime), re.findall(r"<td[^>]*>.*?</td>", body, re.S)))
    return out


def test_the_index_shows_every_task_and_regime_once_with_the_cells_of_the_markdown_table(board, written):
    page = (written / site.INDEX).read_text(encoding="utf-8")
    rows = lb.ranked(table_rows(board.results, lb.METRICS), lb.METRICS[0])
    shown = _rows(page)
    assert [(t, g) for t, g, _ in shown] == [(r.task, r.regime) for r in rows]  # one row per (task, regime), ranked
    assert len(set((t, g) for t, g, _ in shown)) == len(board.results.group_by("task", "regime")) == 6
    for (task, regime, cells), row in zip(shown, rows):
        assert _text(cells[0]) == row.regime_text
        for cell, metric in zip(cells[1:], lb.METRICS):
            expected = format_cell(row.metrics[metric], score_of(metric))
            assert re.sub(r"(?<=n/a)\d+$", "", _text(cell)) == expected  # n/a carries its footnote number
    assert "layerwise-seq (×2 budget)" in page  # marked as the Markdown table marks it
    reason = next(r.not_applicable for r in board.results if r.not_applicable)  # forward-forward on the CNN
    plane = board.results.where(regime="forward-forward")[0].regime.probe_not_applicable
    assert reason and plane
    assert html.escape(f"forward-forward: n/a, {reason}") in page
    assert html.escape(f"forward-forward: information scores n/a, the information plane does not apply ({plane})") in page
    for metric in lb.METRICS:  # the leaders are bold, as in the LaTeX table
        lead = {(rows[i].task, rows[i].regime) for i in leaders(rows, metric)}
        k = lb.METRICS.index(metric) + 1
        bold = {(t, g) for t, g, cells in shown if "<strong>" in cells[k]}
        assert bold == lead
    assert page.count('<img class="plot"') == 1 and "profile_auc(test_accuracy)" in page
    assert "tensorflow" in page and "package keras" in page  # the provenance the records carry


def test_every_regime_has_a_page_with_its_figures_cells_and_provenance(board, written):
    index = (written / site.INDEX).read_text(encoding="utf-8")
    names = sorted(p.name for p in written.glob("*.html"))
    assert names == ["index.html", "regime-e2e.html", "regime-forward-forward.html", "regime-layerwise-seq.html"]
    for name in names[1:]:
        assert f'href="{name}"' in index
    seq = (written / "regime-layerwise-seq.html").read_text(encoding="utf-8")
    assert seq.count('<img class="plot"') == 4  # curves and information plane, on each task
    assert len(re.findall(r'<tr data-task="[^"]*" data-seed="\d">', seq)) == 4  # 2 tasks x 2 seeds
    assert "regime code sha256" in seq and 'href="index.html"' in seq
    ff = (written / "regime-forward-forward.html").read_text(encoding="utf-8")
    assert ff.count('<img class="plot"') == 1  # curves on the MLP; no information plane; the CNN is n/a
    assert "Information plane not applicable" in ff and "Not applicable: " in ff


def test_pages_are_self_contained(written):
    for page in written.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r'(src|href)="(https?:)?//', text), page.name  # nothing fetched, from file:// or a server
        assert "<link rel=\"stylesheet\"" not in text and "@import" not in text
        assert all(src.startswith("data:image/png;base64,") for src in re.findall(r'src="([^"]*)"', text))


def _undrawn(monkeypatch) -> None:
    """Figures made but not drawn (what the staleness check compares does not depend on their pixels)."""
    monkeypatch.setattr(site, "_png", lambda fig: (b"\x89PNG", (15, 15)))


def test_the_site_is_deterministic_and_its_check_compares_text_and_the_records_figures_draw(board, written, tmp_path,
                                                                                           monkeypatch):
    again = site.pages(board)
    assert {n: (written / n).read_text(encoding="utf-8") for n in again} == again  # byte for byte
    assert site.stale(board, written) == []
    _undrawn(monkeypatch)
    out = tmp_path / "site"
    shutil.copytree(written, out)
    index = out / site.INDEX
    text = index.read_text(encoding="utf-8")
    redrawn = re.sub(r'src="data:image/png;base64,[^"]*"', 'src="data:image/png;base64,AAAA"', text)
    index.write_text(redrawn, encoding="utf-8")
    assert site.stale(board, out) == []  # another matplotlib's pixels: not stale
    index.write_text(text.replace("e2e</a>", "e2e (edited)</a>"), encoding="utf-8")
    assert site.stale(board, out) == [index]
    (out / "regime-e2e.html").unlink()
    (out / "regime-gone.html").write_text((out / "regime-forward-forward.html").read_text(encoding="utf-8"), encoding="utf-8")
    (out / "notes.html").write_text("<p>mine</p>", encoding="utf-8")
    assert sorted(p.name for p in site.stale(board, out)) == ["index.html", "regime-e2e.html", "regime-gone.html"]
    site.write(board, out)
    assert site.stale(board, out) == [] and not (out / "regime-gone.html").exists()
    assert (out / "notes.html").read_text(encoding="utf-8") == "<p>mine</p>"  # not a generated page: left alone


def test_the_leaderboard_command_writes_checks_and_regenerates_a_site(board, tmp_path, monkeypatch):
    _undrawn(monkeypatch)
    lb_dir = tmp_path / board.directory.name
    shutil.copytree(board.directory, lb_dir)
    runner = CliRunner()
    assert runner.invoke(app, ["leaderboard", str(lb_dir)]).exit_code == 0  # the tables, and no site yet
    assert not (lb_dir / site.SITE_DIR).exists()
    made = runner.invoke(app, ["leaderboard", str(lb_dir), "--html", str(lb_dir / site.SITE_DIR)])
    assert made.exit_code == 0, made.output
    assert "index.html" in made.output and "regime-e2e.html" in made.output
    check = runner.invoke(app, ["leaderboard", str(lb_dir), "--check"])
    assert check.exit_code == 0 and "up to date" in check.output, check.output
    page = lb_dir / site.SITE_DIR / "regime-e2e.html"
    page.write_text(page.read_text(encoding="utf-8").replace("<h1>", "<h1>edited "), encoding="utf-8")
    stale = runner.invoke(app, ["leaderboard", str(lb_dir), "--check"])
    assert stale.exit_code == 1 and "regime-e2e.html" in stale.output and "README.md" not in stale.output
    assert runner.invoke(app, ["leaderboard", str(lb_dir)]).exit_code == 0  # regenerates site/ with the tables
    assert runner.invoke(app, ["leaderboard", str(lb_dir), "--check"]).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    assert runner.invoke(app, ["leaderboard", str(lb_dir), "--html", str(elsewhere), "--check"]).exit_code == 1  # no pages yet
    shutil.copytree(lb_dir / site.SITE_DIR, elsewhere)
    assert runner.invoke(app, ["leaderboard", str(lb_dir), "--html", str(elsewhere), "--check"]).exit_code == 0


@pytest.mark.parametrize("version", ["1.0", "2.0", "3.0"])
def test_the_committed_official_sites_are_small_and_show_the_tables_marks(version):
    """Their freshness is checked by `e2ebench leaderboard ... --check` (tests/test_protocol.py)."""
    out = LEADERBOARD / f"official-{version}" / site.SITE_DIR
    pages = sorted(out.glob("*.html"))
    regimes = 11 if version == "3.0" else 8  # 3.0 plans every registered regime
    assert out / site.INDEX in pages and len(pages) == 1 + regimes
    assert sum(p.stat().st_size for p in pages) < 3_000_000
    index = (out / site.INDEX).read_text(encoding="utf-8")
    readme = (LEADERBOARD / f"official-{version}" / "README.md").read_text(encoding="utf-8")
    for label in re.findall(r"^\| digits-mlp +\| ([^|]+?) +\|", readme, re.M):
        assert f">{html.escape(label)}</a>" in index  # every regime as the Markdown table labels it
    assert ("layerwise-seq (×4 budget)" in index) == (version in ("2.0", "3.0"))  # 1.0 split the budget over blocks
    assert ("layerwise-seq (×5 budget)" in index) == (version == "3.0")  # the 5-block MNIST-5k MLP
    assert "forward-forward: information scores n/a, the information plane does not apply" in index


# -------------------------------------------------------------------------------------------- in a real browser

@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium, its chromedriver and Selenium, or a skip saying which is missing (before anything trains)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("Chromium is not installed (Debian/Ubuntu: apt-get install chromium chromium-driver)")
    if not CHROMEDRIVER.is_file():
        pytest.skip(f"chromedriver is not at {CHROMEDRIVER} (Debian/Ubuntu: apt-get install chromium-driver)")
    return binary


def _browser(binary: str, tmp_path: Path):
    """Headless Chromium driven by Debian's chromedriver, given explicitly: nothing is downloaded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,1000",
                f"--user-data-dir={tmp_path / 'chromium-profile'}", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def _severe(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _whole_page(driver) -> None:
    """Make the window tall enough for a screenshot of the whole page."""
    height, chrome = driver.execute_script("return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]")
    driver.set_window_size(1440, min(height + chrome + 20, 12000))


def test_the_site_works_in_a_real_browser(chromium, board, written, tmp_path, monkeypatch):
    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium-manager, should it be asked anything, stays offline
    driver = _browser(chromium, tmp_path)
    try:
        from selenium.webdriver.common.by import By

        driver.get((written / site.INDEX).as_uri())
        assert _severe(driver) == []
        rows = driver.find_elements(By.CSS_SELECTOR, "table[id^='scores-'] tbody tr")
        pairs = [(r.get_attribute("data-task"), r.get_attribute("data-regime")) for r in rows]
        assert len(pairs) == len(set(pairs)) == len(board.results.group_by("task", "regime"))
        assert set(pairs) == set(board.results.group_by("task", "regime"))
        images = driver.find_elements(By.CSS_SELECTOR, "img.plot")
        assert images and all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", i) for i in images)

        table = driver.find_element(By.ID, "scores-1")  # digits-mlp: every regime has a value

        def column(k: int) -> list[str]:
            return [r.find_elements(By.TAG_NAME, "td")[k].get_attribute("data-value")
                    for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]

        def regimes() -> list[str]:
            return [r.get_attribute("data-regime") for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]

        headers = table.find_elements(By.CSS_SELECTOR, "thead th button")
        k = [h.text for h in headers].index("train_seconds ↓")  # lower is better: the first click sorts ascending
        values = {g: float(v) for g, v in zip(regimes(), column(k))}
        headers[k].click()
        assert regimes() == sorted(values, key=values.get)
        assert table.find_elements(By.CSS_SELECTOR, "thead th")[k].get_attribute("aria-sort") == "ascending"
        headers[k].click()
        assert regimes() == sorted(values, key=values.get, reverse=True)
        headers[0].click()  # the regime's label: alphabetical
        assert regimes() == sorted(values)
        y = [h.text for h in headers].index("final_nhsic_y")  # forward-forward has no value: last, either way
        headers[y].click()
        assert regimes()[-1] == "forward-forward"
        headers[y].click()
        assert regimes()[-1] == "forward-forward"
        assert _severe(driver) == []
        _whole_page(driver)
        assert driver.save_screenshot(str(tmp_path / "index.png"))

        driver.find_element(By.LINK_TEXT, "layerwise-seq (×2 budget)").click()
        assert driver.current_url.endswith("/regime-layerwise-seq.html")
        assert _severe(driver) == []
        assert len(driver.find_elements(By.CSS_SELECTOR, "#cells tbody tr")) == 4
        _whole_page(driver)
        assert driver.save_screenshot(str(tmp_path / "regime.png"))
    finally:
        driver.quit()
    assert (tmp_path / "index.png").stat().st_size > 10_000
