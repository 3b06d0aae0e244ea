"""The reading site in a real browser: headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urldefrag

import pytest

from compare.guide import needs
from compare.live import serve_site
from compare.path import course
from compare.report import load
from compare.site import build
from shared.harness.serve import QuietHandler
from shared.harness.targets import PROJECT_ROOT
from shared.spec import spec
from tests.plugins.servers import ServerPool

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FloatRect, Locator, Page

type OpenPage = Callable[[str, int], Page]

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
# The README's picture: re-taken only on request (`make screenshots`), so that a test run never
# rewrites a tracked file (fonts and Chromium versions change pixels from machine to machine).
README_SHOT = PROJECT_ROOT / "docs" / "screenshot-ws-echo.png"
README_RUN_SHOT = PROJECT_ROOT / "docs" / "screenshot-run.png"
UPDATE = bool(os.environ.get("UPDATE_SCREENSHOTS"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",  # without these, this closed network refuses connections
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDE, NARROW = 1400, 700


def chromium_path() -> str:
    """$CHROMIUM, else Debian's chromium on PATH; fails (never skips) with how to install it."""
    found = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found or not Path(found).exists():
        pytest.fail(
            f"Chromium was not found ({found or 'no chromium on PATH'}); tests/test_browser.py"
            " needs it.\n"
            "  On Debian/Ubuntu (as root): apt-get update && apt-get install -y chromium\n"
            "  or run `make test`, which installs it when it can; CHROMIUM=/path/to/chromium"
            " picks another build.",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site built from the spec, the apps and the last parity report, served over HTTP."""
    out = tmp_path_factory.mktemp("site")
    build(out, load())
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, name="site", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "playwright is missing: pip install -c constraints.txt -e '.[dev]'", pytrace=False
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """open_page(url, width) -> a loaded page of that viewport width, closed after the test."""
    pages: list[Page] = []

    def open_at(url: str, width: int) -> Page:
        page = browser.new_page(viewport={"width": width, "height": 900})
        pages.append(page)
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        return page

    yield open_at
    for page in pages:
        page.close()


def screenshot(page: Page, name: str, clip: FloatRect | None = None) -> Path:
    """A full-page screenshot (or the `clip` of it) into var/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, clip=clip)
    return path


def box(locator: Locator) -> FloatRect:
    """Where the element is drawn; it must be drawn."""
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not drawn"
    return found


def status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status)


def links_resolve(page: Page, site_url: str) -> set[str]:
    """Every link of the page loaded: a page of the site that answers 200, and an anchor there
    for its fragment; the links, returned."""
    start = page.url
    hrefs: list[str] = page.eval_on_selector_all(
        "a[href], link[href], script[src]",
        "elements => elements.map(element => element.href || element.src)",
    )
    for href in sorted(set(hrefs)):
        url, fragment = urldefrag(href)
        assert url.startswith(site_url), f"{href}: the site links only to itself (offline)"
        assert status(url) == 200, href
        if fragment:
            if urldefrag(page.url).url != url:
                page.goto(url)
            assert page.locator(f"[id='{fragment}']").count() == 1, f"{href}: no such anchor"
    page.goto(start)
    return set(hrefs)


def test_every_link_on_the_index_resolves(site_url: str, open_page: OpenPage) -> None:
    page = open_page(f"{site_url}/index.html", WIDE)
    screenshot(page, "index-1400")
    hrefs = links_resolve(page, site_url)
    behaviour_pages = {f"{site_url}/behaviours/{b.id}.html" for b in spec().behaviours}
    assert behaviour_pages <= hrefs, "the index links every behaviour's page"


