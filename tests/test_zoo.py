"""The model zoo shipped in the package (src/ganforge/zoo/): every entry loads offline, its weight
file's sha256 matches the manifest, it samples the right shape; a changed file is refused; zoo:NAME
works wherever a RUN is taken, and where a zoo entry lacks what a command needs, one line says so."""

import dataclasses
import json
import shutil

import pytest
import torch

from ganforge import load, zoo
from ganforge.api import GanModel
from ganforge.config import from_saved
from ganforge.errors import UserError
from ganforge.models.registry import build_networks

from conftest import assert_user_error, run_cli
from tests_helpers import cli_here

ENTRIES = zoo.entries()
NAMES = [e.name for e in ENTRIES]
# fp16 storage is kept only where samples from the upcast weights stay within this (max |difference|,
# pixels in [-1, 1]) of the fp32 weights'; tools/build_zoo.py measured each entry against its fp32
# run and recorded the difference in the manifest (fp16_max_abs_diff: 0.0011 to 0.0026 when built)
FP16_TOLERANCE = 0.02


def cli(capsys, *args):
    """`ganforge ARGS` in this process: (exit code, stdout, stderr)."""
    proc = cli_here(capsys, *args)
    return proc.returncode, proc.stdout, proc.stderr


def test_the_package_ships_a_zoo_within_20_mb():
    assert {"dcgan-mnist", "acgan-mnist"} <= set(NAMES), NAMES  # an unconditional and a conditional model
    assert any(e.info["family"] == "cdcgan" and e.info["num_classes"] == 10 for e in ENTRIES)
    total = sum(p.stat().st_size for p in zoo.ROOT.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert total <= 20e6, f"the zoo takes {total / 1e6:.1f} MB"
    assert sorted(p.name for p in (zoo.ROOT / "weights").iterdir()) == sorted(f"{n}.safetensors" for n in NAMES)


@pytest.mark.parametrize("entry", ENTRIES, ids=NAMES)
def test_every_entry_matches_its_manifest_loads_and_samples(entry):
    info = entry.info
    data = entry.weights_path.read_bytes()
    assert zoo.sha256(data) == info["weights"]["sha256"] and len(data) == info["weights"]["bytes"]
    for key in ("config", "data_shape", "step", "figure", "train_command", "eval_command", "machine", "commit"):
        assert info.get(key) not in (None, ""), key
    assert from_saved(info["config"]).model.family == info["family"]  # a config the loader reads
    model = load(f"zoo:{entry.name}")
    assert isinstance(model, GanModel) and model.zoo.name == entry.name and model.checkpoint is None
    assert set(model.networks) == set(info["networks"]) and "D" not in model.networks  # generator(s) only
    assert model.step == info["step"] and sum(p.numel() for p in model.generator.parameters()) <= info["parameters"]
    shape = tuple(info["data_shape"])
    if model.family.directions:  # translation: images in, images out
        x = torch.rand(3, *shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
        out = model.translate(x)
    else:
        out = model.sample(4, seed=0)
        assert torch.equal(out, model.sample(4, seed=0))  # seeded
        if model.conditional:
            assert model.sample(2, y=3).shape == (2, *shape)
    assert out.shape == (len(out), *shape) and out.dtype == torch.float32
    assert torch.isfinite(out).all() and out.min() >= -1 and out.max() <= 1
    if info["weights"]["dtype"].startswith("float16"):
        assert 0 <= info["fp16_max_abs_diff"] <= FP16_TOLERANCE


@pytest.mark.parametrize("entry", ENTRIES, ids=NAMES)
def test_fp16_storage_keeps_samples_within_the_tolerance(entry):
    """What pack() does to fp32 weights, on this entry's networks (freshly initialised, so the weights
    are fp32 ones): parameters to fp16, BatchNorm statistics kept in fp32; the upcast networks sample
    within FP16_TOLERANCE of the originals."""
    info = entry.info
    torch.manual_seed(0)
    nets = build_networks(from_saved(info["config"]), tuple(info["data_shape"]), info["num_classes"])
    nets = {n: nets[n].eval() for n in info["networks"]}
    for net in nets.values():  # BatchNorm statistics other than 0 / 1, as a trained network has
        for name, buf in net.named_buffers():
            if name.endswith(("running_mean", "running_var")):
                buf.copy_(torch.rand_like(buf) * 0.5 + (0.75 if name.endswith("var") else -0.25))
    packed = zoo.pack(nets)
    for key, t in packed.items():
        param = key.split(".", 1)[1] in dict(nets[key.split(".")[0]].named_parameters())
        assert t.dtype == (torch.float16 if param else torch.float32) or not t.is_floating_point(), key
    back = build_networks(from_saved(info["config"]), tuple(info["data_shape"]), info["num_classes"])
    for name, state in zoo.unpack(packed).items():
        back[name].load_state_dict(state)
        back[name].eval()
    g, h = nets["G"], back["G"]
    gen = torch.Generator().manual_seed(1)
    cfg = from_saved(info["config"])
    with torch.no_grad():
        if "z_dim" not in dataclasses.asdict(cfg.model):  # translation: G maps images
            x = torch.rand(8, *info["data_shape"], generator=gen) * 2 - 1
            a, b = g(x), h(x)
        else:
            z = torch.randn(8, cfg.model.z_dim, generator=gen)
            y = torch.arange(8) % info["num_classes"] if cfg.model.conditional else None
            a, b = g(z, y), h(z, y)
    diff = float((a - b).abs().max())
    assert diff <= FP16_TOLERANCE, diff


def copy_zoo(tmp_path):
    root = tmp_path / "zoo"
    shutil.copytree(zoo.ROOT, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return root


def test_a_changed_weight_file_is_refused_with_one_line(tmp_path):
    root = copy_zoo(tmp_path)
    assert GanModel.from_zoo("dcgan-mnist", root=root).sample(1).shape[0] == 1  # the copy itself loads
    path = root / "weights" / "dcgan-mnist.safetensors"
    data = bytearray(path.read_bytes())
    data[-7] ^= 0x01  # one bit of one weight
    path.write_bytes(bytes(data))
    with pytest.raises(UserError) as e:
        GanModel.from_zoo("zoo:dcgan-mnist", root=root)
    assert "does not match the manifest's sha256" in str(e.value) and "\n" not in str(e.value)
    path.write_bytes(bytes(data[:-100]))  # truncated: refused the same way, before safetensors parses it
    with pytest.raises(UserError, match="does not match the manifest's sha256"):
        GanModel.from_zoo("dcgan-mnist", root=root)
    path.unlink()
    with pytest.raises(UserError, match="cannot be read"):
        GanModel.from_zoo("dcgan-mnist", root=root)


def test_a_damaged_manifest_and_an_unknown_name_are_user_errors(tmp_path):
    root = copy_zoo(tmp_path)
    with pytest.raises(UserError, match=r"unknown zoo model 'dcgan-mnst' \(did you mean 'dcgan-mnist'\?\)"):
        zoo.entry("zoo:dcgan-mnst", root)
    (root / "manifest.json").write_text("{not json")
    with pytest.raises(UserError, match="manifest is damaged"):
        zoo.entries(root)
    (root / "manifest.json").write_text(json.dumps({"format": "something else", "entries": []}))
    with pytest.raises(UserError, match="not a ganforge zoo manifest"):
        zoo.entries(root)


def test_write_entry_replaces_an_entry_in_place(tmp_path):
    root = copy_zoo(tmp_path)
    first = zoo.entries(root)[0]
    info = {k: v for k, v in first.info.items() if k != "weights"}
    tensors = zoo.pack({"G": load(f"zoo:{first.name}").generator})
    written = zoo.write_entry({**info, "step": 7}, tensors, root)
    assert [e.name for e in zoo.entries(root)] == NAMES  # same place, no duplicate
    assert zoo.entry(first.name, root).info["step"] == 7 and written.info["weights"]["dtype"] == "float16+float32"
    assert GanModel.from_zoo(first.name, root=root).step == 7


def test_the_cli_takes_zoo_names_where_it_takes_a_run(tmp_path, capsys):
    code, out, err = cli(capsys, "sample", "zoo:dcgan-mnist", "--n", "4", "--out", str(tmp_path / "x.png"))
    assert code == 0 and "wrote 4 samples" in out and (tmp_path / "x.png").is_file(), err
    code, out, err = cli(capsys, "zoo")
    assert code == 0 and all(name in out for name in NAMES) and "ganforge train dcgan-mnist" in out, err
    assert "FID" in out and "MB" in out
    code, out, err = cli(capsys, "info", "zoo:acgan-mnist")
    assert code == 0 and "zoo model:   acgan-mnist" in out and "network G:" in out and "network D" not in out, err
    code, out, err = cli(capsys, "synth", "zoo:acgan-mnist", "--per-class", "1", "--out", str(tmp_path / "s.npz"))
    assert code == 0 and "10 images" in out, err
    for args in (["train", "zoo:dcgan-mnist"], ["train", "--resume", "--out", "zoo:dcgan-mnist"], ["plot", "zoo:x"]):
        code, out, err = cli(capsys, *args)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "generator weights only" in lines[0], (args, err)


def test_eval_reads_a_zoo_model_and_writes_nothing_beside_it(monkeypatch, capsys):
    """`ganforge eval zoo:NAME` samples the zoo model (the run-dir branch of the command), and appends
    to no metrics.jsonl: the zoo is read-only."""
    import ganforge.metrics.cli as mcli

    seen = {}

    def fake_evaluate(src, **kw):
        seen["images"] = src(3, 0)
        return {"fid": 1.0}

    monkeypatch.setattr(mcli, "evaluate", fake_evaluate)
    code, out, err = cli(capsys, "eval", "zoo:dcgan-mnist", "--metrics", "fid", "--n", "3", "--quiet")
    assert code == 0 and "fid" in out and "appended" not in out, err
    images = seen["images"][0] if isinstance(seen["images"], tuple) else seen["images"]
    assert images.shape == (3, 1, 28, 28)


def test_an_unknown_zoo_name_is_one_line_and_exit_2(tmp_path):
    proc = run_cli("sample", "zoo:dcgan-mnst", "--out", str(tmp_path / "g.png"))
    assert_user_error(proc, "unknown zoo model 'dcgan-mnst'", "did you mean 'dcgan-mnist'", "ganforge zoo")
    assert not (tmp_path / "g.png").exists()


def test_the_studio_serves_a_zoo_model():
    from ganforge.serve.models import serve_models

    models = serve_models(["zoo:acgan-mnist", "zoo:dcgan-mnist"])
    assert list(models) == ["acgan-mnist", "dcgan-mnist"]
    assert "classes" in models["acgan-mnist"].caps and models["acgan-mnist"].info()["step"] > 0
    assert models["dcgan-mnist"].caps == ["generate", "interpolate", "truncation"]
    with pytest.raises(UserError, match="unknown zoo model 'mnist'"):
        serve_models(["zoo:mnist"])


def test_is_zoo_is_a_prefix_test_only():
    assert zoo.is_zoo("zoo:x") and not zoo.is_zoo("runs/zoo:x") and not zoo.is_zoo("zoo")
