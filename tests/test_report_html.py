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
    assert page.count('class="published"') == 3 * 13  # 13 published rows in each of Tables 2-4
    assert '<span class="medal m1" title="rank 1">1</span>' in page
    assert "alpha" in page and "54.0" in page  # Table 2 anatomy recall of alpha


@pytest.mark.skipif(find_chromium() is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_page_renders_in_headless_chromium(report_dir):
    png = screenshot(report_dir / "report.html", report_dir / "report.png", width=1200, height=2000)
    with Image.open(png) as image:
        assert image.size == (1200, 2000)
        # A blank or error page is one flat colour; the report has text, tables and figures.
        assert max(ImageStat.Stat(image.convert("L")).stddev) > 20


def test_screenshot_without_a_browser_or_a_page_is_a_clear_error(tmp_path, monkeypatch):
    page = tmp_path / "p.html"
    page.write_text("<p>x</p>")
    monkeypatch.setattr(screenshot_module, "find_chromium", lambda: None)
    with pytest.raises(FileNotFoundError, match="no Chromium found on PATH"):
        screenshot(page, tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="no such page"):
        screenshot(tmp_path / "missing.html", tmp_path / "x.png", chromium="/bin/true")
