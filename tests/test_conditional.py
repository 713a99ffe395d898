"""Class-conditional families (cdcgan, cresnet, biggan), their objective, conditional sampling
(labels, truncation, per-class grids, interpolation), synthetic data sets, ADA state across
resume, and the CLI's conditional commands."""

import numpy as np
import pytest
import torch

from ganforge.config import load_config
from ganforge.data import Data
from ganforge.errors import UserError
from ganforge.models.biggan import BigGANGenerator
from ganforge.objectives.adversarial import ortho_target
from ganforge.regularizers import orthogonal_penalty
from ganforge.training.loop import Trainer, build_networks, train

from conftest import TINY, assert_user_error, run_cli

VARIANTS = {   # name -> overrides
    "cdcgan-cbn-projection": ["model.family=cdcgan"],
    "cdcgan-concat-concat": ["model.family=cdcgan", "model.cond_g=concat", "model.cond_d=concat"],
    "cdcgan-acgan": ["model.family=cdcgan", "model.cond_g=concat", "model.cond_d=acgan"],
    "cresnet-cbn-projection": ["model.family=cresnet"],
    "cresnet-acgan": ["model.family=cresnet", "model.cond_d=acgan"],
    "biggan": ["model.family=biggan", "model.g_sn=true", "loss.name=hinge", "loss.ortho=1e-4"],
}


def labelled(n=32, size=32, classes=10, seed=0) -> Data:
    gen = torch.Generator().manual_seed(seed)
    return Data(torch.rand(n, 1, size, size, generator=gen) * 2 - 1, torch.randint(0, classes, (n,), generator=gen),
                tuple(f"c{i}" for i in range(classes)))


def cfg_for(overrides, steps=1, extra=()):
    return load_config(None, [*[o for o in TINY if not o.startswith("data.")], f"train.steps={steps}",
                              *overrides, *extra])


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_label_changes_the_generators_output(variant, tmp_path):
    trainer = Trainer(cfg_for(VARIANTS[variant]), tmp_path / "run", data=labelled())
    trainer.train_step()                   # conditional BN starts class-blind (zero gains); one step breaks that
    G = trainer.nets["G"].eval()
    z = torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = G(z, torch.zeros(4, dtype=torch.long)), G(z, torch.full((4,), 7))
    assert a.shape == (4, 1, 32, 32)
    assert (a - b).abs().max() > 1e-2 * a.abs().max() > 0     # outputs are small at init: compare relatively
    with pytest.raises(ValueError, match="class-conditional"):
        G(z)


@pytest.mark.parametrize("variant", ["cdcgan-cbn-projection", "cresnet-cbn-projection", "biggan"])
def test_projection_discriminator_is_psi_plus_inner_product(variant):
    torch.manual_seed(0)
    cfg = cfg_for(VARIANTS[variant])
    D = build_networks(cfg, (1, 32, 32), 10)["D"].eval()      # eval: spectral norm reads its weights without a power step
    x, y = torch.rand(5, 1, 32, 32) * 2 - 1, torch.tensor([0, 3, 3, 9, 1])
    with torch.no_grad():
        phi = D.trunk(x)                                       # [5, F]
        by_hand = phi @ D.psi.weight[0] + D.psi.bias[0] + (D.embed.weight[y] * phi).sum(1)
        torch.testing.assert_close(D(x, y), by_hand, rtol=1e-5, atol=1e-5)
        # the class term really depends on y: another label, another logit
        assert (D(x, y) - D(x, (y + 1) % 10)).abs().max() > 1e-6


def test_acgan_discriminator_returns_class_logits_and_trains_them(tmp_path):
    trainer = Trainer(cfg_for(VARIANTS["cdcgan-acgan"]), tmp_path / "run", data=labelled())
    D = trainer.nets["D"]
    logits, classes = D(torch.zeros(3, 1, 32, 32), torch.zeros(3, dtype=torch.long), aux=True)
    assert logits.shape == (3,) and classes.shape == (3, 10)
    logs = trainer.train_step()
    assert {"loss_aux_D", "loss_aux_G", "acc_real"} <= logs.keys()
    assert logs["loss_aux_D"] > 0 and logs["loss_aux_G"] > 0


def test_acgan_class_loss_on_real_images_only(tmp_path):
    import torch.nn.functional as F
    from ganforge.objectives import StepState

    trainer = Trainer(cfg_for([*VARIANTS["cdcgan-acgan"], "loss.aux_fake=false"]), tmp_path / "run", data=labelled())
    batch = {"x": trainer.data.x[:16], "y": trainer.data.y[:16]}
    _, logs = trainer.objective.d_step(batch, StepState(0))
    with torch.no_grad():                                      # train-mode BN: the same batch gives the same logits
        by_hand = F.cross_entropy(trainer.nets["D"](batch["x"], batch["y"], aux=True)[1], batch["y"]).item()
    assert abs(logs["loss_aux_D"] - by_hand) < 1e-5


