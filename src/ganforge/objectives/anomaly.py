"""GANomaly (Akcay et al. 2018, "GANomaly: Semi-Supervised Anomaly Detection via Adversarial Training").

G is an encoder-decoder-encoder: z = GE(x), x_hat = GD(z), z_hat = E(x_hat). It is trained on normal
data only; an input unlike the training data is reconstructed badly, so its second encoding drifts
from the first, and the anomaly score is the latent distance mean((z - z_hat)^2) (eq. 8).

The schedule, as the paper's code runs it (G first, then D on the same batch):
    G   w_adv * |f(x) - f(x_hat)|^2   feature matching: f = D's penultimate features (eq. 1)
        + w_con * |x - x_hat|_1       contextual loss (eq. 2)
        + w_enc * |z - z_hat|^2       encoder loss (eq. 3); the paper's weights 1, 50, 1
    D   0.5 * (BCE(D(x), real) + BCE(D(x_hat), fake))   from loss.name's D loss, on the G phase's
        images (`state.carry`, needs_data=False), x_hat detached
The paper's code also re-initialises D whenever its loss falls under 1e-5; that is left out here.

G's forward returns (x_hat, z, z_hat); D(x) the logits and D(x, features=True) the penultimate
features. A run's last checkpoint records the range of the scores on the training set
(`data_state`), which `ganforge.inference.anomaly` uses to scale scores to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.io import tiles
from ganforge.losses import LOSSES
from ganforge.objectives.adversarial import AdversarialObjective, unwrap
from ganforge.objectives.base import Phase, StepState
from ganforge.schema import LossConfig


@dataclass
class GANomalyLoss(LossConfig):
    name: str = "nonsaturating"  # D's loss (its D half is the paper's BCE); G's adversarial term is feature matching
    w_adv: float = 1.0  # feature matching |f(x) - f(x_hat)|^2 (Akcay et al. 2018: 1)
    w_con: float = 50.0  # contextual L1 |x - x_hat| (paper: 50)
    w_enc: float = 1.0  # encoder L2 |GE(x) - E(x_hat)|^2 (paper: 1)

    def validate(self, cfg) -> None:
        LOSSES.get(self.name)
        for key in ("w_adv", "w_con", "w_enc"):
            if getattr(self, key) < 0:
                raise UserError(f"loss.{key}={getattr(self, key)}: a loss weight must be >= 0 (0 turns the term off)")


def latent_distance(z: Tensor, z_hat: Tensor) -> Tensor:
    """The anomaly score per sample: mean over latent dimensions of (z - z_hat)^2; [N, Z] -> [N]."""
    return (z - z_hat).flatten(1).square().mean(1)


@torch.no_grad()
def raw_scores(G: nn.Module, x: Tensor, batch_size: int = 512) -> Tensor:
    """Unscaled anomaly scores [N] of inputs x (on the CPU) under G (in the mode it is in), in batches
    on G's device."""
    device = next(G.parameters()).device
    out = []
    for chunk in x.split(batch_size):
        _, z, z_hat = G(chunk.to(device))
        out.append(latent_distance(z, z_hat).float().cpu())
    return torch.cat(out) if out else torch.empty(0)


def score_range(scores: Tensor) -> dict[str, float]:
    """What a checkpoint records about the training set's raw scores: min and max (the [0, 1] scaling)
    and the 99th percentile (the default threshold of `ganforge detect`)."""
    s = scores.double()
    return {"score_min": float(s.min()), "score_max": float(s.max()), "score_p99": float(torch.quantile(s, 0.99))}


class GANomalyObjective(AdversarialObjective):
    """The GANomaly step (module docstring); no EMA: the scores are those of the trained G itself."""

    Loss = GANomalyLoss
    train_keys: frozenset[str] = frozenset()
    ema_network = None

    def phases(self) -> list[Phase]:
        return [Phase("G", self.g_step, "G"), Phase("D", self.d_step, "D", needs_data=False)]

    def g_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        G, D, w = self.networks["G"], self.networks["D"], self.cfg.loss
        x = batch["x"]
        if x.ndim != 4:
            raise UserError(f"model.family=ganomaly trains on images [C, H, W]; this data is {list(x.shape[1:])}")
        x_hat, z, z_hat = G(x)
        adv = (D(x, features=True) - D(x_hat, features=True)).square().mean()  # D's weights: not stepped here
        con = (x - x_hat).abs().mean()
        enc = latent_distance(z, z_hat).mean()
        loss = w.w_adv * adv + w.w_con * con + w.w_enc * enc
        state.carry.update(real=x, fake=x_hat.detach())
        return loss, {"loss_G": loss.item(), "adv_G": adv.item(), "con": con.item(), "enc": enc.item()}

    def d_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        D = self.networks["D"]
        real, fake = state.carry.pop("real"), state.carry.pop("fake")
        d_real, d_fake = D(real), D(fake)
        loss = 0.5 * self.adv.d(real=d_real, fake=d_fake)  # halved, as in the paper's code
        return loss, {"loss_D": loss.item(), "D_real": d_real.mean().item(), "D_fake": d_fake.mean().item()}

    # --- what a checkpoint records ---------------------------------------------------------------
    def data_state(self, data) -> dict:
        """The range of the raw scores over the whole training set, with G in eval mode (as inference
        runs it); G's mode is restored after."""
        G = unwrap(self.networks["G"])
        was_training = G.training
        G.eval()
        try:
            return score_range(raw_scores(G, data.x))
        finally:
            G.train(was_training)

    # --- previews: rows of input | reconstruction ------------------------------------------------
    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        k = min(max(1, n // 2), len(data))
        idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed + 7919))[:k]
        return {"x": data.x[idx]}

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        x = fixed["x"]
        return tiles([x, networks["G"](x)[0]])
