"""Image-to-image translation: pix2pix and CycleGAN networks, data, objectives, translate API/CLI."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import ganforge
from ganforge.config import load_config
from ganforge.data import build_dataset
from ganforge.data.paired import PairedJitter, load_paired_folder, sobel_edges
from ganforge.errors import UserError
from ganforge.models import MODELS
from ganforge.models.pix2pix import PatchDiscriminator, UNetGenerator, receptive_field
from ganforge.objectives.translation import ImagePool, cycle_loss
from ganforge.training.loop import Trainer, train

from conftest import assert_user_error, run_cli

TINY = ["model.g_width=4", "model.d_width=4", "train.batch_size=8",
        "train.progress=false", "train.tensorboard=false", "train.threads=1", "train.log_every=1",
        "train.sample_every=0", "data.split=test", "data.limit=64"]


def tiny(preset: str) -> list[str]:
    """TINY, plus one residual block for the CycleGAN generators (an option pix2pix does not have)."""
    return TINY + (["model.resnet_blocks=1"] if "cyclegan" in preset else [])


# --- networks ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [32, 64, 128, 256])
def test_unet_keeps_the_input_size(size):
    g = UNetGenerator(3, 2, size, width=4).eval()
    assert g.depth == {32: 5, 64: 6, 128: 7, 256: 8}[size]       # down to 1x1
    out = g(torch.rand(2, 3, size, size) * 2 - 1)
    assert out.shape == (2, 2, size, size)
    assert out.abs().max() <= 1


def test_unet_rejects_a_size_not_divisible_by_two_to_the_depth():
    with pytest.raises(UserError, match=r"divisible by 2\^5 = 32, got 48"):
        UNetGenerator(1, 1, 48, depth=5)
    UNetGenerator(1, 1, 48, depth=4)                             # 48 = 3 * 16 fits 4 levels
    cfg = load_config(None, ["model.family=pix2pix", "model.unet_depth=4", "data.resolution=40", *TINY])
    with pytest.raises(UserError, match="multiple of 16"):
        MODELS.get("pix2pix").build(cfg.model, (1, 40, 40))


def test_patchgan_receptive_field_is_70_by_default():
    assert receptive_field(PatchDiscriminator(2)) == 70          # n_layers=3, from the layer list
    assert [receptive_field(PatchDiscriminator(2, n_layers=n)) for n in (1, 2, 4)] == [16, 34, 142]
    # and autograd agrees: one interior output logit depends on exactly a 70x70 window of the input
    d = PatchDiscriminator(1, width=4, norm="none").double()
    x = torch.rand(1, 1, 160, 160, dtype=torch.double, requires_grad=True)
    out = d(x)                                                   # [1, h, w]
    out[0, out.shape[1] // 2, out.shape[2] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0)).flatten()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


# --- objective pieces ----------------------------------------------------------------------------------
def test_image_pool_returns_a_past_image_about_half_the_time():
    torch.manual_seed(0)
    pool = ImagePool(50)
    first = torch.arange(50.0).view(50, 1, 1, 1)
    torch.testing.assert_close(pool.query(first), first)          # filling: every image passes through
    assert len(pool) == 50
    fresh = 1000 + torch.arange(2000.0).view(2000, 1, 1, 1)
    out = torch.cat([pool.query(fresh[i:i + 10]) for i in range(0, 2000, 10)])
    past = (out != fresh).flatten().float().mean().item()
    assert abs(past - 0.5) < 0.05, past
    assert len(pool) == 50
    assert ImagePool(0).query(fresh[:3]) is not None and torch.equal(ImagePool(0).query(fresh[:3]), fresh[:3])


def test_cycle_loss_is_zero_for_identity_mappings():
    a, b = torch.rand(4, 1, 8, 8) * 2 - 1, torch.rand(4, 3, 8, 8) * 2 - 1
    loss, made = cycle_loss(a, b, nn.Identity(), nn.Identity())
    assert loss.item() == 0.0
    torch.testing.assert_close(made["rec_a"], a)
    half = lambda x: 0.5 * x                                      # noqa: E731  not invertible by itself
    loss, _ = cycle_loss(a, a, half, half)
    torch.testing.assert_close(loss, 2 * (0.75 * a).abs().mean())


def test_paired_jitter_keeps_the_halves_aligned():
    a = torch.rand(16, 1, 32, 32) * 2 - 1
    b = torch.cat([-a, a], 1)                                     # B: a pixelwise function of A
    jitter = PairedJitter(32, load_size=40, flip=True)
    ja, jb = jitter([a, b], torch.Generator().manual_seed(3))
    assert ja.shape == a.shape and jb.shape == b.shape
    torch.testing.assert_close(jb, torch.cat([-ja, ja], 1))       # the same crop and flip on both
    again = jitter([a, b], torch.Generator().manual_seed(3))[0]
    torch.testing.assert_close(again, ja)                          # reproducible from the seed
    assert not torch.allclose(ja, jitter([a, b], torch.Generator().manual_seed(4))[0])
    # random per example: the examples are not all shifted alike
    up = torch.nn.functional.interpolate(a, size=(40, 40), mode="bilinear", align_corners=False)
    same_as_corner = [torch.allclose(ja[i], up[i, :, :32, :32]) or torch.allclose(ja[i], up[i, :, :32, :32].flip(-1))
                      for i in range(16)]
    assert not all(same_as_corner)


def test_edges2digits_pairs_and_unpaired_halves():
    data = build_dataset(load_config(None, ["data.name=edges2digits", "data.split=test"]).data)
    assert data.x.shape == (10000, 1, 32, 32) and data.extra["x_b"].shape == (10000, 1, 32, 32)
    torch.testing.assert_close(data.x[:50], sobel_edges(data.extra["x_b"][:50]))   # A is B's edge map
    assert set(data.x.unique().tolist()) == {-1.0, 1.0}
    un = build_dataset(load_config(None, ["data.name=edges2digits-unpaired", "data.split=test"]).data)
    assert len(un) == 5000
    key = lambda t: {r.numpy().tobytes() for r in t.flatten(1)}   # noqa: E731
    assert not key(un.extra["x_b"]) & key(un.extra["x_b_true"])     # no digit is in both domains
    torch.testing.assert_close(un.x[:50], sobel_edges(un.extra["x_b_true"][:50]))
    swapped = build_dataset(load_config(None, ["data.name=invert", "data.split=test", "data.direction=BtoA",
                                               "data.limit=8"]).data)
    torch.testing.assert_close(swapped.extra["x_b"], -swapped.x)


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


def test_paired_and_unpaired_folders(tmp_path):
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (16, 16, 3)) for _ in range(3)]
    for i, im in enumerate(imgs):                                 # side by side: A | B = A | 255 - A
        _png(tmp_path / "sbs" / "train" / f"{i}.png", np.concatenate([im, 255 - im], 1))
        _png(tmp_path / "ab" / "A" / f"{i}.png", im)
        _png(tmp_path / "ab" / "B" / f"{i}.png", 255 - im)
    for root in ("sbs", "ab"):
        a, b = load_paired_folder(tmp_path / root, "train", None, None)
        assert a.shape == (3, 3, 16, 16)
        torch.testing.assert_close(b, -a)
    cfg = load_config(None, [f"data.root={tmp_path / 'sbs'}", "data.name=paired-folder"])
    assert torch.equal(build_dataset(cfg.data).extra["x_b"], b)
    _png(tmp_path / "ab" / "A" / "extra.png", imgs[0])
    with pytest.raises(UserError, match="'extra' has no partner in B/"):
        load_paired_folder(tmp_path / "ab", "train", None, None)
    for i in range(3):
        _png(tmp_path / "un" / "trainA" / f"{i}.png", imgs[i])
    for i in range(5):
        _png(tmp_path / "un" / "trainB" / f"{i}.png", np.full((16, 16, 3), 40 * i))
    un = build_dataset(load_config(None, ["data.name=unpaired-folder", f"data.root={tmp_path / 'un'}"]).data)
    assert len(un) == 5 and un.extra["x_b"].shape == (5, 3, 16, 16)
    assert len({float(v) for v in un.extra["x_b"][:, 0, 0, 0]}) == 5    # every B image used once
    with pytest.raises(UserError, match="testA"):
        build_dataset(load_config(None, ["data.name=unpaired-folder", f"data.root={tmp_path / 'un'}",
                                         "data.split=test"]).data)


# --- training, checkpoints, translate -------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["pix2pix-edges", "cyclegan-edges"])
def test_train_save_load_translate(preset, tmp_path):
    run = tmp_path / "run"
    train(load_config(preset, ["train.steps=2", "train.sample_every=2", *tiny(preset)]), run)
    grid = Image.open(run / "samples" / "step_00000002.png")
    assert grid.size[0] > 3 * 32                                   # rows of input | output | target
    model = ganforge.load(run)
    edges = build_dataset(load_config(preset, tiny(preset)).data).x[:5]
    out = model.translate(edges)
    assert out.shape == (5, 1, 32, 32) and torch.isfinite(out).all()
    torch.testing.assert_close(out, model.networks["G"](edges))     # eval mode: deterministic
    torch.testing.assert_close(model.translate(edges[0]), out[:1])
    if preset.startswith("cyclegan"):
        assert model.translate(out, "BtoA").shape == (5, 1, 32, 32)
    else:
        with pytest.raises(UserError, match="translates AtoB only"):
            model.translate(edges, "BtoA")
        with pytest.raises(UserError, match="does not sample"):
            model.sample(2)
    with pytest.raises(UserError, match=r"\[N, 1, 32, 32\]"):
        model.translate(torch.zeros(2, 3, 32, 32))


def test_cyclegan_resume_is_exact_with_a_full_pool(tmp_path):
    over = ["train.pool_size=4", "train.ckpt_every=2", "train.lr_decay_start=0.25", *tiny("cyclegan")]
    cfg = load_config("cyclegan-edges", ["train.steps=4", *over])
    straight = Trainer(cfg, tmp_path / "a")
    straight.fit()
    half = Trainer(cfg, tmp_path / "b")                           # the same run, stopped after 2 steps
    half.train_step(), half.train_step()
    half.save()
    assert len(half.objective.pools["B"]) == 4
    resumed = Trainer(cfg, tmp_path / "b", resume=True)
    torch.testing.assert_close(resumed.objective.pools["B"].images, half.objective.pools["B"].images)
    resumed.fit()
    for name in straight.nets:
        torch.testing.assert_close(resumed.nets[name].state_dict(), straight.nets[name].state_dict(), rtol=0, atol=0)
    # the linear decay reached the optimisers: full lr at step 1, then (4 - step) / (4 - 1)
    assert [straight.objective.lr_scale(s) for s in range(4)] == [1.0, 1.0, 2 / 3, 1 / 3]
    assert straight.opts["G"].param_groups[0]["lr"] == pytest.approx(2e-4 / 3)


def test_pure_l1_baseline_has_no_discriminator_phase(tmp_path):
    cfg = load_config("pix2pix-edges-l1", ["train.steps=1", *TINY])
    trainer = Trainer(cfg, tmp_path / "run")
    assert [p.name for p in trainer.objective.phases()] == ["G"]
    before = {k: v.clone() for k, v in trainer.nets["D"].state_dict().items()}
    logs = trainer.train_step()
    assert "loss_D" not in logs and logs["loss_G"] == pytest.approx(100 * logs["l1"])
    torch.testing.assert_close(trainer.nets["D"].state_dict(), before)


def test_translation_family_needs_two_domains(tmp_path):
    cfg = load_config(None, ["model.family=pix2pix", "data.name=mnist", *TINY])
    with pytest.raises(UserError, match="needs two-domain data"):
        Trainer(cfg, tmp_path / "run")


def test_translate_cli(tmp_path, capsys):
    from ganforge.cli import main
    run = tmp_path / "run"
    train(load_config("pix2pix-edges", ["train.steps=1", *TINY]), run)
    data = build_dataset(load_config("pix2pix-edges", TINY).data)
    for i in range(3):
        for folder, t in (("in", data.x[i]), ("tg", data.extra["x_b"][i])):
            _png(tmp_path / folder / f"d{i}.png", ((t[0] + 1) * 127.5).round().numpy())
    proc = run_cli("translate", str(run), str(tmp_path / "in"), "--target", str(tmp_path / "tg"),
                   "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "PSNR" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["comparison.png", "d0.png", "d1.png", "d2.png"]
    assert Image.open(tmp_path / "out" / "comparison.png").size[1] > 3 * 32     # three rows
    assert_user_error(run_cli("translate", str(run), str(tmp_path / "missing"), "--out", str(tmp_path / "o2")),
                      "does not exist")
    # the other errors in-process (a fresh interpreter per case is slow on a shared CPU)
    for args, fragment in [((str(tmp_path / "norun"), str(tmp_path / "in")), "does not exist"),
                           ((str(run), str(tmp_path / "in"), "--out", str(tmp_path / "out")), "already exists"),
                           ((str(run), str(tmp_path / "in"), "--direction", "BtoA"), "AtoB only")]:
        with pytest.raises(SystemExit) as exit_:
            main(["translate", *args])
        assert exit_.value.code == 2
        assert fragment in capsys.readouterr().err


def test_jitter_in_training_is_a_function_of_the_step(tmp_path):
    cfg = load_config("pix2pix-edges", ["train.steps=1", "data.resolution=32", "data.load_size=36",
                                        "data.flip=true", *TINY])
    trainer = Trainer(cfg, tmp_path / "run")
    batch = trainer.next_batch()
    a1, b1 = trainer.objective._pair(batch, 5, paired=True)
    a2, b2 = trainer.objective._pair(batch, 5, paired=True)
    torch.testing.assert_close(a1, a2)                             # same step, same crops: resume-safe
    assert not torch.equal(a1, batch["x"])
    assert not torch.equal(a1, trainer.objective._pair(batch, 6, paired=True)[0])
    logs = trainer.train_step()
    assert np.isfinite(logs["loss_G"]) and np.isfinite(logs["loss_D"])
