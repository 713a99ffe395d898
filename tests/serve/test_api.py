"""The studio's JSON API over real HTTP: the app served by uvicorn in a thread (conftest.studio), called
with httpx. Every endpoint, every bad request of issue 17 (each followed by a good request that shows
the server still answers), the token guard of a non-local configuration, and the CLI's refusals."""

import json
import struct
import threading
import time
import zlib

import httpx
import numpy as np
import pytest

from ganforge.errors import UserError
from ganforge.serve.app import create_app
from ganforge.serve.models import serve_models
from ganforge.serve.server import BackgroundServer, is_loopback, serve

from conftest import assert_user_error, run_cli
from tests_helpers import pixels, png_bytes, refused


@pytest.fixture(scope="module")
def client(studio):
    with httpx.Client(base_url=studio, timeout=60) as c:
        yield c


def png_header(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header says width x height pixels (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def still_serving(client: httpx.Client) -> None:
    """A good request right after a bad one: the server answers it."""
    resp = client.post("/api/generate", json={"model": "dcgan", "count": 4})
    assert resp.status_code == 200, resp.text
    assert pixels(resp.json()["image"]).shape[:2] == (2 * 34 + 2, 2 * 34 + 2)  # 2 x 2 images of 32 px, padding 2


def translate(client, image: bytes, model="pix2pix", direction="AtoB", name="x.png") -> httpx.Response:
    return client.post("/api/translate", data={"model": model, "direction": direction}, files={"image": (name, image)})


# --- models -----------------------------------------------------------------------------------------
def test_models_list_ids_and_capabilities_from_each_family_and_no_paths(client, runs_dir):
    resp = client.get("/api/models")
    assert resp.status_code == 200 and str(runs_dir) not in resp.text
    models = {m["id"]: m for m in resp.json()["models"]}
    assert list(models) == ["dcgan", "cdcgan", "stylegan", "pix2pix", "cyclegan", "points", "ganomaly", "gain", "ctgan"]
    caps = {i: m["capabilities"] for i, m in models.items()}
    assert caps["dcgan"] == ["generate", "interpolate", "truncation"]
    assert caps["cdcgan"] == ["generate", "interpolate", "truncation", "classes"]
    assert caps["stylegan"] == ["generate", "interpolate", "truncation", "style-mixing", "project"]
    assert caps["pix2pix"] == caps["cyclegan"] == ["translate"]
    assert caps["points"] == ["generate", "truncation"] and models["points"]["kind"] == "points"
    assert models["pix2pix"]["directions"] == ["AtoB"] and models["cyclegan"]["directions"] == ["AtoB", "BtoA"]
    assert models["cdcgan"]["classes"] == [f"c{i}" for i in range(10)] and models["dcgan"]["classes"] == []
    assert models["stylegan"]["truncation"]["space"] == "w" and models["dcgan"]["truncation"]["space"] == "z"
    assert models["stylegan"]["num_ws"] >= 2 and models["dcgan"]["num_ws"] is None
    assert client.get("/api/health").json() == {"ok": True, "models": 9, "runs": True}


def test_generate_a_grid_reproducible_from_its_seed(client):
    first = client.post("/api/generate", json={"model": "dcgan", "seed": 3, "count": 6, "nrow": 3})
    assert first.status_code == 200
    grid = pixels(first.json()["image"])
    assert grid.shape[:2] == (2 * 34 + 2, 3 * 34 + 2)  # 2 rows of 3 images of 32 pixels, 2 of padding
    again = client.post("/api/generate", json={"model": "dcgan", "seed": 3, "count": 6, "nrow": 3}).json()
    assert np.array_equal(pixels(again["image"]), grid)
    other = client.post("/api/generate", json={"model": "dcgan", "seed": 4, "count": 6, "nrow": 3}).json()
    assert not np.array_equal(pixels(other["image"]), grid)
    one = pixels(client.post("/api/generate", json={"model": "dcgan", "count": 1}).json()["image"])
    assert one.shape == (32, 32)  # one image: no grid, the model's own size


def test_a_point_model_generates_coordinates(client):
    out = client.post("/api/generate", json={"model": "points", "seed": 1, "count": 50}).json()
    points = np.array(out["points"])
    assert points.shape == (50, 2) and np.isfinite(points).all() and "image" not in out
    refused(client.post("/api/interpolate", json={"model": "points"}), 400, "cannot interpolate")


def test_generate_with_a_class_and_truncation(client):
    a = client.post("/api/generate", json={"model": "cdcgan", "count": 4, "label": 3})
    b = client.post("/api/generate", json={"model": "cdcgan", "count": 4, "label": 7})
    assert a.status_code == b.status_code == 200
    assert not np.array_equal(pixels(a.json()["image"]), pixels(b.json()["image"]))  # the label changes G's input
    for model, psi in (("dcgan", 0.5), ("stylegan", 0.7)):
        plain = client.post("/api/generate", json={"model": model, "count": 4})
        cut = client.post("/api/generate", json={"model": model, "count": 4, "truncation": psi})
        assert cut.status_code == 200, cut.text
        assert not np.array_equal(pixels(plain.json()["image"]), pixels(cut.json()["image"]))
    refused(client.post("/api/generate", json={"model": "cdcgan", "label": 10}), 400, "class 10 is out of range")
    refused(client.post("/api/generate", json={"model": "dcgan", "label": 1}), 400, "unconditional")
    still_serving(client)


def test_interpolate_between_two_seeds_ends_at_their_samples(client):
    resp = client.post("/api/interpolate", json={"model": "dcgan", "seed_a": 5, "seed_b": 9, "steps": 4})
    assert resp.status_code == 200
    out = resp.json()
    assert len(out["frames"]) == 4 and pixels(out["strip"]).shape[:2] == (34 + 2, 4 * 34 + 2)
    for seed, frame in ((5, out["frames"][0]), (9, out["frames"][-1])):
        sample = client.post("/api/generate", json={"model": "dcgan", "seed": seed, "count": 1}).json()["image"]
        assert np.abs(pixels(frame).astype(int) - pixels(sample).astype(int)).max() <= 1  # slerp ends: fp rounding
    styled = client.post("/api/interpolate", json={"model": "stylegan", "steps": 3, "truncation": 0.5})
    assert styled.status_code == 200 and len(styled.json()["frames"]) == 3
    labelled = client.post("/api/interpolate", json={"model": "cdcgan", "steps": 2, "label": 4})
    assert labelled.status_code == 200


def test_style_mixing_grid_and_its_crossover_range(client, studio):
    num_ws = {m["id"]: m for m in client.get("/api/models").json()["models"]}["stylegan"]["num_ws"]
    body = {"model": "stylegan", "row_seeds": [1, 2], "col_seeds": [3, 4, 5], "crossover": 2}
    resp = client.post("/api/style-mix", json=body)
    assert resp.status_code == 200
    assert pixels(resp.json()["image"]).shape[:2] == (3 * 18 + 2, 4 * 18 + 2)  # (rows + 1) x (cols + 1) of 16 px
    late = client.post("/api/style-mix", json={**body, "crossover": num_ws - 1}).json()["image"]
    assert not np.array_equal(pixels(late), pixels(resp.json()["image"]))  # the layer range matters
    refused(client.post("/api/style-mix", json={**body, "crossover": num_ws}), 400, f"crossover {num_ws}")
    refused(client.post("/api/style-mix", json={**body, "model": "dcgan"}), 400, "cannot style mixing")
    still_serving(client)


def test_project_an_uploaded_image(client):
    resp = client.post(
        "/api/project", data={"model": "stylegan", "steps": "4"}, files={"image": ("d.png", png_bytes(40))}
    )
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert pixels(out["target"]).shape == pixels(out["reconstruction"]).shape == (16, 16)  # resized to the model
    assert np.isfinite(out["psnr"]) and len(out["losses"]) == 4
    refused(
        client.post("/api/project", data={"model": "dcgan"}, files={"image": ("d.png", png_bytes())}),
        400,
        "cannot project",
    )


def test_translate_both_directions_where_the_family_has_them(client):
    fwd = translate(client, png_bytes(48, "RGB"))  # colour and larger: made grey and 32 px as the model wants
    assert fwd.status_code == 200, fwd.text
    assert pixels(fwd.json()["input"]).shape == pixels(fwd.json()["output"]).shape == (32, 32)
    back = translate(client, png_bytes(32), model="cyclegan", direction="BtoA")
    there = translate(client, png_bytes(32), model="cyclegan", direction="AtoB")
    assert back.status_code == there.status_code == 200 and back.json()["direction"] == "BtoA"
    assert not np.array_equal(pixels(back.json()["output"]), pixels(there.json()["output"]))  # F, not G
    refused(translate(client, png_bytes(), direction="BtoA"), 400, "translates AtoB only")
    refused(translate(client, png_bytes(), direction="sideways"), 422, "direction")
    refused(translate(client, png_bytes(), model="dcgan"), 400, "cannot translate; it can: generate")
    refused(client.post("/api/generate", json={"model": "pix2pix"}), 400, "cannot generate; it can: translate")
    still_serving(client)


# --- runs -------------------------------------------------------------------------------------------
def test_runs_list_detail_metrics_and_sample(client, runs_dir):
    runs = client.get("/api/runs").json()
    assert runs["enabled"] is True
    listed = {r["id"]: r for r in runs["runs"]}
    assert set(listed) >= {"cdcgan", "cyclegan", "dcgan", "pix2pix", "points", "stylegan"}  # + runs other tests add
    assert listed["dcgan"] == {
        "id": "dcgan",
        "name": "dcgan",
        "family": "dcgan",
        "step": 2,
        "steps": 2,
        "progress": 1.0,
        "training": False,
    }
    detail = client.get("/api/runs/dcgan").json()
    assert detail["config"] == json.loads((runs_dir / "dcgan" / "config.json").read_text())
    assert detail["sample_step"] == 2 and detail["evals"][0]["fid"] == 123.4
    metrics = client.get("/api/runs/dcgan/metrics").json()
    assert [r["step"] for r in metrics["records"]] == [1, 2] and metrics["next"] == 2
    assert {"loss_D", "loss_G"} <= set(metrics["keys"]) <= set(metrics["records"][0]) | {"step"}
    assert client.get("/api/runs/dcgan/metrics", params={"since": 2}).json()["records"] == []
    png = client.get("/api/runs/dcgan/sample.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content == (runs_dir / "dcgan" / "samples" / "step_00000002.png").read_bytes()


def test_a_run_still_training_shows_new_records_and_never_a_half_written_line(client, runs_dir):
    live = runs_dir / "live"
    live.mkdir()
    (live / "config.json").write_text(json.dumps({"model": {"family": "dcgan"}, "train": {"steps": 10}}))
    log = live / "metrics.jsonl"
    log.write_text('{"kind": "train", "step": 1, "loss_D": 1.5}\n{"kind": "train", "st')  # mid-write
    first = client.get("/api/runs/live/metrics").json()
    assert [r["step"] for r in first["records"]] == [1]
    listed = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert listed["live"] == {
        "id": "live",
        "name": "live",
        "family": "dcgan",
        "step": 1,
        "steps": 10,
        "progress": 0.1,
        "training": False,
    }
    with open(log, "a") as f:
        f.write('ep": 2, "loss_D": 1.25}\n')
    more = client.get("/api/runs/live/metrics", params={"since": first["next"]}).json()
    assert more["records"] == [{"step": 2, "loss_D": 1.25}] and more["next"] == 2
    assert client.get("/api/runs/live").json()["sample_step"] is None
    refused(client.get("/api/runs/live/sample.png"), 404, "no sample grid yet")


# --- bad requests: each refused with a 4xx and one clear line, the server answering the next ---------
def test_an_oversized_upload_is_refused(client):
    big = b"\x89PNG\r\n\x1a\n" + bytes(9 * 2**20)
    refused(translate(client, big), 413, "larger than", "8 MB")
    still_serving(client)


def test_a_non_image_is_refused(client):
    refused(translate(client, b"name,age\nada,36\n" * 50, name="table.csv"), 415, "not an image")
    refused(translate(client, b""), 400, "empty")
    refused(translate(client, png_bytes()[:60]), 415)  # a PNG cut short: its header passes, decoding fails
    still_serving(client)


def test_a_decompression_bomb_header_is_refused_without_decoding(client):
    bomb = png_header(20_000, 20_000)
    assert len(bomb) < 200
    t0 = time.perf_counter()
    refused(translate(client, bomb), 413, "too many pixels")
    refused(translate(client, png_header(5000, 5000)), 413, "5,000 x 5,000 pixels")  # under Pillow's own limit
    assert time.perf_counter() - t0 < 5  # decoding 400 megapixels would take far longer (and 400 MB)
    still_serving(client)


def test_an_unknown_model_id_is_404(client):
    refused(client.post("/api/generate", json={"model": "nosuchmodel"}), 404, "unknown model id", "dcgan")
    refused(client.get("/api/runs/nosuchrun"), 404, "unknown run id")
    still_serving(client)


def test_a_path_in_place_of_an_id_is_refused(client):
    refused(client.post("/api/generate", json={"model": "../../etc/passwd"}), 400, "is not a model id")
    refused(translate(client, png_bytes(), model="/etc/passwd"), 400, "is not a model id")
    refused(client.get("/api/runs/%2E%2E"), 400, "is not a run id")  # '..'
    refused(client.get("/api/runs/..%2F..%2Fetc%2Fpasswd"), 404)  # matches no route at all
    refused(client.get("/static/..%2F..%2F..%2Fetc%2Fpasswd"), 404)
    still_serving(client)


@pytest.mark.parametrize("count", [-1, 0, 10**6])
def test_a_count_out_of_range_is_refused(client, count):
    refused(client.post("/api/generate", json={"model": "dcgan", "count": count}), 422, "count", str(count))
    still_serving(client)


def test_malformed_json_is_refused(client):
    for body in ('{"model": "dcgan",', "not json", "{'model': 'dcgan'}"):
        resp = client.post("/api/generate", content=body, headers={"content-type": "application/json"})
        refused(resp, 400, "malformed JSON")
    refused(client.post("/api/generate", json=[1, 2]), 422, "JSON object")
    refused(client.post("/api/generate", json={"model": "dcgan", "cuont": 3}), 422, "unknown field 'cuont'")
    refused(client.post("/api/generate", json={"count": 3}), 422, "model: required")
    refused(client.post("/api/generate", json={"model": "dcgan", "seed": -5}), 422, "seed")
    refused(client.post("/api/generate", json={"model": "dcgan", "truncation": "NaN"}), 422, "truncation")
    refused(client.post("/api/style-mix", json={"model": "stylegan", "row_seeds": list(range(9))}), 422, "row_seeds")
    refused(client.get("/api/nothing-here"), 404, "no such endpoint")
    refused(client.get("/api/generate"), 405)
    still_serving(client)


@pytest.fixture(scope="module")
def tight(runs_dir):
    """A studio with one inference worker and no queue, and room for one projection at a time."""
    models = serve_models([str(runs_dir / "dcgan"), str(runs_dir / "stylegan")])
    server = BackgroundServer(create_app(models, runs_dir, workers=1, queue=0, projection_queue=0))
    yield server.start()
    server.stop()


def test_a_slow_request_does_not_stall_the_others_and_a_full_pool_says_busy(tight):
    """A long projection runs in its own pool: grids and lists are answered while it works; a second
    projection finds that pool full and gets 503 at once, not a place in an endless queue."""
    done = {}
    files = {"image": ("d.png", png_bytes(16))}

    def long_projection():
        with httpx.Client(base_url=tight, timeout=120) as own:
            done["resp"] = own.post("/api/project", data={"model": "stylegan", "steps": "300"}, files=files)

    worker = threading.Thread(target=long_projection)
    with httpx.Client(base_url=tight, timeout=60) as client:
        worker.start()
        time.sleep(0.3)
        t0 = time.perf_counter()
        refused(client.post("/api/project", data={"model": "stylegan", "steps": "1"}, files=files), 503, "busy")
        for _ in range(3):
            still_serving(client)
            assert client.get("/api/runs").status_code == 200
        answered = time.perf_counter() - t0
        still_running = worker.is_alive()
        worker.join()
        assert done["resp"].status_code == 200
        assert still_running, "the projection ended before the other requests: make it longer"
        assert answered < 5
        assert client.post("/api/project", data={"model": "stylegan", "steps": "1"}, files=files).status_code == 200


def test_the_page_the_api_doc_and_no_external_urls(client):
    page = client.get("/")
    assert page.status_code == 200 and "ganforge studio" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for path in ("/static/app.js", "/static/style.css", "/static/api.js", "/api-docs"):
        body = client.get(path)
        assert body.status_code == 200
        text = body.text.replace("http://www.w3.org/2000/svg", "")  # an XML namespace name, never fetched
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path
    spec = client.get("/api/openapi.json").json()
    assert {"/api/generate", "/api/translate", "/api/runs/{run_id}/metrics"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 404  # FastAPI's CDN-loaded Swagger page is off


# --- a token on every request (a non-local configuration) --------------------------------------------
@pytest.fixture(scope="module")
def guarded(runs_dir):
    server = BackgroundServer(create_app(serve_models([str(runs_dir / "dcgan")]), None, token="s3cret-token"))
    yield server.start()
    server.stop()


def test_a_missing_or_wrong_token_is_refused(guarded):
    with httpx.Client(base_url=guarded, timeout=30) as c:
        for path in ("/api/models", "/", "/static/app.js", "/api/openapi.json"):
            refused(c.get(path), 401, "no token", "Authorization: Bearer")
        refused(c.get("/api/models", headers={"Authorization": "Bearer wrong-token"}), 401, "wrong token")
        refused(c.post("/api/generate", json={"model": "dcgan"}), 401)
        ok = c.post(
            "/api/generate", json={"model": "dcgan", "count": 1}, headers={"Authorization": "Bearer s3cret-token"}
        )
        assert ok.status_code == 200
        assert c.get("/api/models", headers={"X-Ganforge-Token": "s3cret-token"}).status_code == 200
        assert c.get("/api/runs", headers={"Authorization": "Bearer s3cret-token"}).json()["enabled"] is False
    with httpx.Client(base_url=guarded, timeout=30) as browser:  # a browser opened at /?token=...
        first = browser.get("/", params={"token": "s3cret-token"})
        assert first.status_code == 200 and "HttpOnly" in first.headers["set-cookie"]
        assert browser.get("/static/app.js").status_code == 200  # the cookie carries it from now on
        assert browser.get("/api/models").status_code == 200


def test_a_non_local_host_warns_and_takes_its_token_from_the_environment(monkeypatch, capsys):
    """serve() with --host 0.0.0.0: the warning first, the token from GANFORGE_TOKEN accepted (the app it
    then builds is create_app(token=...), the `guarded` one above); it stops here at the unknown zoo source."""
    monkeypatch.setenv("GANFORGE_TOKEN", "from-the-env-123")
    with pytest.raises(UserError, match="unknown zoo model 'mnist'"):
        serve(["zoo:mnist"], host="0.0.0.0", port=0)
    assert "warning: --host 0.0.0.0 exposes the studio beyond this machine" in capsys.readouterr().err
    monkeypatch.setenv("GANFORGE_TOKEN", "")
    with pytest.raises(UserError, match="give --token TOKEN or set GANFORGE_TOKEN"):
        serve(["zoo:mnist"], host="192.168.1.5", port=0)
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("studio.example.org")


# --- the command line ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--host", "0.0.0.0"], ["--host 0.0.0.0 exposes the studio", "--token"]),
        (["--port", "70000"], ["--port 70000"]),
        (["--runs", "no/such/folder"], ["--runs no/such/folder: no such folder"]),
        (["--token", "short"], ["--token"]),
        ([], ["nothing to serve"]),
    ],
)
def test_serve_refuses_bad_options_in_one_line(args, fragments):
    proc = run_cli("serve", *args, env={"GANFORGE_TOKEN": ""}, timeout=60)
    assert_user_error(proc, *fragments)


def test_a_missing_run_or_the_zoo_is_refused_before_the_server_starts(tmp_path, runs_dir):
    with pytest.raises(UserError, match="nope: no such run directory"):
        serve_models([str(runs_dir / "dcgan"), str(tmp_path / "nope")])
    with pytest.raises(UserError, match="unknown zoo model 'mnist'"):
        serve_models(["zoo:mnist"])
    models = serve_models([str(runs_dir / "dcgan"), str(runs_dir / "dcgan" / "checkpoints")])
    assert list(models) == ["dcgan", "dcgan-2"]  # the same name twice: ids stay unique
