"""Class-conditional networks (cdcgan, cresnet, biggan): the label reaches G (conditional BN,
concatenation), the projection and AC-GAN discriminators, BigGAN's hierarchical latent and the
shared embedding, and the conditioning options' errors."""

import pytest
import torch

from ganforge.config import load_config
from ganforge.data import Data
from ganforge.errors import UserError
from ganforge.models.biggan import BigGANGenerator
from ganforge.models.registry import build_networks
from ganforge.objectives.adversarial import ortho_target
from ganforge.regularizers import orthogonal_penalty
from ganforge.training.loop import Trainer

from tests_helpers import CONDITIONAL_VARIANTS as VARIANTS
from tests_helpers import conditional_config as cfg_for
from tests_helpers import labelled_data as labelled


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_label_changes_the_generators_output(variant, tmp_path):
    trainer = Trainer(cfg_for(VARIANTS[variant]), tmp_path / "run", data=labelled())
    trainer.train_step()  # conditional BN starts class-blind (zero gains); one step breaks that
    G = trainer.nets["G"].eval()
    z = torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = G(z, torch.zeros(4, dtype=torch.long)), G(z, torch.full((4,), 7))
    assert a.shape == (4, 1, 32, 32)
    assert (a - b).abs().max() > 1e-2 * a.abs().max() > 0  # outputs are small at init: compare relatively
    with pytest.raises(ValueError, match="class-conditional"):
        G(z)


@pytest.mark.parametrize("variant", ["cdcgan-cbn-projection", "cresnet-cbn-projection", "biggan"])
def test_projection_discriminator_is_psi_plus_inner_product(variant):
    torch.manual_seed(0)
    cfg = cfg_for(VARIANTS[variant])
    D = build_networks(cfg, (1, 32, 32), 10)["D"].eval()  # eval: spectral norm reads its weights without a power step
    x, y = torch.rand(5, 1, 32, 32) * 2 - 1, torch.tensor([0, 3, 3, 9, 1])
    with torch.no_grad():
        phi = D.trunk(x)  # [5, F]
        by_hand = phi @ D.psi.weight[0] + D.psi.bias[0] + (D.embed.weight[y] * phi).sum(1)
        torch.testing.assert_close(D(x, y), by_hand, rtol=1e-5, atol=1e-5)
        # the class term really depends on y: another label, another logit
        assert (D(x, y) - D(x, (y + 1) % 10)).abs().max() > 1e-6


def test_biggan_hierarchical_latent_and_ortho_reg_leave_out_the_shared_embedding():
    G = BigGANGenerator(z_dim=20, channels=1, resolution=32, num_classes=10, width=2, shared_dim=8, sn=False)
    assert G.n_chunks == 4  # one chunk for the input layer, one per block
    assert G.linear.in_features == 5
    assert [b.bn1.gain.in_features for b in G.blocks] == [8 + 5, 8 + 5, 8 + 5]
    assert "0" not in G.attn and "1" in G.attn  # attention after the block that reaches 16 px
    # sum over every weight matrix W of G but the shared embedding of ||W W^T (.) (1 - I)||_F^2
    by_hand = 0.0
    for name, p in G.named_parameters():
        if p.ndim >= 2 and not name.startswith("shared."):
            w = p.detach().flatten(1).double()
            gram = w @ w.t()
            by_hand += (gram * (1 - torch.eye(len(gram), dtype=gram.dtype))).square().sum().item()
    assert abs(orthogonal_penalty(ortho_target(G)).item() - by_hand) <= 1e-4 * by_hand
    assert orthogonal_penalty(G).item() > orthogonal_penalty(ortho_target(G)).item()  # the embedding counts there


def test_bad_conditioning_options_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="model.cond_d"):
        load_config(None, ["model.cond_d=proj"])
    with pytest.raises(UserError, match="train.augment"):
        load_config(None, ["train.augment=diffaug"])
    with pytest.raises(UserError, match="labelled data"):
        Trainer(cfg_for(["model.family=cdcgan"]), tmp_path / "a", data=Data(torch.zeros(32, 1, 32, 32)))
    with pytest.raises(UserError, match="32 and 64"):
        Trainer(cfg_for(["model.family=biggan"]), tmp_path / "b", data=labelled(size=28))
    with pytest.raises(UserError, match="did you mean 'cutout'"):
        Trainer(
            cfg_for(["model.family=cdcgan", "train.augment=diffaugment", "train.augment_policy=cutuot"]),
            tmp_path / "c",
            data=labelled(),
        )


def test_conditional_bn_lr_mul_scales_the_class_tables_and_their_step():
    """gamma = 1 + lr_mul * table[y]: one Adam step (about lr per entry) moves gamma lr_mul times as far."""
    from ganforge.models.layers import ConditionalBatchNorm2d

    moved = {}
    for lr_mul in (1.0, 20.0):
        torch.manual_seed(0)
        bn = ConditionalBatchNorm2d(3, num_classes=4, lr_mul=lr_mul)
        x, y = torch.randn(8, 3, 5, 5), torch.arange(8) % 4
        opt = torch.optim.Adam(bn.parameters(), lr=1e-3)
        (bn(x, y) * torch.randn(8, 3, 5, 5, generator=torch.Generator().manual_seed(1))).sum().backward()
        opt.step()
        with torch.no_grad():
            out = bn(x, y)
            torch.testing.assert_close(
                out, (1 + lr_mul * bn.gain(y))[:, :, None, None] * bn.bn(x) + lr_mul * bn.bias(y)[:, :, None, None]
            )
            moved[lr_mul] = (lr_mul * bn.gain.weight).abs().max().item()
    assert moved[20.0] == pytest.approx(20 * moved[1.0], rel=1e-3)


def test_runs_saved_before_cbn_lr_mul_read_their_class_gains_as_stored():
    from ganforge.config.loader import from_saved

    cfg = cfg_for(VARIANTS["cdcgan-cbn-projection"])
    assert cfg.model.cbn_lr_mul == 200.0  # the default of new runs
    saved = cfg.to_dict()
    del saved["model"]["cbn_lr_mul"]
    assert from_saved(saved).model.cbn_lr_mul == 1.0
