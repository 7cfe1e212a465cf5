"""The web page end to end: Debian's chromium, headless, driven by Playwright against a real ``callroute serve``.

The store is the demo's week of history with an auditor, tokens and three calls (``web_store.py``); the server's
clock is fixed on the Monday after it (``SERVER_NOW``), so what the page shows never depends on today's date. Each
step keeps a screenshot in ``$CALLROUTE_WEB_SCREENSHOTS`` (default: ``web-screenshots`` in the run's temporary
folder, whose path the first test prints). A machine without chromium fails these tests, naming what to install.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.adapters.browser import callroute_serve, chromium, screenshots_folder
from tests.adapters.clirun import invoke
from tests.adapters.http_server import SLUG, token
from tests.adapters.web_store import OTHER_TENANT, SERVER_NOW, build_web_store

pytestmark = pytest.mark.slow  # the server is a process of its own: it is handed the store with for_child (browser.py)

ROOT = Path(__file__).resolve().parents[2]
WAIT = 15_000
"""Milliseconds a step waits for the page (the machine is loaded)."""


class Site:
    def __init__(self, url: str, context: Any, shots: Path) -> None:
        self.url = url
        self.context = context
        self.shots = shots

    def page(self, *, width: int = 1280, height: int = 900) -> Any:
        page = self.context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        page.set_default_timeout(WAIT)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors
        return page

    def signed_in(self, who: str = "auditor", **size: int) -> Any:
        page = self.page(**size)
        page.goto(f"{self.url}/")
        page.get_by_label("Bearer token").fill(token(who))
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Tenants").wait_for()
        return page

    def shot(self, page: Any, name: str) -> None:
        page.screenshot(path=self.shots / f"{name}.png", full_page=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db = build_web_store(tmp_path_factory.mktemp("web-e2e") / "web.sqlite")
    shots = screenshots_folder(tmp_path_factory.getbasetemp() / "web-screenshots")
    with callroute_serve(db, SERVER_NOW) as url, chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield Site(url, context, shots)


def expect() -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def test_sign_in_lists_only_the_tenants_the_principal_may_read(site: Site) -> None:
    print(f"screenshots: {site.shots}")
    page = site.page()
    page.goto(f"{site.url}/")
    site.shot(page, "01-sign-in")
    page.get_by_label("Bearer token").fill("crt_00000000000000a2_not-the-secret")
    page.get_by_role("button", name="Sign in").click()
    expect()(page.get_by_role("alert")).to_contain_text("unknown or was revoked")
    page.get_by_label("Bearer token").fill(token("auditor"))
    page.get_by_role("button", name="Sign in").click()
    expect()(page.get_by_role("heading", name="Tenants")).to_be_visible()
    expect()(page.locator("#who")).to_contain_text("audrey@nordic-dental.example")
    links = page.locator("main table a")
    expect()(links).to_have_text([SLUG])  # not the Malmö tenant: its admins did not grant the auditor
    site.shot(page, "02-tenants")
    admin = site.signed_in("admin")
    expect()(admin.locator("main table a")).to_have_count(2)
    assert page.errors == [] and admin.errors == []


def test_the_timeline_marks_each_change_saved_and_live_with_its_deadline_and_the_dst_changes(site: Site) -> None:
    page = site.signed_in()
    page.get_by_role("link", name=SLUG).click()
    svg = page.locator("svg.timeline-svg")
    expect()(svg).to_be_visible()
    expect()(page.locator("figcaption")).to_contain_text("version 40 saved, version 38 live")
    expect()(svg.locator(".confirm-mark")).to_have_count(1)
    expect()(svg.locator(".overdue-label")).to_have_text("overdue")  # Carla's divert, due on the Saturday, not live on Monday
    expect()(page.get_by_role("heading", name="Pending at 2026-11-23 11:00 CET: 2 (1 overdue)")).to_be_visible()
    site.shot(page, "03-timeline")
    # Hover text on a mark, and details on a click: who, why, before → after.
    overdue = svg.locator("g.mark.overdue")
    expect()(overdue.locator("title")).to_contain_text("v39 DivertSet by admin@nordic-dental.example")
    overdue.locator("circle").click()
    detail = page.locator("section.detail")
    expect()(detail).to_contain_text("Carla is back from holiday")
    expect()(detail.locator(".field-changes")).to_contain_text("user 2003")
    expect()(detail.locator(".field-changes .after")).to_contain_text(["off"])
    site.shot(page, "04-timeline-detail")
    # Zoom to a year: the DST changes of 2026 and 2027 in the tenant's zone are marked.
    page.get_by_role("button", name="Year").click()
    expect()(page.get_by_role("button", name="Year")).to_have_attribute("aria-pressed", "true")
    expect()(svg.locator(".dst-label")).to_contain_text(["CET UTC+01:00", "CEST UTC+02:00"])
    site.shot(page, "05-timeline-year")
    page.get_by_role("button", name="Hour").click()
    expect()(page.locator("figcaption")).to_contain_text("(Europe/Stockholm)")
    # Filter by user: only the changes that touched 2003 are left.
    page.get_by_role("button", name="Fit all").click()
    page.get_by_label("Filter by").select_option("user")
    page.get_by_label("Value").fill("2003")
    heading = page.get_by_role("heading", name="Changes in view:")
    expect()(heading).not_to_have_text("Changes in view: 40")
    count = int(heading.inner_text().rsplit(" ", 1)[1])
    assert 1 < count < 40
    expect()(page.locator(".listing tbody tr").filter(has_text="Carla is back from holiday")).to_have_count(1)
    page.get_by_label("Filter by").select_option("actor")
    page.get_by_label("Value").fill("phoneline")
    expect()(heading).to_have_text("Changes in view: 1")  # the partner's PIN change
    site.shot(page, "06-timeline-filtered")
    assert page.errors == []


def test_an_instant_picked_on_the_timeline_shows_the_saved_and_live_configuration_then(site: Site) -> None:
    page = site.signed_in()
    page.goto(f"{site.url}/#/t/{SLUG}/timeline")
    area = page.locator("svg.timeline-svg rect.pick-area")
    box = area.bounding_box()
    assert box is not None
    # Three quarters along the fitted axis: the Saturday, after Carla's divert was saved and before Monday.
    area.click(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
    expect()(page.locator("svg.timeline-svg line.picked")).to_have_count(1)
    picked = page.locator(".picked-instant")
    expect()(picked).to_contain_text("Picked Sat 2026-11-21")
    picked.get_by_role("link", name="configuration and routing table as of then").click()
    saved = page.get_by_role("region", name="Saved (desired)")
    live = page.get_by_role("region", name="Live on the PBX (effective)")
    expect()(saved.locator(".version")).to_contain_text("Version 39")
    expect()(live.locator(".version")).to_contain_text("Version 38")
    expect()(page.get_by_role("region", name="Saved but not live")).to_contain_text("version 38 → 39")
    expect()(page.get_by_role("region", name="Saved but not live")).to_contain_text("user 2003")
    site.shot(page, "07-as-of-picked")
    # Typed instead, with a diff to another instant.
    page.get_by_label("Instant", exact=True).fill("2026-11-16T12:00")
    page.get_by_label("Diff to another instant (optional)").fill("2026-11-21T12:00")
    page.get_by_role("button", name="Show").click()
    expect()(saved.locator(".version")).to_contain_text("Version 38 at Mon 2026-11-16 12:00:00 CET")
    expect()(live).to_contain_text("nothing of it was live yet")
    expect()(page.get_by_role("region", name="Difference")).to_contain_text("version 38 → 39 (saved), 1 value changed")
    site.shot(page, "08-as-of-typed")
    assert page.errors == []


def test_a_call_is_explained_by_the_live_and_the_saved_table_side_by_side(site: Site) -> None:
    page = site.signed_in()
    page.goto(f"{site.url}/#/t/{SLUG}/explain")
    page.get_by_label("Number dialled").fill("2003")
    page.get_by_label("Caller", exact=True).fill("441234567890")
    page.get_by_label("Instant", exact=True).fill("2026-11-20T17:59:59")
    page.get_by_role("button", name="Explain").click()
    live = page.get_by_role("region", name="Live on the PBX (effective)")
    saved = page.get_by_role("region", name="Saved (desired)")
    expect()(live.locator("ul.plan")).to_contain_text("ring user 2002")  # the divert still live on the PBX
    expect()(saved.locator("ul.plan")).to_contain_text("ring user 2003")
    expect()(live.locator("ol.steps li.matched")).to_contain_text(["number 2003: entry", "user 2003: forward always"])
    expect()(live).to_contain_text("table version 38")
    expect()(saved).to_contain_text("table version 39")
    site.shot(page, "09-explain")
    # Withheld caller, digits and an endpoint state, on the main number's IVR after hours.
    page.get_by_label("Number dialled").fill("+46812345601")
    page.get_by_label("Caller withheld").check()
    page.get_by_label("Digits pressed").fill("3")
    page.get_by_label("Busy").fill("2001")
    page.get_by_role("button", name="Explain").click()
    expect()(live).to_contain_text("withheld (restricted)")
    expect()(live.locator("ul.plan")).to_contain_text("voicemail of 2001")
    site.shot(page, "10-explain-withheld")
    assert page.errors == []


def test_the_calls_mark_the_deviations_and_a_click_explains_one_at_its_instant(site: Site) -> None:
    page = site.signed_in()
    page.goto(f"{site.url}/#/t/{SLUG}/calls")
    rows = page.locator("main tbody tr")
    expect()(rows).to_have_count(3)
    expect()(page.locator("tr.deviates")).to_have_count(2)
    expect()(page.locator("tr.deviates").last).to_contain_text("follows version 39, saved but not live")
    site.shot(page, "11-calls")
    page.get_by_role("link", name="Explain call c3 at its instant").click()
    expect()(page.get_by_label("Instant", exact=True)).to_have_value("2026-11-20T17:45:00+01:00")
    expect()(page.get_by_role("region", name="Live on the PBX (effective)").locator("ul.plan")).to_contain_text("ring user 2002")
    expect()(page.get_by_role("region", name="Saved (desired)").locator("ul.plan")).to_contain_text("ring user 2003")
    site.shot(page, "12-calls-explained")
    page.goto(f"{site.url}/#/t/{SLUG}/integrity")
    head = page.get_by_label("Tenant head (over every event of the tenant; keep it to compare later)")
    expect()(head).to_have_value(re.compile(r"^[0-9a-f]{64}$"))
    expect()(page.locator("main")).to_contain_text("Intact:")
    page.get_by_role("button", name="Copy").click()
    expect()(page.get_by_role("status").last).to_contain_text(re.compile("copied|selected"))
    site.shot(page, "13-integrity")
    assert page.errors == []


def test_the_integrity_page_gives_the_store_head_to_an_operator_only(site: Site) -> None:
    store_head = "Store head (over every event of the store"
    operator = site.signed_in("operator")
    operator.goto(f"{site.url}/#/t/{SLUG}/integrity")
    head = operator.get_by_label(store_head)
    expect()(head).to_have_value(re.compile(r"^[0-9a-f]{64}$"))
    line = operator.locator("p.store-line")
    expect()(line).to_have_text(re.compile(r"^store head [0-9a-f]{64} after \d+ events$"))
    assert line.inner_text().split()[2] == head.input_value()
    expect()(operator.get_by_role("region", name="The whole store")).to_contain_text("Intact:")
    operator.get_by_role("button", name="Copy the store head").click()
    expect()(operator.get_by_role("status").last).to_contain_text(re.compile("copied|selected"))
    site.shot(operator, "13-integrity-operator")
    assert operator.errors == []
    for who in ("admin", "auditor"):  # the tenant's own principals: its head, what it covers, and no store head
        page = site.signed_in(who)
        asked: list[str] = []
        page.on("request", lambda request, asked=asked: asked.append(request.url))
        page.goto(f"{site.url}/#/t/{SLUG}/integrity")
        expect()(page.get_by_label("Tenant head (over every event of the tenant; keep it to compare later)")).to_have_value(
            re.compile(r"^[0-9a-f]{64}$"))
        expect()(page.locator("p.scope-note")).to_contain_text("the store head, over every event of the store, is a platform "
                                                               "operator's to keep")
        # What verify compared of the projection rows, in words (projection_status): never silence read as agreement.
        expect()(page.locator("main")).to_contain_text(re.compile(r"Projection rows agree with the events\.|No projection rows "
                                                                  r"of this tenant are kept yet"))
        expect()(page.get_by_label(store_head)).to_have_count(0)
        expect()(page.locator("main")).not_to_contain_text(re.compile(r"store head [0-9a-f]{64}"))
        expect()(page.get_by_role("region", name="The whole store")).to_have_count(0)
        assert not [url for url in asked if url.endswith("/v1/verify")]  # the page does not even ask
        assert page.errors == []


def test_a_tenant_the_principal_may_not_read_looks_exactly_like_one_that_does_not_exist(site: Site) -> None:
    page = site.signed_in()
    texts = []
    for slug in (OTHER_TENANT, "nordic-dental-malmx"):
        page.goto(f"{site.url}/#/t/{slug}/timeline")
        expect()(page.get_by_role("heading", name="Not found")).to_be_visible()
        expect()(page.get_by_role("alert")).to_contain_text(f"no tenant '{slug}' that 'audrey@nordic-dental.example' may read")
        expect()(page.locator("#tenant-nav a")).to_have_count(0)
        texts.append(page.locator("main").inner_text().replace(slug, "<slug>"))
        site.shot(page, f"14-not-found-{slug}")
    assert texts[0] == texts[1]
    admin = site.signed_in("admin")  # its admin may read it: the page can tell when it may
    admin.goto(f"{site.url}/#/t/{OTHER_TENANT}/timeline")
    expect()(admin.locator("svg.timeline-svg")).to_be_visible()


def test_the_page_works_with_the_keyboard_alone(site: Site) -> None:
    page = site.page()
    page.goto(f"{site.url}/")
    page.get_by_label("Bearer token").wait_for()
    assert page.evaluate("document.activeElement.name") == "token"  # the sign-in form takes the focus
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.textContent") == "callroute"  # before it: the home link, and the skip link
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")  # the skip link moves the focus to the page's heading, and the route stays
    assert page.evaluate("[document.activeElement.tagName, location.hash]") == ["H2", ""]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "token"
    page.keyboard.type(token("auditor"))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Tenants").wait_for()

    def tab_to(test: str, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"(() => {{ const el = document.activeElement; return {test}; }})()"):
                return
        raise AssertionError(f"no element with {test} within {limit} presses of Tab")

    tab_to(f"el.textContent === {json.dumps(SLUG)} && el.tagName === 'A'")
    page.keyboard.press("Enter")
    page.locator("svg.timeline-svg").wait_for()
    tab_to("el.textContent === 'Day' && el.tagName === 'BUTTON'")
    page.keyboard.press("Enter")
    expect()(page.get_by_role("button", name="Day")).to_have_attribute("aria-pressed", "true")
    tab_to("el.textContent === 'v39 DivertSet' && el.tagName === 'BUTTON'")  # in the pending list
    page.keyboard.press("Enter")
    expect()(page.locator("section.detail")).to_contain_text("Carla is back from holiday")
    tab_to("el.getAttribute('href') === '#/t/nordic-dental/as-of?at=2026-11-20T17%3A30%3A00%2B01%3A00'", limit=40)
    page.keyboard.press("Enter")
    expect()(page.get_by_role("region", name="Saved (desired)").locator(".version")).to_contain_text("Version 39")
    site.shot(page, "15-keyboard")
    assert page.errors == []


@pytest.mark.parametrize("path", ["", f"#/t/{SLUG}/timeline", f"#/t/{SLUG}/explain?to=2003&at=2026-11-20T17%3A59",
                                  f"#/t/{SLUG}/calls", f"#/t/{SLUG}/integrity"])
def test_every_page_fits_a_phone_sized_screen(site: Site, path: str) -> None:
    page = site.signed_in(width=390, height=844)
    page.goto(f"{site.url}/{path}")
    page.locator("main h2").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    if "explain" in path:
        live = page.get_by_role("region", name="Live on the PBX (effective)").bounding_box()
        saved = page.get_by_role("region", name="Saved (desired)").bounding_box()
        assert live is not None and saved is not None and saved["y"] > live["y"] + live["height"] - 1  # stacked
    name = path.split("/")[3].split("?")[0] if path else "tenants"
    site.shot(page, f"16-phone-{name}")
    assert page.errors == []


def test_a_simulation_report_opens_in_the_page(site: Site, tmp_path: Path) -> None:
    report = {"seed": 1, "engine": "general", "trace_sha256": None,
              "kpis": {"offered": 3, "answered": 3, "abandoned": 0, "voicemail": 0, "missed": 0, "busy": 0, "rejected": 0,
                       "asa_seconds": 4.7, "mean_wait_seconds": 4.7, "wait_p90": 6.0, "abandon_rate": 0.0,
                       "probability_of_waiting": 0.0, "service_level": {"20s": 1.0}, "simulated_seconds": 13200.0,
                       "hourly_arrivals": [1, 1, 0, 1], "hourly_answered": [1, 1, 0, 1],
                       "agents": {"2001": {"answered": 2, "occupancy": 0.036}}},
              "assertions": [{"assertion": "call 1 is answered by 2001", "passed": True, "detail": "call 1: answered by 2001"},
                             {"assertion": "call 3 is answered by 2003", "passed": False, "detail": "call 3: answered by 2002"}]}
    page = site.signed_in()
    page.get_by_role("link", name="Open a simulation report").click()
    page.get_by_label("Or paste the report").fill("{not json")
    page.get_by_role("button", name="Show report").click()
    expect()(page.get_by_role("alert")).to_contain_text("not JSON")
    page.get_by_label("Or paste the report").fill(json.dumps(report))
    page.get_by_role("button", name="Show report").click()
    output = page.get_by_role("region", name="Simulation report")
    expect()(output.get_by_role("heading")).to_have_text("3 calls simulated: 1 of 2 assertions pass")
    expect()(output.locator("tr.deviates")).to_contain_text("call 3 is answered by 2003")
    site.shot(page, "17-simulation-pasted")
    # A real report, as a file: what callroute simulate --json prints for the Friday divert example.
    result = invoke(["simulate", str(ROOT / "examples" / "friday_divert.toml"), "--json"])
    assert result.exit_code == 0, result.output
    chosen = tmp_path / "report.json"
    chosen.write_text(result.stdout)
    page.get_by_label("Report file").set_input_files(str(chosen))
    expect()(output.get_by_role("heading")).to_have_text("3 calls simulated: 3 of 3 assertions pass")
    expect()(output.locator("figure svg rect.offered")).to_have_count(len(json.loads(result.stdout)["kpis"]["hourly_arrivals"]))
    site.shot(page, "18-simulation-file")
    assert page.errors == []
