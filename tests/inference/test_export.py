"""Generator export: ONNX and TorchScript files of DCGAN, a class-conditional model, a conditional
StyleGAN2 (psi in W as an input) and CycleGAN's B -> A network give what the PyTorch model gives
(within 1e-4) on inputs of a batch size other than the one exported, run by onnxruntime and
torch.jit.load, not by ganforge; truncation in Z or W matches `GanModel.sample`; and the command
line refuses a bad format, a model without a generator and an existing file in one line."""

import json
import sys
import warnings

import onnxruntime as ort  # the test extra has it: these tests run, never skip
import pytest
import torch

from ganforge.api import GanModel, load
from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.inference.export import FORMATS, export, export_onnx
from ganforge.models.registry import build_networks
from ganforge.training.loop import train

from conftest import TINY, assert_user_error, run_cli, tiny_model
from tests_helpers import cli_here

CASES = {  # name -> (overrides, data shape, classes, direction)
    "dcgan": (tiny_model("dcgan"), (1, 28, 28), 0, None),
    "cdcgan": (tiny_model("cdcgan"), (1, 28, 28), 10, None),
    "stylegan-conditional": ([*tiny_model("stylegan"), "model.style_conditional=true"], (1, 16, 16), 10, None),
    "cyclegan-BtoA": (tiny_model("cyclegan"), (1, 32, 32), 0, "BtoA"),
}
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}


@torch.no_grad()
def settled(model: GanModel) -> GanModel:
    """Untrained networks with the state training gives them: BatchNorm statistics, a w_avg away from
    0 and noise strengths above 0, so the exported graphs are checked on them too."""
    gen = torch.Generator().manual_seed(1)
    for net in model.networks.values():
        for name, buf in net.named_buffers():
            if name.endswith("running_var"):
                buf.copy_(torch.rand(buf.shape, generator=gen) + 0.5)
            elif name.endswith(("running_mean", "w_avg")):
                buf.copy_(torch.randn(buf.shape, generator=gen) * 0.3)
        for name, p in net.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.2)
    return model


def tiny(name: str) -> tuple[GanModel, str | None]:
    overrides, shape, classes, direction = CASES[name]
    cfg = load_config(None, overrides)
    return settled(GanModel.from_networks(cfg, build_networks(cfg, shape, classes), shape, classes)), direction


def run_file(path, fmt: str, feeds: dict[str, torch.Tensor]) -> torch.Tensor:
    """The exported file run by its own runtime, inputs by name (ONNX) or in order (TorchScript)."""
    if fmt == "onnx":
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == list(feeds)
        return torch.from_numpy(session.run(None, {k: v.numpy() for k, v in feeds.items()})[0])
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation notice
        return torch.jit.load(str(path))(*feeds.values())


def file_metadata(path, fmt: str) -> dict[str, str]:
    if fmt == "onnx":
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    extra = {"ganforge.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.load(str(path), _extra_files=extra)
    return json.loads(extra["ganforge.json"])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", CASES)
def test_an_exported_generator_gives_what_the_model_gives(name, fmt, tmp_path):
    model, direction = tiny(name)
    path = tmp_path / f"g{SUFFIX[fmt]}"
    result = model.export(path, fmt, direction=direction)
    assert result.max_diff <= 1e-4 and result.batches == (3, 1, 5)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # one file: no temporary, no external weights
    meta = file_metadata(path, fmt)
    assert meta["ganforge.family"] == model.family.name and json.loads(meta["ganforge.inputs"]) == result.inputs
    n = 7  # exported at a batch of 3
    if direction is not None:
        x = torch.rand(n, 1, 32, 32, generator=torch.Generator().manual_seed(5)) * 2 - 1
        assert result.inputs == {"x": ["N", 1, 32, 32]} and result.output == {"images": ["N", 1, 32, 32]}
        torch.testing.assert_close(run_file(path, fmt, {"x": x}), model.translate(x, direction), rtol=0, atol=1e-4)
        return
    feeds = {"z": model.latents(n, seed=3, truncation=None if model.family.truncation == "w" else 0.5)}
    if model.conditional:
        feeds["y"] = torch.tensor([9, 0, 3, 3, 1, 7, 2])
    if model.family.truncation == "w":  # psi is an input: truncation toward w_avg inside the graph
        feeds["psi"] = torch.tensor(0.5)
    assert result.inputs == {k: ["N", *v.shape[1:]] if v.ndim else [] for k, v in feeds.items()}
    assert result.output == {"images": ["N", *model.data_shape]}
    got = run_file(path, fmt, feeds)
    # what `GanModel.sample` gives for truncation 0.5: in Z the caller drew truncated z, in W the file applies psi
    want = model.sample(n, seed=3, y=feeds.get("y"), truncation=0.5)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-4)
    assert got.abs().max() <= 1
    if "psi" in feeds:  # psi = 1: no truncation, plain G(z, y)
        plain = run_file(path, fmt, {**feeds, "psi": torch.tensor(1.0)})
        torch.testing.assert_close(plain, model.generate(feeds["z"], feeds["y"]), rtol=0, atol=1e-4)
        assert (plain - got).abs().max() > 1e-3  # psi is not ignored