def test_the_guided_path_links_every_step_and_each_answer_its_cases(
    site_url: str, open_page: OpenPage
) -> None:
    """path.html links each behaviour's step, in the path's order; each step's page shows what to
    notice and the exercise, its answer folded until asked, its cases linked."""
    page = open_page(f"{site_url}/path.html", WIDE)
    steps = course().steps
    hrefs = links_resolve(page, site_url)
    listed = page.eval_on_selector_all("ol.path-steps > li > a", "a => a.map(e => e.href)")
    assert listed == [f"{site_url}/behaviours/{step.behaviour}.html#path" for step in steps]
    assert len(hrefs) > len(steps)
    screenshot(page, "path-1400")
    for number, step in enumerate(steps, 1):
        page.goto(f"{site_url}/behaviours/{step.behaviour}.html")
        section = page.locator("section.path")
        assert f"step {number} of {len(steps)}" in section.locator("h2").inner_text()
        answer = section.locator("details")
        assert not answer.locator("p").first.is_visible(), "the answer is folded"
        answer.locator("summary").click()
        assert answer.locator("p").first.is_visible()
        cases = section.locator("details a[href^='#case-']").all_inner_texts()
        assert [int(n) for n in cases] == list(step.exercise.fails), step.behaviour
        links_resolve(page, site_url)
    page.goto(f"{site_url}/behaviours/delay.html")
    screenshot(page, "path-step-delay-1400", clip=box(page.locator("section.path")))


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_the_aligned_view_is_side_by_side_when_wide_and_stacked_when_narrow(
    site_url: str, open_page: OpenPage, width: int
) -> None:
    """Each stage's lines of aiohttp beside Django's at 1,400 px, no line wrapped or cut; one
    under the other at 700 px; the page never scrolls sideways."""
    page = open_page(f"{site_url}/index.html", width)
    for behaviour in spec().behaviours:
        page.goto(f"{site_url}/behaviours/{behaviour.id}.html")
        stages = page.locator(".aligned .stage")
        assert stages.count() == len(behaviour.stages), behaviour.id
        for stage in stages.all():
            a, d = box(stage.locator(".side.aiohttp")), box(stage.locator(".side.django"))
            if width == WIDE:
                assert abs(a["y"] - d["y"]) < 1, f"{behaviour.id}: same top ({a}, {d})"
                assert a["x"] + a["width"] <= d["x"], f"{behaviour.id}: aiohttp left ({a}, {d})"
            else:
                assert d["y"] >= a["y"] + a["height"], f"{behaviour.id}: stacked ({a}, {d})"
                assert abs(a["x"] - d["x"]) < 1, f"{behaviour.id}: same left edge ({a}, {d})"
        if width == WIDE:
            cut = page.evaluate(
                "[...document.querySelectorAll('.aligned pre')]"
                ".filter(pre => pre.scrollWidth > pre.clientWidth)"
                ".map(pre => pre.innerText.split('\\n').sort((a, b) => b.length - a.length)[0])"
            )
            assert cut == [], f"{behaviour.id}: lines wider than their side at {width} px: {cut}"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{behaviour.id} scrolls sideways by {overflow} px at {width} px"
    page.goto(f"{site_url}/behaviours/ws-echo.html")
    screenshot(page, f"ws-echo-{width}")
    if width == WIDE:
        third = box(page.locator(".aligned .stage").nth(2))
        clip: FloatRect = {"x": 0, "y": 0, "width": width, "height": third["y"] + third["height"]}
        shot = screenshot(page, "ws-echo-readme", clip=clip)
        if UPDATE:
            README_SHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(shot, README_SHOT)


