"""The HTML page: self-contained, holds the tables and figures, renders in headless Chromium."""

from __future__ import annotations

import re

import pytest
from PIL import Image, ImageStat

from medvision_tasks.report import main
from medvision_tasks.report import screenshot as screenshot_module
from medvision_tasks.report.screenshot import find_chromium, screenshot
from tests.test_report_fixtures import REPORT_TABLE_KEYS, write_fixture_runs


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    root = write_fixture_runs(tmp_path_factory.mktemp("runs"))
    out = tmp_path_factory.mktemp("report")
    assert main([str(root), "--out", str(out), "--paper", "--bootstrap", "50", "--quiet"]) == 0
    return out


def test_page_is_self_contained(report_dir):
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<link" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    links = re.findall(r'href="([^"]*)"', page)
    assert links and all(link.startswith("#") for link in links)


def test_page_holds_tables_figures_and_marks(report_dir):
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    for key in REPORT_TABLE_KEYS:
        assert f'id="{key}"' in page, key
    assert len(re.findall(r'src="data:image/png', page)) == 7  # 3 per-label, box size, 3 error plots
    assert page.count('class="paper"') == 3 * 13  # 13 published rows in each of Tables 2-4
    assert '<span class="medal m1" title="rank 1">1</span>' in page
    assert "alpha" in page and "54.0" in page  # Table 2 anatomy recall of alpha


NO_CHROMIUM = pytest.mark.skipif(
    find_chromium() is None, reason="headless Chromium not installed (apt-get install chromium)"
)


def assert_whole_page(shot):
    """The picture is the whole page at a width that fits every table, with content down to its last line."""
    with Image.open(shot.path) as image:
        assert image.size == (shot.width, shot.height)
        assert shot.clipped == 0 and shot.width >= shot.widest_table
        # A blank or error page is one flat colour; the report has text, tables and figures.
        assert max(ImageStat.Stat(image.convert("L")).stddev) > 20
        # the last section ("How the numbers are made") is in the picture: its bottom strip holds text
        bottom = image.crop((0, shot.height - 400, shot.width, shot.height)).convert("L")
        assert ImageStat.Stat(bottom).extrema[0][0] < 100


@NO_CHROMIUM
def test_page_renders_whole_in_headless_chromium(report_dir):
    shot = screenshot(report_dir / "report.html", report_dir / "report.png", min_width=1000)
    assert_whole_page(shot)
    # The per-group detection table (17 columns) is wider than 1000 px: the picture widened to fit it.
    assert shot.width > 1000 and shot.height > 4000


def test_screenshot_without_a_browser_or_a_page_is_a_clear_error(tmp_path, monkeypatch):
    page = tmp_path / "p.html"
    page.write_text("<p>x</p>")
    monkeypatch.setattr(screenshot_module, "find_chromium", lambda: None)
    with pytest.raises(FileNotFoundError, match="no Chromium found on PATH"):
        screenshot(page, tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="no such page"):
        screenshot(tmp_path / "missing.html", tmp_path / "x.png", chromium="/bin/true")


@NO_CHROMIUM
@pytest.mark.slow
def test_screenshots_of_the_sample_with_three_runs_and_of_a_large_synthetic_run(tmp_path):
    from tests.helpers.report_demo import build

    shots = build(tmp_path, bootstrap=50)
    for shot in shots.values():
        assert_whole_page(shot)
    page = (tmp_path / "sample" / "report" / "report.html").read_text(encoding="utf-8")
    assert "2 models in 3 runs" in page  # the scripted model and medvision_random (two seeds)
    # The --limit 3 run is lettered apart.
    assert "medvision_random [seed=1] · published · plain" in page and "doc set" in page
    synthetic = (tmp_path / "synthetic" / "report" / "report.html").read_text(encoding="utf-8")
    assert "Showing the 22 groups with the most docs of 93" in synthetic  # detection regions; 90 bars / 4 models
    assert "Showing the 22 groups with the most docs of 250" in synthetic  # A/D measurements
    assert "Nothing to draw (no parsed answer) for: tiny-vlm (llava_onevision) · original · plain." in synthetic
