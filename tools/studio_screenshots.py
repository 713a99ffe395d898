"""Screenshots of every studio panel for the README: docs/img/studio-<panel>.png, 1000 pixels wide.

    python tools/studio_screenshots.py RUN [RUN ...] [--runs DIR] [--out docs/img] [--panels tables,anomaly]

Serves the runs given (any families) in this process, drives headless Chromium (the system's
`chromium`) through each panel with the first model that can do what the panel shows, and saves
the page once its images are in: generate, explore (interpolation, and style mixing + projection
when a model has per-layer styles), transform (translation, both directions where the model has
them), runs (the first two runs under --runs side by side), tables (imputation above, synthetic rows
with a `where` condition below: two models, one picture) and anomaly, and the API page; --panels
names a subset. Each PNG is reduced to 256 colours to stay small. The uploads are MNIST test digits
(the copy embedded in the package when $GANFORGE_DATA has none): a digit to project, an edge map
(edges2digits) to translate, 16 digits to score (named by their class); the table to impute is the
first 300 rows of the imputer's own training table with 15% of its cells blanked (seeded).
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import torch
from PIL import Image

from ganforge.data.datasets import build_dataset
from ganforge.data.tables import resolve_path
from ganforge.io import save_image
from ganforge.schema import DataConfig
from ganforge.serve.app import create_app
from ganforge.serve.models import serve_models
from ganforge.serve.server import BackgroundServer

WIDTH, HEIGHT = 1000, 760
TIMEOUT = 120_000  # ms: a projection on a busy CPU


def first_with(models: list[dict], capability: str) -> dict | None:
    return next((m for m in models if capability in m["capabilities"]), None)


def save_small(png: bytes, path: Path) -> None:
    """A screenshot as a 256-colour PNG (a third of the size, no visible change for these pages)."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def wait_new(page, selector: str, old: str = "") -> str:
    page.wait_for_function(
        "([sel, old]) => { const s = document.querySelector(sel).getAttribute('src') || '';"
        " return s.startsWith('data:image/png') && s !== old; }",
        arg=[selector, old],
    )
    return page.locator(selector).get_attribute("src")


def upload_inputs(tmp: Path) -> tuple[Path, Path]:
    """(projection target, translation input) as PNG files: an MNIST test digit, and the edge map of
    one from edges2digits' test split (the embedded copy of MNIST's test set when $GANFORGE_DATA has none)."""
    digits = build_dataset(DataConfig(name="mnist", split="test", limit=8))
    edges = build_dataset(DataConfig(name="edges2digits", split="test", limit=8))
    files = []
    for name, image in (("target.png", digits.x[2]), ("input.png", edges.x[5])):
        save_image(image, tmp / name)
        files.append(tmp / name)
    return files[0], files[1]


PANELS = ("generate", "explore", "transform", "runs", "tables", "anomaly", "api")


def holes_table(train_table: Path, tmp: Path, rows: int = 300, share: float = 0.15) -> Path:
    """The first `rows` rows of a training table with `share` of the cells blanked (seeded)."""
    frame = pd.read_csv(train_table, dtype=str, keep_default_na=False, nrows=rows)
    holes = np.random.default_rng(0).random(frame.shape) < share
    path = tmp / "holes.csv"
    frame.mask(holes, "").to_csv(path, index=False)
    return path


