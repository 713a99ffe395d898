"""StackGAN (models/stackgan.py, objectives/text.py): the KL term against its closed form and
torch.distributions, conditioning augmentation, one training step of stage I, of stage II on a frozen
stage I loaded from a run, and of joint training; the matching-aware D's wrong-text term; text reaching G."""

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from ganforge.api import load
from ganforge.data import Data
from ganforge.data.captions import Tokenizer
from ganforge.errors import UserError
from ganforge.models.stackgan import CondAugment, TextEncoder
from ganforge.objectives.text import kl_term, pick_captions
from ganforge.training.loop import Trainer

from tests_helpers import tiny_trainer_config

SMALL = ["model.c_dim=8", "model.text_dim=16", "model.word_dim=16", "model.vocab_size=64", "model.res_blocks=1"]
CAPTIONS = ["a thick seven", "a thin seven", "a slanted one", "a small upright one", "a large zero", "a thin zero"]


def captioned(n: int = 32, seed: int = 0) -> Data:
    """n random 32 px images, each with 2 of CAPTIONS, the vocabulary in meta as the data sets record it."""
    gen = torch.Generator().manual_seed(seed)
    caps = [[CAPTIONS[(i + j) % len(CAPTIONS)] for j in (0, 3)] for i in range(n)]
    tok = Tokenizer.build(caps)
    x = torch.rand(n, 1, 32, 32, generator=gen) * 2 - 1
    return Data(x, None, (), "image", {"tokens": tok.encode_all(caps)}, tok.meta())


def config(extra=(), steps=1):
    return tiny_trainer_config("stackgan", [*SMALL, *extra], steps=steps)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before, module, prefix=""):
    return {k for k, v in module.state_dict().items() if k.startswith(prefix) and not torch.equal(before[k], v)}


