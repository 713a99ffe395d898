"""The studio page in a real browser: Playwright driving the system's Chromium (Debian's `chromium`
package; CI installs it with apt), headless. Every panel is used once with the tiny runs of
conftest.RUNS; each test asserts that the image, strip, grid or plot it asks for appears, and that
the browser console shows no error (a failed request, a script error, a blocked resource)."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt install chromium)")
TIMEOUT = 20_000  # ms


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, studio):
    """A fresh page on the studio; at the end, no console error may have been logged."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    errors = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(studio)
    yield pg
    assert pg.locator("#status.error").count() == 0, pg.locator("#status").text_content()
    context.close()
    assert errors == [], errors


def src_of(page, selector: str) -> str:
    return page.locator(selector).get_attribute("src") or ""


def wait_for_new_src(page, selector: str, old: str) -> str:
    """Wait until the image at `selector` shows a PNG other than `old`."""
    page.wait_for_function(
        "([sel, old]) => { const s = document.querySelector(sel).getAttribute('src') || ''; "
        "return s.startsWith('data:image/png') && s !== old; }",
        arg=[selector, old],
    )
    return src_of(page, selector)


def upload_file(tmp_path, size: int = 24) -> str:
    path = tmp_path / "upload.png"
    arr = np.random.default_rng(0).integers(0, 256, (size, size)).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return str(path)


def choose(page, model_id: str, panel: str) -> None:
    page.select_option("#model", model_id)
    page.click(f"#tabs button[data-panel={panel}]")


def test_generate_grid_updates_as_controls_move(page):
    first = wait_for_new_src(page, "#gen-image", "")  # dcgan, the first model, on the first panel
    assert page.locator("#gen-image").is_visible()
    assert page.locator("label[data-cap=classes]").first.is_hidden()  # unconditional: no class picker
    page.fill("#gen-seed", "7")
    second = wait_for_new_src(page, "#gen-image", first)
    page.locator("#gen-count").fill("4")  # a range input: sets the value, fires input
    wait_for_new_src(page, "#gen-image", second)
    page.select_option("#model", "cdcgan")
    page.wait_for_function("() => document.querySelector('#gen-class').options.length === 11")
    before = src_of(page, "#gen-image")
    page.select_option("#gen-class", "3")
    after = wait_for_new_src(page, "#gen-image", before)
    page.check("#gen-trunc-on")
    wait_for_new_src(page, "#gen-image", after)
    width = page.evaluate("() => document.querySelector('#gen-image').naturalWidth")
    assert width > 32  # a grid, decoded by the browser
    page.select_option("#model", "points")  # 2-D points: a scatter plot on a canvas instead of a grid
    page.locator("#gen-points").wait_for(state="visible")
    assert page.locator("#gen-image").is_hidden()
    assert page.locator("#tabs button[data-panel=explore]").is_hidden()  # no interpolation for points


def test_explore_interpolation_style_mixing_and_projection(page, tmp_path):
    choose(page, "stylegan", "explore")
    strip = wait_for_new_src(page, "#int-strip", "")
    frame = wait_for_new_src(page, "#int-anim", "")
    wait_for_new_src(page, "#int-anim", frame)  # the animation moves on by itself
    page.fill("#int-b", "11")
    wait_for_new_src(page, "#int-strip", strip)
    grid = wait_for_new_src(page, "#mix-image", "")
    page.locator("#mix-cross").fill("1")
    wait_for_new_src(page, "#mix-image", grid)
    page.set_input_files("#proj-file", upload_file(tmp_path))
    page.fill("#proj-steps", "5")
    page.click("#proj-go")
    wait_for_new_src(page, "#proj-recon", "")
    assert src_of(page, "#proj-target").startswith("data:image/png")
    page.wait_for_function("() => document.querySelectorAll('#proj-loss polyline').length === 1")
    assert "PSNR" in page.locator("#proj-psnr").text_content()
    assert page.locator("#tabs button[data-panel=transform]").is_hidden()  # stylegan does not translate


def test_transform_translates_both_directions(page, tmp_path):
    choose(page, "cyclegan", "transform")
    assert page.locator("#tabs button[data-panel=generate]").is_hidden()  # cyclegan does not sample noise
    assert page.locator("input[name=direction]").count() == 2
    page.set_input_files("#tr-file", upload_file(tmp_path, 40))
    page.click("#tr-go")
    out = wait_for_new_src(page, "#tr-output", "")
    page.check("input[name=direction][value=BtoA]")
    page.click("#tr-go")
    wait_for_new_src(page, "#tr-output", out)
    assert page.locator("#tr-caption").text_content() == "output (BtoA)"
    page.select_option("#model", "pix2pix")
    page.wait_for_function("() => document.querySelectorAll('input[name=direction]').length === 1")


def test_runs_side_by_side_with_loss_curves_samples_and_evaluations(page):
    page.click("#tabs button[data-panel=runs]")
    cards = page.locator(".run-card")
    page.wait_for_function("() => document.querySelectorAll('.run-card svg polyline').length >= 2")
    left, right = page.locator(".run-pick").nth(0), page.locator(".run-pick").nth(1)
    left.select_option("dcgan")
    right.select_option("stylegan")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.run-card h3')].map(h => h.textContent).join('|') === 'dcgan|stylegan'"
    )
    for i in range(2):
        card = cards.nth(i)
        card.locator("svg polyline").first.wait_for()
        page.wait_for_function(
            "i => { const img = document.querySelectorAll('.run-card')[i].querySelector('.run-sample'); "
            "return img && !img.hidden && img.complete && img.naturalWidth > 0; }",
            arg=i,
        )
    assert "fid 123.4" in cards.nth(0).locator(".evals").text_content()
    assert '"family": "stylegan"' in cards.nth(1).locator("pre.config").text_content()