def digits_to_score(tmp: Path, unseen: list[int], n: int = 16) -> list[str]:
    """n MNIST test digits as PNG files named digit-<class>-<i>.png: a quarter of them of the `unseen`
    classes (those the detector was trained without), when it names any."""
    digits = build_dataset(DataConfig(name="mnist", split="test", limit=500))
    labels = digits.y.tolist()
    odd = [i for i, y in enumerate(labels) if y in unseen][: n // 4]
    pick = sorted([i for i, y in enumerate(labels) if y not in unseen][: n - len(odd)] + odd)
    files = []
    for i in pick:
        image, label = digits.x[i], labels[i]
        path = tmp / f"digit-{label}-{i:03d}.png"
        save_image(image, path)
        files.append(str(path))
    return files


def stack(top: bytes, bottom: bytes) -> bytes:
    """Two screenshots one above the other, as one PNG."""
    a, b = (Image.open(io.BytesIO(x)).convert("RGB") for x in (top, bottom))
    canvas = Image.new("RGB", (max(a.width, b.width), a.height + b.height), "white")
    canvas.paste(a, (0, 0))
    canvas.paste(b, (0, a.height))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()


def shoot(url: str, out: Path, tmp: Path, tables: dict[str, Path], unseen: dict[str, list], panels=PANELS) -> None:
    """`tables`: model id -> the table it was trained on (imputers); `unseen`: model id -> the
    classes it was trained without (detectors)."""
    from playwright.sync_api import sync_playwright

    models = httpx.get(url + "api/models").json()["models"]
    runs = httpx.get(url + "api/runs").json()
    target, source = upload_inputs(tmp)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True)
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.set_default_timeout(TIMEOUT)
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)

        def choose(model: dict, panel: str) -> None:
            page.select_option("#model", model["id"])
            page.click(f"#tabs button[data-panel={panel}]")

        if "generate" in panels and (gen := first_with(models, "generate")):
            choose(gen, "generate")
            page.fill("#gen-seed", "3")
            page.locator("#gen-count").fill("36")
            wait_new(page, "#gen-image", "")
            page.wait_for_timeout(600)  # the debounced update for the count, then settled
            save_small(page.screenshot(), out / "studio-generate.png")
        if "explore" in panels and (exp := first_with(models, "style-mixing") or first_with(models, "interpolate")):
            choose(exp, "explore")
            page.locator("#int-steps").fill("10")
            page.fill("#int-b", "7")
            wait_new(page, "#int-strip", "")
            if "style-mixing" in exp["capabilities"]:
                wait_new(page, "#mix-image", "")
            if "project" in exp["capabilities"]:
                page.set_input_files("#proj-file", str(target))
                page.fill("#proj-steps", "200")
                page.click("#proj-go")
                wait_new(page, "#proj-recon", "")
            page.wait_for_timeout(600)
            save_small(page.screenshot(full_page=True), out / "studio-explore.png")
        if "transform" in panels and (tr := first_with(models, "translate")):
            choose(tr, "transform")
            page.set_input_files("#tr-file", str(source))
            page.click("#tr-go")
            wait_new(page, "#tr-output", "")
            save_small(page.screenshot(), out / "studio-transform.png")
        if "runs" in panels and runs["enabled"] and runs["runs"]:
            page.click("#tabs button[data-panel=runs]")
            page.wait_for_function("() => document.querySelectorAll('.run-card svg polyline').length >= 1")
            page.wait_for_timeout(1500)  # the sample grids load
            save_small(page.screenshot(full_page=True), out / "studio-runs.png")
        imp, syn = first_with(models, "impute"), first_with(models, "synthesize-rows")
        if "tables" in panels and (imp or syn):
            shots = []
            if imp:
                choose(imp, "tables")
                page.set_input_files("#imp-file", str(holes_table(tables[imp["id"]], tmp)))
                page.click("#imp-go")
                wait_new(page, "#imp-after", "")
                page.wait_for_timeout(300)
                shots.append(page.locator("main").screenshot())
            if syn:
                choose(syn, "tables")
                cats = [c for c in syn["table"]["columns"] if c["kind"] == "categorical"]
                if cats:  # the column with the fewest categories, its first one
                    col = min(cats, key=lambda c: len(c["categories"]))
                    page.select_option("#syn-col", col["name"])
                    page.select_option("#syn-val", col["categories"][0])
                page.fill("#syn-n", "2000")
                page.click("#syn-go")
                page.wait_for_function("() => document.querySelectorAll('#syn-hists svg').length > 0")
                page.wait_for_timeout(300)
                shots.append(page.locator("main").screenshot())
            save_small(stack(*shots) if len(shots) == 2 else shots[0], out / "studio-tables.png")
        if "anomaly" in panels and (det := first_with(models, "anomaly")):
            choose(det, "anomaly")
            page.set_input_files("#det-files", digits_to_score(tmp, unseen.get(det["id"], [])))
            page.click("#det-go")
            page.wait_for_function("() => document.querySelectorAll('#det-table tr').length > 1")
            page.wait_for_timeout(300)
            save_small(page.screenshot(full_page=True), out / "studio-anomaly.png")
        if "api" in panels:
            page.goto(url + "api-docs")
            page.wait_for_selector("#endpoints h3")
            save_small(page.screenshot(), out / "studio-api.png")
        browser.close()
    if errors:
        sys.exit(f"console errors: {errors}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="run directories to serve")
    ap.add_argument("--runs", default=None, help="folder of runs for the runs panel")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs/img"))
    ap.add_argument("--panels", default=",".join(PANELS), help=f"a comma-separated subset of {','.join(PANELS)}")
    args = ap.parse_args()
    panels = args.panels.split(",")
    if unknown := set(panels) - set(PANELS):
        sys.exit(f"--panels: unknown {', '.join(sorted(unknown))}; choose from {', '.join(PANELS)}")
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    served = serve_models(args.models)
    tables = {i: resolve_path(m.model.config.data) for i, m in served.items() if "impute" in m.caps}
    unseen = {i: list(m.model.config.data.exclude_classes or []) for i, m in served.items() if "anomaly" in m.caps}
    server = BackgroundServer(create_app(served, args.runs))
    url = server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            shoot(url, out, Path(tmp), tables, unseen, panels)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