def test_every_behaviour_page_shows_both_apps_code(site_url: str, open_page: OpenPage) -> None:
    page = open_page(f"{site_url}/index.html", WIDE)
    for behaviour in spec().behaviours:
        page.goto(f"{site_url}/behaviours/{behaviour.id}.html")
        assert page.locator("h1").inner_text() == behaviour.id
        for app in ("aiohttp", "django"):  # each source named once, where its first stage is
            starts = page.locator(f".aligned .side.{app} .chunk .ref code")
            assert starts.count() == len(behaviour.implementations[app]), (behaviour.id, app)
        assert page.locator("table.cases tbody tr[id^='case-']").count() == len(behaviour.cases)


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_each_step_of_a_case_is_a_row_its_outcomes_span(
    site_url: str, open_page: OpenPage, width: int
) -> None:
    """items' first case: POST then GET, each request beside what it expects; a long body wraps."""
    page = open_page(f"{site_url}/behaviours/items.html", width)
    first = page.locator("#case-1")
    second = page.locator("#case-1 + tr.step")
    assert "1. POST /items" in first.inner_text()
    assert "2. GET /items/{id}" in second.inner_text()
    request, expect = second.locator("td").nth(0), second.locator("td").nth(1)
    r, e = box(request), box(expect)
    assert abs(r["y"] - e["y"]) < 1 and r["x"] + r["width"] <= e["x"] + 1, (r, e)
    assert "status 200" in expect.inner_text()
    outcome = box(first.locator("td.status").first)
    height = box(first)["height"] + box(second)["height"]
    assert outcome["height"] >= height - 1, "the outcome spans both steps"
    page.goto(f"{site_url}/behaviours/errors.html")
    assert "(1048577 bytes in all)" in page.locator("table.cases").inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"


def test_the_bench_plots_load_on_the_overview_and_behaviour_pages(
    site_url: str, open_page: OpenPage
) -> None:
    """docs/bench/'s plots (or var/bench's, after a local `make bench`) as images that load."""
    page = open_page(f"{site_url}/bench.html", WIDE)
    images = page.locator("figure.plot img")
    assert images.count() > 2, "the overview and a plot a measurement"
    page.wait_for_load_state("load")
    widths = page.eval_on_selector_all(
        "figure.plot img", "images => images.map(image => image.naturalWidth)"
    )
    assert all(width > 100 for width in widths), widths
    screenshot(page, "bench-1400")
    page.goto(f"{site_url}/behaviours/json.html")
    plot = page.locator("#measured figure.plot img").first
    assert plot.evaluate("image => image.complete && image.naturalWidth") > 100
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


APPS = ("aiohttp", "django-daphne")  # what `make run` serves


@pytest.fixture(scope="module")
def live_site_url(tmp_path_factory: pytest.TempPathFactory, servers: ServerPool) -> Iterator[str]:
    """The site as `make run` serves it (compare/live.py): its Run buttons play cases on aiohttp
    and django-daphne, here the suite's servers."""
    out = tmp_path_factory.mktemp("live-site")
    build(out, load())
    urls = {name: servers.get(name).base_url for name in APPS}
    server = serve_site("127.0.0.1", 0, out, urls)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_case(page: Page, number: int) -> Locator:
    """Click case `number`'s Run button; its answers, once they are shown (a case may take
    seconds: delay's wait up to 10)."""
    page.locator(f"#case-{number} button.run").click()
    ran = page.locator(f"#case-{number} ~ tr.ran").first
    ran.locator("table.answers").wait_for(timeout=60_000)
    return ran


def cells(row: Locator) -> list[str]:
    return [text.strip() for text in row.locator("th, td").all_inner_texts()]