def test_a_training_runs_loss_curve_grows_while_the_page_is_open(page, runs_dir):
    """New lines in metrics.jsonl reach the chart through the page's own polling (every 2 s)."""
    run = runs_dir / "growing"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": {"family": "dcgan"}, "train": {"steps": 100}}))
    log = run / "metrics.jsonl"
    log.write_text("".join(json.dumps({"kind": "train", "step": s, "loss_D": 1.0 / s}) + "\n" for s in (1, 2)))
    page.click("#tabs button[data-panel=runs]")
    page.wait_for_function("() => [...document.querySelectorAll('.run-pick option')].some(o => o.value === 'growing')")
    page.locator(".run-pick").nth(0).select_option("growing")
    points = "() => { const l = document.querySelector('.run-card polyline'); return l ? l.getAttribute('points').split(' ').length : 0; }"
    page.wait_for_function(f"() => ({points})() === 2")
    with open(log, "a") as f:  # the trainer writes two more steps, the last line still half written
        f.write(json.dumps({"kind": "train", "step": 3, "loss_D": 0.3}) + "\n" + '{"kind": "train", "st')
    page.wait_for_function(f"() => ({points})() === 3")
    assert "step 3 of 100" in page.locator(".run-progress").first.text_content()


def test_the_api_page_renders_offline(page, studio):
    page.goto(studio + "api-docs")
    page.wait_for_selector("#endpoints h3")
    headings = page.locator("#endpoints h3").all_text_contents()
    assert "POST /api/generate" in headings and "GET /api/runs/{run_id}/metrics" in headings
    assert page.locator("table.fields").count() >= 5


def test_tables_impute_and_synthesize_with_a_where_condition(page, table_csv, tmp_path):
    choose(page, "gain", "tables")
    assert page.locator("#tabs button[data-panel=generate]").is_hidden()  # an imputer samples nothing from noise
    assert page.locator("#tables .block[data-cap=synthesize-rows]").is_hidden()
    page.set_input_files("#imp-file", str(table_csv))
    page.click("#imp-go")
    wait_for_new_src(page, "#imp-after", "")
    assert src_of(page, "#imp-before").startswith("data:image/png")
    assert page.locator("#imp-preview tr").count() == 21 and page.locator("#imp-preview td.filled").count() > 0
    assert "cells filled" in page.locator("#imp-summary").text_content()
    with page.expect_download() as download:
        page.click("#imp-download")
    raw = table_csv.read_text().splitlines()
    filled = open(download.value.path()).read().splitlines()
    assert len(filled) == len(raw) and "?" not in ",".join(filled).split(",")
    for r, f in zip(raw, filled):  # observed cells as the file had them
        assert all(a == b for a, b in zip(r.split(","), f.split(",")) if a != "?")

    page.select_option("#model", "ctgan")  # the tables tab stays, now with the synthesize block only
    assert page.locator("#tables .block[data-cap=impute]").is_hidden()
    assert page.locator("#imp-preview tr").count() == 0  # the previous model's table is gone
    page.wait_for_function("() => document.querySelector('#syn-col').options.length === 2")  # (any row), c
    page.select_option("#syn-col", "c")
    page.select_option("#syn-val", "lo")
    page.fill("#syn-n", "50")
    page.click("#syn-go")
    page.wait_for_function("() => document.querySelectorAll('#syn-hists svg').length === 3")
    assert page.locator("#syn-hists rect.bar-a").count() > 0 and page.locator("#syn-hists rect.bar-b").count() > 0
    assert page.locator("#syn-preview tr").count() == 21
    assert "where c = lo" in page.locator("#syn-note").text_content()
    with page.expect_download() as download:
        page.click("#syn-download")
    rows = open(download.value.path()).read().splitlines()
    assert rows[0] == "x,k,c" and len(rows) == 51 and all(r.endswith(",lo") for r in rows[1:])


def test_anomaly_scores_a_few_images_with_a_histogram(page, tmp_path):
    choose(page, "ganomaly", "anomaly")
    assert page.locator("#tabs button[data-panel=generate]").is_hidden()  # a detector samples nothing either
    assert float(page.input_value("#det-threshold")) >= 0  # the model's default
    files = []
    for i in range(3):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (32, 32)).astype(np.uint8)).save(path)
        files.append(str(path))
    page.set_input_files("#det-files", files)
    page.click("#det-go")
    page.wait_for_function("() => document.querySelectorAll('#det-table tr').length === 4")
    assert page.locator("#det-hist rect").count() == 20 and page.locator("#det-hist").is_visible()
    assert page.locator("#det-table td").nth(0).text_content() == "digit0.png"
    page.fill("#det-threshold", "-5")  # everything is over it
    page.click("#det-go")
    page.wait_for_function("() => document.querySelectorAll('#det-table td.flagged:first-child').length === 3")
    assert "3 over the threshold" in page.locator("#det-summary").text_content()
