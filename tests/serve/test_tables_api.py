"""The studio's table and anomaly endpoints over real HTTP (conftest.studio: the tiny GAIN, CTGAN and
GANomaly runs): imputation that never alters an observed cell, synthetic rows with and without a
`where` condition and their histograms, anomaly scores of uploaded images; and every bad request of
issue 17 for them -- a million-row CSV, an oversized one, wrong columns, a ragged or binary file,
an unknown condition, too many images -- each refused in one JSON line and followed by a good request."""

import csv
import io

import httpx
import numpy as np
import pandas as pd
import pytest

from ganforge.serve.app import MAX_IMAGES, MAX_ROWS
from ganforge.serve.uploads import MAX_CSV_ROWS, MAX_UPLOAD_BYTES

from tests_helpers import pixels, png_bytes, refused


@pytest.fixture(scope="module")
def client(studio):
    with httpx.Client(base_url=studio, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def table(table_csv) -> bytes:
    """The CSV the table runs were trained on: x, k, c with '?' where a cell is missing."""
    return table_csv.read_bytes()


def impute(client, data: bytes, model: str = "gain", **fields) -> httpx.Response:
    return client.post("/api/impute", data={"model": model, **fields}, files={"table": ("t.csv", data, "text/csv")})


def detect(client, images: list[bytes], model: str = "ganomaly", **fields) -> httpx.Response:
    files = [("images", (f"img{i}.png", b, "image/png")) for i, b in enumerate(images)]
    return client.post("/api/detect", data={"model": model, **fields}, files=files)


def still_serving(client, table: bytes) -> None:
    """The next good request after a refusal is answered."""
    assert impute(client, table).status_code == 200


def texts(data: bytes | str) -> list[list[str]]:
    text = data.decode() if isinstance(data, bytes) else data
    return [r for r in csv.reader(io.StringIO(text)) if r]


# --- capabilities -----------------------------------------------------------------------------------
def test_table_and_detector_models_list_their_panels_and_no_generate(client):
    models = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    assert models["gain"]["capabilities"] == ["impute"]
    assert models["ctgan"]["capabilities"] == ["synthesize-rows"]
    assert models["ganomaly"]["capabilities"] == ["anomaly"]
    columns = models["ctgan"]["table"]["columns"]
    assert [(c["name"], c["kind"]) for c in columns] == [("x", "continuous"), ("k", "integer"), ("c", "categorical")]
    assert columns[2]["categories"] == ["hi", "lo"]
    assert 0 <= models["ganomaly"]["anomaly"]["threshold"] <= 1.5 and models["dcgan"]["table"] is None
    for m in ("gain", "ganomaly"):
        refused(client.post("/api/generate", json={"model": m}), 400, "cannot generate")


# --- impute -----------------------------------------------------------------------------------------
def test_impute_fills_every_missing_cell_and_keeps_every_observed_one(client, table):
    resp = impute(client, table)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    raw, filled = texts(table), texts(out["csv"])
    assert filled[0] == raw[0] == ["x", "k", "c"] and len(filled) == len(raw) == out["rows"] + 1
    n_missing = 0
    for r, f in zip(raw[1:], filled[1:]):
        for a, b in zip(r, f):
            if a == "?":
                n_missing += 1
                assert b not in ("", "?")
            else:
                assert a == b  # the observed text, byte for byte
    assert out["filled"] == n_missing == sum(out["missing_before"].values()) > 0
    assert set(out["missing_after"].values()) == {0}
    assert out["missing_before"] == {c: sum(r[j] == "?" for r in raw[1:]) for j, c in enumerate(raw[0])}
    assert {r[2] for r in filled[1:]} <= {"hi", "lo"} and all(r[1].lstrip("-").isdigit() for r in filled[1:])
    assert out["preview"]["rows"] == filled[1:21]
    assert out["preview"]["filled"] == [[a == "?" for a in r] for r in raw[1:21]]
    before, after = pixels(out["heatmap_before"]), pixels(out["heatmap_after"])
    assert before.shape == after.shape and before.shape[2] == 3
    red, blue = np.array([192, 57, 43]), np.array([59, 130, 196])
    assert (before == red).all(-1).any() and not (after == red).all(-1).any() and (after == blue).all(-1).any()
    assert impute(client, table).json()["csv"] == out["csv"]  # seeded: the same fill again


def test_a_large_table_samples_the_heatmaps_rows(client):
    rows = ["x,k,c"] + [f"{i / 1000},{i % 9},{'hi' if i % 2 else 'lo'}" if i % 7 else ",," for i in range(5000)]
    out = impute(client, ("\n".join(rows) + "\n").encode()).json()
    assert out["rows"] == 5000 and out["heatmap_rows"] == 200 and out["missing_after"] == {"x": 0, "k": 0, "c": 0}


def test_a_million_row_csv_is_refused_by_its_row_count(client, table, tmp_path):
    path = tmp_path / "million.csv"
    with open(path, "w") as f:
        f.write("x,k,c\n")
        f.write("1,2,hi\n" * 1_000_000)  # 7 MB: under the byte cap, so the row cap refuses it
    assert path.stat().st_size <= MAX_UPLOAD_BYTES
    refused(impute(client, path.read_bytes()), 413, f"more than {MAX_CSV_ROWS:,} rows")
    still_serving(client, table)
    over = b"x,k,c\n" + b"1,2,hi\n" * (MAX_CSV_ROWS + 1)  # just over the row cap
    refused(impute(client, over), 413, "more than")
    at = b"x,k,c\n" + b"1,2,hi\n" * MAX_CSV_ROWS
    assert impute(client, at).json()["rows"] == MAX_CSV_ROWS  # the cap itself is allowed


def test_an_oversized_csv_is_refused(client, table):
    big = b"x,k,c\n" + b"1.000000000000000,2,hi\n" * (MAX_UPLOAD_BYTES // 20)
    assert len(big) > MAX_UPLOAD_BYTES
    refused(impute(client, big), 413, "MB")
    still_serving(client, table)


@pytest.mark.parametrize(
    "data, status, fragments",
    [
        (b"x,k\n1,2\n", 422, ["missing 'c'", "trained on 'x', 'k', 'c'"]),
        (",".join(f"c{i}" for i in range(5000)).encode() + b"\n" + b"1," * 4999 + b"1\n", 422, ["and 4990 more"]),
        (b"x,k,c,extra\n1,2,hi,3\n", 422, ["unexpected 'extra'"]),
        (b"x,k,c\n1,2,hi\n3,4\n", 400, ["line 3 has 2 fields", "ragged"]),
        (b"x,k,c\n", 400, ["no rows"]),
        (b"", 400, ["empty"]),
        (png_bytes(), 415, ["not UTF-8"]),
        (b"x,k,c\nabc,2,hi\n", 422, ["'x'", "not a number"]),
        (b"x,k,c\n1,2,mid\n", 422, ["'mid'", "never saw"]),
    ],
    ids=[
        "missing-column",
        "many-columns",
        "extra-column",
        "ragged",
        "header-only",
        "empty",
        "binary",
        "text-in-number",
        "new-category",
    ],
)
def test_a_bad_table_is_refused_in_one_line(client, table, data, status, fragments):
    refused(impute(client, data), status, *fragments)
    still_serving(client, table)


def test_impute_refuses_a_model_that_does_not_impute_and_bad_ids(client, table):
    refused(impute(client, table, model="ctgan"), 400, "cannot impute", "it can: synthesize-rows")
    refused(impute(client, table, model="../gain"), 400, "not a model id")
    refused(impute(client, table, model="nope"), 404, "unknown model id")
    refused(impute(client, table, seed="-1"), 422, "seed")
    refused(client.post("/api/impute", data={"model": "gain"}), 422, "table: required")
    still_serving(client, table)


# --- synthesize -------------------------------------------------------------------------------------
def test_synthesize_rows_and_histograms_against_the_recorded_training_distribution(client):
    resp = client.post("/api/synthesize", json={"model": "ctgan", "n": 300, "seed": 3})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    frame = pd.read_csv(io.StringIO(out["csv"]))
    assert list(frame.columns) == ["x", "k", "c"] and len(frame) == out["n"] == 300
    assert frame["k"].dtype == np.int64 and set(frame["c"]) <= {"hi", "lo"}
    assert out["preview"] == texts(out["csv"])[1:21]
    hists = {h["name"]: h for h in out["histograms"]}
    assert sum(hists["x"]["synthetic"]) == sum(hists["k"]["synthetic"]) == sum(hists["c"]["synthetic"]) == 300
    assert len(hists["x"]["edges"]) == len(hists["x"]["synthetic"]) + 1 == len(hists["x"]["real"]) + 1
    assert hists["x"]["real_source"] == "mixture" and sum(hists["x"]["real"]) == pytest.approx(1)
    assert hists["c"]["categories"] == ["hi", "lo"] and hists["c"]["real_source"] == "frequencies"
    assert sum(hists["c"]["real"]) == pytest.approx(1)
    again = client.post("/api/synthesize", json={"model": "ctgan", "n": 300, "seed": 3}).json()
    assert again["csv"] == out["csv"]  # reproducible from the seed


def test_synthesize_where_keeps_only_that_category(client):
    out = client.post("/api/synthesize", json={"model": "ctgan", "n": 40, "where": {"c": "lo"}}).json()
    frame = pd.read_csv(io.StringIO(out["csv"]))
    assert len(frame) == 40 and set(frame["c"]) == {"lo"} and out["where"] == {"c": "lo"}


@pytest.mark.parametrize(
    "body, status, fragments",
    [
        ({"where": {"zz": "hi"}}, 422, ["unknown column 'zz'", "c"]),
        ({"where": {"c": "mid"}}, 422, ["no category 'mid'", "hi, lo"]),
        ({"where": {"x": "1"}}, 422, ["'x' is continuous"]),
        ({"where": {"c": "hi", "k": "1"}}, 422, ["one condition at a time"]),
        ({"n": 0}, 422, ["n:", "got 0"]),
        ({"n": MAX_ROWS + 1}, 422, ["n:"]),
        ({"seed": -1}, 422, ["seed"]),
        ({"rows": 5}, 422, ["unknown field 'rows'"]),
        ({"where": ["c=hi"]}, 422, ["where"]),
        ({"model": "gain"}, 400, ["cannot synthesize rows", "it can: impute"]),
        ({"model": "/etc/passwd"}, 400, ["not a model id"]),
    ],
    ids=[
        "unknown-column",
        "unknown-category",
        "numeric-column",
        "two-conditions",
        "zero-rows",
        "too-many-rows",
        "negative-seed",
        "unknown-field",
        "where-not-a-mapping",
        "not-a-synthesizer",
        "path",
    ],
)
def test_a_bad_synthesize_request_is_refused_in_one_line(client, table, body, status, fragments):
    refused(client.post("/api/synthesize", json={"model": "ctgan", **body}), status, *fragments)
    assert client.post("/api/synthesize", json={"model": "ctgan", "n": 5}).status_code == 200


# --- detect -----------------------------------------------------------------------------------------
def test_detect_scores_flags_and_a_histogram(client):
    images = [png_bytes(32, seed=i) for i in range(5)] + [png_bytes(20, "RGB", seed=9)]  # any size, any mode
    resp = detect(client, images)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["count"] == 6 and [s["name"] for s in out["scores"]] == [f"img{i}.png" for i in range(6)]
    assert out["threshold"] == out["default_threshold"]
    assert sum(out["histogram"]["counts"]) == 6 and len(out["histogram"]["edges"]) == 21
    assert out["flagged"] == sum(s["score"] > out["threshold"] for s in out["scores"])
    scores = [s["score"] for s in out["scores"]]
    low = detect(client, images, threshold=str(min(scores) - 1e-6)).json()
    assert low["flagged"] == 6 and all(s["anomalous"] for s in low["scores"])
    assert [s["score"] for s in low["scores"]] == scores  # the same images, the same scores
    high = detect(client, images, threshold=str(max(scores) + 1)).json()
    assert high["flagged"] == 0


def test_a_bad_detect_request_is_refused_in_one_line(client, table):
    good = [png_bytes(32)]
    refused(detect(client, [png_bytes(8)] * (MAX_IMAGES + 1)), 413, f"at most {MAX_IMAGES}")
    refused(detect(client, [b"not an image"]), 415, "img0.png", "not an image")
    refused(detect(client, good, threshold="nan"), 422, "threshold")
    refused(detect(client, good, threshold="high"), 422, "threshold")
    refused(detect(client, good, model="dcgan"), 400, "cannot score anomalies", "it can: generate")
    refused(client.post("/api/detect", data={"model": "ganomaly"}), 422, "images: required")
    refused(detect(client, good, model="no such"), 400, "not a model id")
    assert detect(client, good).status_code == 200
    still_serving(client, table)


def test_the_api_doc_lists_the_new_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/impute", "/api/synthesize", "/api/detect"} <= set(paths)
    page = client.get("/api-docs").text
    assert "/api/impute" in page and "100,000 rows" in page