def test_run_buttons_play_a_case_on_both_apps_and_show_both_answers(
    live_site_url: str, open_page: OpenPage
) -> None:
    """A websocket case, a declared difference and an HTTP case, each played on both apps from
    the page; every answer beside the other, field by field, with its verdict."""
    page = open_page(f"{live_site_url}/behaviours/ws-echo.html", WIDE)
    help_text = page.locator(".run-help").inner_text()
    assert "Run plays a case on aiohttp at http://127.0.0.1:" in help_text
    buttons = page.locator("table.cases button.run")
    assert buttons.count() == len(spec().behaviour("ws-echo").cases)
    first = run_case(page, 1)
    heads = first.locator("table.answers thead th").all_inner_texts()
    assert [head.split("\n")[0] for head in heads[2:]] == list(APPS)
    rows = [cells(row) for row in first.locator("table.answers tbody tr").all()]
    assert ["handshake", "status", *["101 Switching Protocols"] * 2] in rows
    assert rows[-1] == ["spec", "", "meets the spec", "meets the spec"]
    third = run_case(page, 3)  # daphne drops an empty message (declared)
    differs = third.locator("table.answers tr.differs")
    assert differs.count() >= 1
    assert cells(third.locator("table.answers tbody tr").last) == [
        "spec", "", "meets the spec", "differs, as declared"
    ]  # fmt: skip
    assert "django-daphne: a declared difference: daphne drops" in third.inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
    screenshot(page, "run-ws-echo-1400")
    top, bottom = box(page.locator("#case-3")), box(third)
    scrolled = page.evaluate("window.scrollY")  # boxes are in the viewport, a clip in the page
    clip: FloatRect = {
        "x": 0,
        "y": top["y"] + scrolled - 8,
        "width": WIDE,
        "height": bottom["y"] + bottom["height"] - top["y"] + 16,
    }
    shot = screenshot(page, "run-ws-echo-readme", clip=clip)
    if UPDATE:
        shutil.copyfile(shot, README_RUN_SHOT)
    page.goto(f"{live_site_url}/behaviours/hello.html")
    ran = run_case(page, 2)
    rows = [cells(row) for row in ran.locator("table.answers tbody tr").all()]
    assert ["", "body", "Hello, Ada", "Hello, Ada"] in rows
    assert rows[-1] == ["spec", "", "meets the spec", "meets the spec"]


def test_a_copy_of_the_site_without_its_server_shows_no_run_buttons(
    site_url: str, open_page: OpenPage
) -> None:
    page = open_page(f"{site_url}/behaviours/ws-echo.html", WIDE)
    page.wait_for_load_state("networkidle")
    assert page.locator("table.cases button.run:visible").count() == 0
    assert "With make run, each case has a Run button" in page.locator(".run-help").inner_text()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize(
    ("origin", "body", "status", "error"),
    [
        pytest.param("http://evil.example", b'{"behaviour": "json", "case": 1}', 403,
                     "only this site's pages", id="foreign-origin"),
        pytest.param(None, b'{"behaviour": "json", "case": 1}', 403,
                     "only this site's pages", id="no-origin"),
        pytest.param("same", b'{"behaviour": "json", "case": 2}', 400,
                     "json has cases 1 to 1", id="no-such-case"),
        pytest.param("same", b'{"behaviour": "jsn", "case": 1}', 400,
                     "Did you mean: json", id="no-such-behaviour"),
        pytest.param("same", b"not json", 400, "Expecting value", id="not-json"),
    ],
)  # fmt: skip
def test_the_run_endpoint_answers_only_its_own_pages_and_names_what_is_wrong(
    live_site_url: str, origin: str | None, body: bytes, status: int, error: str
) -> None:
    """What a foreign page's request or a wrong one gets: 403 as the apps refuse a foreign
    websocket handshake, 400 naming the mistake; never a case played."""
    headers = {"Content-Type": "application/json"}
    if origin is not None:
        headers["Origin"] = live_site_url if origin == "same" else origin
    got, text = post(f"{live_site_url}/api/try", body, headers)
    assert got == status, text
    assert error in json.loads(text)["error"]


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_every_link_of_the_decision_guide_resolves(
    site_url: str, open_page: OpenPage, width: int
) -> None:
    """guide.html: reached from the index, each need's section and each target's reasons there,
    every link resolving; wide tables scroll inside themselves, never the page."""
    page = open_page(f"{site_url}/index.html", width)
    assert f"{site_url}/guide.html" in links_resolve(page, site_url)
    page.goto(f"{site_url}/guide.html")
    hrefs = links_resolve(page, site_url)
    for need in needs():
        assert f"{site_url}/guide.html#{need.id}" in hrefs
        assert page.locator(f"section#{need.id} p.recommendation").count() == 1
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the guide scrolls sideways by {overflow} px at {width} px"
    screenshot(page, f"guide-{width}")