class FixedBatch(torch.nn.Module):
    """A generator that reads its batch size with len(z): traced, the size becomes a constant."""

    def forward(self, z, y=None):
        return z.view(len(z), 1, 4, 4).tanh()


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_check_catches_a_batch_size_fixed_into_the_graph(fmt, tmp_path):
    cfg = load_config(None, tiny_model("dcgan"))
    model = GanModel.from_networks(cfg, {"G": FixedBatch()}, (1, 4, 4))
    with pytest.raises(UserError, match=f"the exported {fmt} file does not run on a batch of 1"):
        model.export(tmp_path / "g", fmt)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_fails_its_check_never_takes_the_place_of_out(tmp_path):
    model, _ = tiny("dcgan")
    path = tmp_path / "g.pt"
    with pytest.raises(UserError, match="differs from the PyTorch model by up to .*nothing was written"):
        export(model, path, "torchscript", tolerance=-1.0)
    assert list(tmp_path.iterdir()) == []
    path.write_bytes(b"mine")
    with pytest.raises(UserError, match="already exists; pass --overwrite"):
        model.export(path, "torchscript")
    assert path.read_bytes() == b"mine"


def test_onnx_without_its_packages_names_the_extra(tmp_path, monkeypatch):
    model, _ = tiny("dcgan")
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript -> ImportError
    with pytest.raises(UserError, match=r"pip install 'ganforge\[export\]'"):
        export_onnx(model, tmp_path / "g.onnx")
    assert list(tmp_path.iterdir()) == []


def test_what_can_be_exported_comes_from_the_family(tmp_path):
    dcgan, _ = tiny("dcgan")
    cyclegan, _ = tiny("cyclegan-BtoA")
    with pytest.raises(UserError, match="generates from noise; drop --direction"):
        dcgan.export(tmp_path / "g.pt", "torchscript", direction="BtoA")
    cfg = load_config(None, tiny_model("pix2pix"))
    pix2pix = GanModel.from_networks(cfg, build_networks(cfg, (1, 32, 32), 0), (1, 32, 32))
    with pytest.raises(UserError, match="translates AtoB only, not 'BtoA'"):
        pix2pix.export(tmp_path / "g.pt", "torchscript", direction="BtoA")
    with pytest.raises(UserError, match="unknown export format 'tflite'"):
        cyclegan.export(tmp_path / "g.pt", "tflite")
    assert list(tmp_path.iterdir()) == []


# --- the command line -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-step DCGAN on 28 x 28 MNIST test digits."""
    run = tmp_path_factory.mktemp("export") / "run"
    train(load_config("quickstart", [*TINY, "train.steps=2"]), run)
    return run


def test_the_command_writes_a_checked_file_and_keeps_an_existing_one(tiny_run, tmp_path, capsys):
    out = tmp_path / "g.pt"  # TorchScript: the ONNX files are the same code path, and slower to write
    proc = run_cli("export", str(tiny_run), "--format", "torchscript", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out} (TorchScript): inputs z [N, 16]; output images [N, 1, 28, 28]" in proc.stdout
    assert "checked on batches of 3, 1, 5: max |difference| from the PyTorch model" in proc.stdout
    z = torch.randn(4, 16)
    torch.testing.assert_close(run_file(out, "torchscript", {"z": z}), load(tiny_run).generate(z), rtol=0, atol=1e-4)
    before = out.read_bytes()
    assert_user_error(
        cli_here(capsys, "export", str(tiny_run), "--format", "torchscript", "--out", str(out)), "already exists"
    )
    assert out.read_bytes() == before
    assert_user_error(
        run_cli("export", str(tiny_run), "--format", "tflite", "--out", str(tmp_path / "g.tfl")),
        "'tflite' is not one of 'onnx', 'torchscript'",
    )
    assert_user_error(
        cli_here(capsys, "export", str(tiny_run), "--format", "torchscript", "--out", str(out), "--opset", "17"),
        "--opset 17 applies to ONNX files only",
    )
    assert [p.name for p in tmp_path.iterdir()] == ["g.pt"]


def test_a_model_without_a_generator_is_one_line(tiny_run, tmp_path, capsys, monkeypatch):
    import ganforge.api

    loaded = load(tiny_run)
    no_g = GanModel.from_networks(loaded.config, {"D": loaded.networks["D"]}, loaded.data_shape)
    monkeypatch.setattr(ganforge.api, "load", lambda run, device="cpu": no_g)
    proc = cli_here(capsys, "export", str(tiny_run), "--format", "torchscript", "--out", str(tmp_path / "g.pt"))
    assert_user_error(proc, "this dcgan model has no generator network 'G' to export (its networks: D)")
    assert not (tmp_path / "g.pt").exists()


def test_the_command_offers_the_formats_the_module_writes():
    from ganforge.cli import export as command

    (fmt,) = [p for p in command.params if p.name == "fmt"]
    assert tuple(fmt.type.choices) == FORMATS
