"""The HTML report: a self-contained page with matplotlib charts, seen in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import cli
from bot.stats import Labels, build_report, render_html
from bot.storage import DailyCount, Storage

pytest.importorskip("matplotlib", reason="the [report] extra (matplotlib) is not installed")

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
TODAY = NOW.date()
CHARTS = {
    "chart-questions-per-day": "Questions per day",
    "chart-answered": "Answered vs unanswered",
    "chart-top-topics": "Top topics",
    "chart-screening-outcomes": "Screening outcomes",
}
LABELS = Labels(
    topics={"sciatica": "Sciatica", "posture": "Posture", "cost": "Costs in $ & <fees>"},
    outcomes={"pt-likely": "Physical therapy likely helps", "urgent": "Urgent care now"},
    urgent_outcomes=frozenset({"urgent"}),
)
# The colours the charts draw with (bot/stats.py), as RGB, to find them in the screenshot.
ANSWERED_RGB = (0x0F, 0x7B, 0x6C)
URGENT_RGB = (0xB3, 0x26, 0x1E)


def rows() -> list[DailyCount]:
    out = []
    for i in range(35):
        day = TODAY - timedelta(days=i)
        out += [
            DailyCount(day, "conversation", 3 + i % 4),
            DailyCount(day, "answer:sciatica", 2 + i % 3),
            DailyCount(day, "answer:posture", 1 + i % 2),
            DailyCount(day, "unknown", i % 3),
            DailyCount(day, "declined:dose", i % 5 == 0),
            DailyCount(day, "screening:started", 2),
            DailyCount(day, "screening:pt-likely", 1),
        ]
        if i % 4 == 0:
            out.append(DailyCount(day, "answer:cost", 1))
            out.append(DailyCount(day, "screening:urgent", 1))
    return [r for r in out if r.count]


@pytest.fixture(scope="module")
def page() -> str:
    report = build_report(rows(), NOW, clinic="Riverside <Physical> Therapy", labels=LABELS)
    return render_html(report)


def test_page_is_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "nothing fetched from outside"
    assert "<?xml" not in page, "inline SVG carries no XML prolog"


def test_page_has_title_tiles_and_four_charts(page: str) -> None:
    assert "<h1>Riverside &lt;Physical&gt; Therapy</h1>" in page
    assert "Last 30 days: 29 Oct–27 Nov 2026" in page
    assert len(re.findall(r'class="tile[ "]', page)) == 8
    for chart_id, title in CHARTS.items():
        figure = page.split(f'<figure id="{chart_id}">', 1)[1].split("</figure>", 1)[0]
        assert "<svg" in figure
        assert f">{title}</text>" in figure, f"{chart_id}: title drawn as SVG text"


def test_labels_are_escaped_and_not_read_as_math(page: str) -> None:
    assert "Costs in $ &amp; &lt;fees&gt;" in page
    assert "<fees>" not in page


def test_empty_report_still_renders() -> None:
    page = render_html(build_report([], NOW, clinic="New clinic"))
    assert page.count("<svg") == 4
    assert "No questions in this period yet" in page
    assert "No screenings finished in this period yet" in page


def test_svg_is_the_same_each_time(page: str) -> None:
    report = build_report(rows(), NOW, clinic="Riverside <Physical> Therapy", labels=LABELS)
    assert render_html(report) == page, "stable ids and no timestamps, so reports can be diffed"


def test_cli_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Storage.open(tmp_path, env={})
    store.count("answer:sciatica", datetime.now(UTC))
    store.close()
    target = tmp_path / "report.html"
    code = cli.main(["stats", "--data", str(tmp_path), "--html", str(target)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.rstrip().endswith(f"wrote {target}")
    assert target.read_text(encoding="utf-8").count("<svg") == 4


# --- in a real browser -----------------------------------------------------------------------


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "Debian's chromium is not installed (apt-get install chromium; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the browser test")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def browser_run(page: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The DOM Chromium built from the page, and a screenshot of it."""
    binary = chromium()
    folder = tmp_path_factory.mktemp("browser")
    html_file = folder / "report.html"
    html_file.write_text(page, encoding="utf-8")
    shot = folder / "report.png"

    # The flags that work on this kind of machine: as root, offline, nothing in the background,
    # a fresh profile. One run both dumps the DOM and takes the screenshot.
    result = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            f"--user-data-dir={folder / 'profile'}",
            "--hide-scrollbars",
            "--window-size=1200,1800",
            f"--screenshot={shot}",
            "--dump-dom",
            html_file.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.is_file(), result.stderr[-2000:]
    dom = result.stdout
    return dom, shot


def test_chromium_builds_the_charts(browser_run: tuple[str, Path]) -> None:
    dom, _ = browser_run
    assert "<h1>Riverside &lt;Physical&gt; Therapy</h1>" in dom
    for chart_id, title in CHARTS.items():
        figure = dom.split(f'<figure id="{chart_id}">', 1)[1].split("</figure>", 1)[0]
        assert re.search(r"<svg[^>]*>", figure), f"{chart_id}: no SVG in the browser's DOM"
        assert f">{title}</text>" in figure
        assert figure.count("<path") >= 5, f"{chart_id}: the chart has no drawing"


def test_screenshot_shows_the_charts(browser_run: tuple[str, Path]) -> None:
    import numpy as np  # both come with matplotlib
    from PIL import Image

    _, shot = browser_run
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int32)
    assert pixels.shape == (1800, 1200, 3)
    packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    colours = np.unique(packed)
    assert len(colours) > 200, "more than a blank or flat page"

    def near(rgb: tuple[int, int, int]) -> int:
        return int(np.all(np.abs(pixels - np.array(rgb)) <= 6, axis=-1).sum())

    # The answered bars (first two charts) and the urgent outcome's bar, as the browser drew them.
    assert near(ANSWERED_RGB) > 5000
    assert near(URGENT_RGB) > 500