def test_biggan_hierarchical_latent_and_ortho_reg_leave_out_the_shared_embedding():
    G = BigGANGenerator(z_dim=20, channels=1, resolution=32, num_classes=10, width=2, shared_dim=8, sn=False)
    assert G.n_chunks == 4                                     # one chunk for the input layer, one per block
    assert G.linear.in_features == 5
    assert [b.bn1.gain.in_features for b in G.blocks] == [8 + 5, 8 + 5, 8 + 5]
    assert "0" not in G.attn and "1" in G.attn                 # attention after the block that reaches 16 px
    # sum over every weight matrix W of G but the shared embedding of ||W W^T (.) (1 - I)||_F^2
    by_hand = 0.0
    for name, p in G.named_parameters():
        if p.ndim >= 2 and not name.startswith("shared."):
            w = p.detach().flatten(1).double()
            gram = w @ w.t()
            by_hand += (gram * (1 - torch.eye(len(gram), dtype=gram.dtype))).square().sum().item()
    assert abs(orthogonal_penalty(ortho_target(G)).item() - by_hand) <= 1e-4 * by_hand
    assert orthogonal_penalty(G).item() > orthogonal_penalty(ortho_target(G)).item()   # the embedding counts there


def test_bad_conditioning_options_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="model.cond_d"):
        load_config(None, ["model.cond_d=proj"])
    with pytest.raises(UserError, match="train.augment"):
        load_config(None, ["train.augment=diffaug"])
    with pytest.raises(UserError, match="labelled data"):
        Trainer(cfg_for(["model.family=cdcgan"]), tmp_path / "a",
                data=Data(torch.zeros(32, 1, 32, 32)))
    with pytest.raises(UserError, match="32 and 64"):
        Trainer(cfg_for(["model.family=biggan"]), tmp_path / "b", data=labelled(size=28))
    with pytest.raises(UserError, match="did you mean 'cutout'"):
        Trainer(cfg_for(["model.family=cdcgan", "train.augment=diffaugment", "train.augment_policy=cutuot"]),
                tmp_path / "c", data=labelled())


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-step conditional DCGAN on 28 x 28 MNIST test digits with ADA (starting at p = 0.5)."""
    run = tmp_path_factory.mktemp("cond") / "run"
    train(load_config("quickstart", [*TINY, "model.family=cdcgan", "train.steps=2", "train.augment=ada",
                                     "train.augment_p=0.5", "train.ada_interval=1", "train.ada_kimg=0.1"]), run)
    return run


def test_ada_probability_survives_checkpoint_and_resume(tmp_path):
    common = ["model.family=cdcgan", "train.augment=ada", "train.augment_p=0.5", "train.ada_interval=2",
              "train.ada_kimg=0.1", "train.ckpt_every=0"]
    data = labelled()
    full = Trainer(cfg_for(common, steps=5), tmp_path / "full", data=data)
    full.fit()
    part = Trainer(cfg_for(common, steps=3), tmp_path / "part", data=data)
    part.fit()                                # p updated after D step 2; step 3 is half-way to the next update
    p_saved = part.objective.ada.p
    assert p_saved != 0.5 and part.objective.ada._count > 0
    resumed = Trainer(cfg_for(common, steps=5), tmp_path / "part", data=data, resume=True)
    assert resumed.objective.ada.state().tolist() == part.objective.ada.state().tolist()
    assert resumed.objective.augment.p == p_saved
    resumed.fit()
    assert resumed.objective.ada.state().tolist() == full.objective.ada.state().tolist()
    for name, net in full.nets.items():                        # and the whole run is exact
        for (k, a), b in zip(net.state_dict().items(), resumed.nets[name].state_dict().values()):
            assert torch.equal(a, b), (name, k)


def test_cli_sample_interpolate_synth(tiny_run, tmp_path, capsys):
    from ganforge.cli import main

    main(["sample", str(tiny_run), "--class", "3", "--truncation", "0.5", "--n", "4", "--out", str(tmp_path / "s.npz")])
    with np.load(tmp_path / "s.npz") as d:
        assert d["labels"].tolist() == [3, 3, 3, 3]
    main(["sample", str(tiny_run), "--per-class", "--n", "2", "--out", str(tmp_path / "grid.png")])
    main(["interpolate", str(tiny_run), "--rows", "2", "--steps", "4", "--out", str(tmp_path / "i.png")])
    main(["synth", str(tiny_run), "--per-class", "2", "--out", str(tmp_path / "d.npz")])
    out = capsys.readouterr().out
    assert "4 samples" in out and "20 samples" in out and "2 strips of 4" in out and "20 images" in out
    from PIL import Image
    assert Image.open(tmp_path / "grid.png").size[1] > 9 * 28   # ten rows, one per class
    # bad input: one line, exit 2 (one case in a fresh process, the rest in-process for speed)
    assert_user_error(run_cli("sample", str(tiny_run), "--class", "10", "--out", str(tmp_path / "x.png")),
                      "class 10 is out of range")
    uncond = tmp_path / "uncond"
    train(load_config("quickstart", [*TINY, "train.steps=1"]), uncond)
    for args, fragment in [
        (["sample", str(uncond), "--class", "3", "--out", str(tmp_path / "u.png")], "unconditional"),
        (["synth", str(uncond), "--per-class", "2", "--out", str(tmp_path / "u.npz")], "class-conditional"),
        (["synth", str(tiny_run), "--per-class", "2", "--out", str(tmp_path / "d.npz")], "already exists"),
        (["sample", str(tiny_run), "--class", "seven", "--out", str(tmp_path / "y.png")], "unknown class"),
        (["interpolate", str(tiny_run), "--class", "-1", "--out", str(tmp_path / "z.png")], "out of range"),
        (["sample", str(tiny_run), "--truncation", "0", "--out", str(tmp_path / "t.png")], "truncation"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            main(args)
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0], (args, err)