# --- conditioning augmentation ---------------------------------------------------------------------------
def test_kl_term_matches_the_closed_form_and_torch_distributions():
    mu = torch.tensor([[1.0, 0.0], [0.5, -2.0]])
    logvar = torch.tensor([[0.0, torch.log(torch.tensor(4.0))], [-1.0, 0.3]])
    # by hand, first row: 0.5 (1 + 1 - 1 - 0) + 0.5 (0 + 4 - 1 - ln 4)
    row0 = 0.5 + 0.5 * (3 - torch.log(torch.tensor(4.0)))
    assert kl_term(mu[:1], logvar[:1]).item() == pytest.approx(row0.item(), rel=1e-6)
    ref = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(torch.zeros(2), torch.ones(2))).sum(1).mean()
    assert kl_term(mu, logvar).item() == pytest.approx(ref.item(), rel=1e-6)
    assert kl_term(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0  # N(0, I) itself


def test_conditioning_augmentation_samples_in_training_and_uses_the_mean_at_inference():
    torch.manual_seed(0)
    ca = CondAugment(16, 8)
    e = torch.randn(4000, 16)
    c, mu, logvar = ca(e)
    eps = (c - mu) / (0.5 * logvar).exp()  # the reparameterised noise: standard normal
    assert eps.mean().abs() < 0.02 and (eps.std() - 1).abs() < 0.02
    c_eval, mu_eval, _ = ca.eval()(e)
    torch.testing.assert_close(c_eval, mu_eval)
    plain = CondAugment(16, 8, ca=False)
    c2, _, lv2 = plain(e)
    assert lv2 is None and c2.shape == (4000, 8)
    torch.testing.assert_close(c2, plain(e)[0])  # no noise without CA


def test_text_encoder_refuses_ids_outside_its_table_and_ignores_padding():
    enc = TextEncoder(10, 8, 8)
    with pytest.raises(UserError, match="model.vocab_size"):
        enc(torch.tensor([[3, 12]]))
    a = enc(torch.tensor([[3, 4, 0, 0]]))
    b = enc(torch.tensor([[3, 4, 0, 0, 0, 0]]))
    torch.testing.assert_close(a, b)  # padding does not count in the mean
    assert pick_captions(torch.arange(24).view(2, 3, 4)).shape == (2, 4)


# --- training steps --------------------------------------------------------------------------------------
def test_stage_one_step_trains_g_and_d_on_right_wrong_and_fake(tmp_path):
    trainer = Trainer(config(), tmp_path / "run", data=captioned())
    G, D = trainer.nets["G"], trainer.nets["D"]
    assert list(D.nets) == ["16"]
    g0, d0 = snapshot(G), snapshot(D)
    logs = trainer.train_step()
    assert {"D_real_16", "D_fake_16", "D_wrong_16", "adv_G_16", "kl", "loss_D", "loss_G"} <= set(logs)
    assert logs["kl"] > 0
    assert changed(g0, G, "stage1.") and changed(g0, G, "text.") and changed(d0, D, "nets.16.text.")
    out = trainer.objective.preview(trainer.nets, trainer.objective.fixed_inputs(trainer.data, 16, 0))
    assert out.shape == (16, 1, 16, 16) and torch.isfinite(out).all()


def test_ablations_drop_the_wrong_text_term_and_the_kl(tmp_path):
    logs = Trainer(config(["loss.mismatch=0", "model.ca=false"]), tmp_path / "run", data=captioned()).train_step()
    assert not any(k.startswith("D_wrong") for k in logs)
    assert logs["kl"] == 0.0


def test_stage_two_refines_a_frozen_stage_one_loaded_from_its_run(tmp_path):
    data = captioned()
    Trainer(config(steps=2), tmp_path / "s1", data=data).fit()
    s1 = load(tmp_path / "s1")
    trainer = Trainer(config(["model.stage=2", f"model.init_from={tmp_path / 's1'}"]), tmp_path / "s2", data=data)
    G, D = trainer.nets["G"], trainer.nets["D"]
    first = {k: v for k, v in s1.networks["G"].state_dict().items()}
    for k, v in G.state_dict().items():
        if k.startswith(("text.", "ca1.", "stage1.")):
            torch.testing.assert_close(v, first[k], rtol=0, atol=0)  # stage I as the run left it (its EMA)
    assert list(D.nets) == ["32"]
    g0 = snapshot(G)
    logs = trainer.train_step()
    assert "D_wrong_32" in logs and "adv_G_32" in logs and "adv_G_16" not in logs
    assert not changed(g0, G, "stage1.") and not changed(g0, G, "text.") and not changed(g0, G, "ca1.")  # frozen
    assert changed(g0, G, "stage2.") and changed(g0, G, "ca2.")
    z = torch.randn(3, 16)
    assert G.eval()(z, data.extra["tokens"][:3, 0]).shape == (3, 1, 32, 32)


def test_joint_training_judges_both_stages(tmp_path):
    trainer = Trainer(config(["model.stage=2", "model.joint=true"]), tmp_path / "run", data=captioned())
    assert sorted(trainer.nets["D"].nets) == ["16", "32"]
    g0 = snapshot(trainer.nets["G"])
    logs = trainer.train_step()
    assert {"adv_G_16", "adv_G_32", "D_wrong_16", "D_wrong_32"} <= set(logs)
    assert changed(g0, trainer.nets["G"], "stage1.") and changed(g0, trainer.nets["G"], "stage2.")


def test_stage_options_are_checked(tmp_path):
    with pytest.raises(UserError, match="model.init_from=RUN"):
        config(["model.stage=2"])
    with pytest.raises(UserError, match="stage-2 options"):
        config(["model.joint=true"])
    Trainer(tiny_trainer_config("dcgan"), tmp_path / "dcgan", data=captioned()).fit()
    with pytest.raises(UserError, match="not a stackgan model.stage=1 run"):
        Trainer(config(["model.stage=2", f"model.init_from={tmp_path / 'dcgan'}"]), tmp_path / "s2", data=captioned())
    with pytest.raises(UserError, match="trains on captioned images"):
        Trainer(config(), tmp_path / "plain", data=Data(torch.rand(32, 1, 32, 32) * 2 - 1))
    with pytest.raises(UserError, match="model.vocab_size=.* or more"):
        Trainer(config(["model.vocab_size=5"]), tmp_path / "v", data=captioned())


def test_text_reaches_the_samples_and_a_seed_fixes_them(tmp_path):
    Trainer(config(steps=3), tmp_path / "run", data=captioned()).fit()
    model = load(tmp_path / "run")
    a = model.sample(4, seed=1, text="a thick seven")
    torch.testing.assert_close(a, model.sample(4, seed=1, text="a thick seven", batch_size=3))
    assert not torch.equal(a, model.sample(4, seed=1, text="a small upright one"))  # the text changes them
    per_sample = model.sample(2, seed=1, text=["a thick seven", "a thin zero"])
    torch.testing.assert_close(per_sample[0], a[0])
    z = model.latents(2, seed=1)
    torch.testing.assert_close(model.generate(z, text="a thick seven"), a[:2])
    with pytest.raises(UserError, match="draws images from text"):
        model.sample(2)
    with pytest.raises(UserError, match="name the class in --text"):
        model.sample(2, text="a seven", y=3)
    with pytest.warns(UserWarning, match="unknown word.*purple"):
        model.sample(2, text="a purple seven")
