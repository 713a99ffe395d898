"""CTGAN's objective (Xu et al. 2019, "Modeling Tabular Data using Conditional GAN"): the shared
adversarial step with a conditional vector and training-by-sampling.

Every D and G step draws its own batch (no batch from the loop):
    1. a categorical column j uniformly, then a category k of it with P(k) ~ log(1 + count_k)
       (training-by-sampling: rare categories are seen as often as their log frequency says);
    2. cond = the one-hot of (j, k) in the conditional vector (all categorical columns' one-hots);
    3. a real row holding category k in column j, uniformly among them (D's real batch);
    4. fakes G(z, cond); D judges (row, cond) pairs in PacGAN packs of model.pack rows.
Loss: the registered adversarial loss (Wasserstein) + WGAN-GP (lambda = loss.gp) on
`ganforge.regularizers.input_gradients`, its norm taken per pack as CTGAN's code does; G adds loss.cond_weight x the cross-entropy between its logits for column
j and category k, so that G honours the condition. A table without categorical columns has no
conditional vector: real rows are drawn uniformly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.objectives.adversarial import AdversarialObjective, PenaltyLoss, Verdict, unwrap
from ganforge.objectives.base import Phase, StepState
from ganforge.regularizers import input_gradients, weighted_penalties


@dataclass
class CTGANLoss(PenaltyLoss):
    name: str = "wasserstein"  # a registered adversarial loss (CTGAN: Wasserstein critic)
    gp: float = 10.0  # WGAN-GP lambda (CTGAN: 10)
    cond_weight: float = 1.0  # weight of G's cross-entropy on the conditioned column (CTGAN: 1)

    def validate(self, cfg) -> None:
        super().validate(cfg)
        if self.cond_weight < 0:
            raise UserError(f"loss.cond_weight={self.cond_weight}: must be >= 0 (0 turns it off)")


class CondSampler:
    """The conditional vector and training-by-sampling over the discrete columns of an encoded table
    (`ModeEncoder.discrete()`): each column's rows grouped by category, so that a row of category k
    is one index lookup."""

    def __init__(self, discrete: list[dict], x: Tensor | None = None):
        self.discrete = discrete
        self.dim = sum(c["size"] for c in discrete)
        self.log_p = [torch.tensor(c["log_freq"], dtype=torch.float64) for c in discrete]
        self.p = [torch.tensor(c["freq"], dtype=torch.float64) for c in discrete]
        self.groups = []  # per column: (rows sorted by category, start of each category, count of each)
        if x is not None:
            for c in discrete:
                cat = x[:, c["offset"] : c["offset"] + c["size"]].argmax(1)  # [N]
                order = torch.argsort(cat, stable=True)
                count = torch.bincount(cat, minlength=c["size"])
                start = torch.cumsum(count, 0) - count
                self.groups.append((order, start, count))

    def sample(
        self, n: int, generator: torch.Generator | None = None, log: bool = True
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(cond [n, dim], column [n], category [n]): a column uniformly, a category by log frequency
        (training) or by frequency (`log=False`: sampling as the data is)."""
        col = torch.randint(len(self.discrete), (n,), generator=generator)
        cat = torch.zeros(n, dtype=torch.long)
        cond = torch.zeros(n, self.dim)
        for j, c in enumerate(self.discrete):
            rows = (col == j).nonzero().squeeze(1)
            if len(rows) == 0:
                continue
            weights = self.log_p[j] if log else self.p[j]
            if float(weights.sum()) <= 0:  # a column with one category seen: log(1 + 1) > 0, so only if empty
                weights = torch.ones_like(weights)
            k = torch.multinomial(weights, len(rows), replacement=True, generator=generator)
            cat[rows] = k
            cond[rows, c["cond_offset"] + k] = 1.0
        return cond, col, cat

    def real_rows(self, col: Tensor, cat: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """For each (column, category), a random row holding it [n] (rows of an unseen category: any row)."""
        idx = torch.zeros(len(col), dtype=torch.long)
        u = torch.rand(len(col), generator=generator, dtype=torch.float64)
        for j, (order, start, count) in enumerate(self.groups):
            rows = (col == j).nonzero().squeeze(1)
            if len(rows) == 0:
                continue
            k = cat[rows]
            cnt = count[k]
            pick = (u[rows] * cnt.clamp_min(1)).long().clamp_max((cnt - 1).clamp_min(0))
            got = order[(start[k] + pick).clamp_max(len(order) - 1)]
            idx[rows] = got
        return idx


def cond_loss(logits: Tensor, discrete: list[dict], col: Tensor, cat: Tensor) -> Tensor:
    """Mean over the batch of the cross-entropy between G's logits for column col_i and category cat_i."""
    total = logits.new_zeros(())
    for j, c in enumerate(discrete):
        rows = (col == j).nonzero().squeeze(1)
        if len(rows):
            span = logits[rows, c["offset"] : c["offset"] + c["size"]]
            total = total + F.cross_entropy(span, cat[rows].to(logits.device), reduction="sum")
    return total / len(col)


class CTGANObjective(AdversarialObjective):
    """AdversarialObjective with CTGAN's conditional vector, training-by-sampling and cond loss."""

    shares_fake = False  # G's phase draws its own conditional vectors and needs its logits

    Loss = CTGANLoss
    train_keys = frozenset({"d_steps"})
    draws_samples = False  # rows of a table: nothing to draw

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        super().__init__(cfg, networks)
        self.sampler = CondSampler(unwrap(networks["G"]).discrete)
        self.x: Tensor | None = None

    def bind_data(self, data) -> None:
        if data.x.ndim != 2:
            raise UserError(
                "the ctgan family synthesises tables: train it on a CSV with data.name=table-modes "
                "data.path=FILE.csv (e.g. 'ganforge train ctgan data.path=table.csv')"
            )
        self.x = data.x
        self.sampler = CondSampler(unwrap(self.networks["G"]).discrete, data.x)

    def phases(self) -> list[Phase]:
        return [
            Phase("D", self.d_step, "D", repeats=self.cfg.train.d_steps, needs_data=False, after=self.after_d),
            Phase("G", self.g_step, "G", needs_data=False),
        ]

    def device(self) -> torch.device:
        return next(unwrap(self.networks["G"]).parameters()).device

    def conditions(self, n: int) -> tuple[Tensor | None, Tensor, Tensor]:
        """(cond or None without categorical columns, column, category) from the global RNG."""
        if self.sampler.dim == 0:
            return None, torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)
        cond, col, cat = self.sampler.sample(n)
        return cond.to(self.device()), col, cat

    def real_and_fake(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor | None, Tensor]:
        n, dev = self.cfg.train.batch_size, self.device()
        cond, col, cat = self.conditions(n)
        if self.sampler.dim == 0:
            rows = torch.randint(len(self.x), (n,))
        else:
            rows = self.sampler.real_rows(col, cat)
        real = self.x[rows].to(dev)
        with torch.no_grad():
            fake = self.make_fake(self.noise(n, dev), cond)
        return real, cond, fake

    def g_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        n, dev = self.cfg.train.batch_size, self.device()
        cond, col, cat = self.conditions(n)
        G = self.networks["G"]
        fake, logits = G(self.noise(n, dev), cond, return_logits=True)
        v_fake: Verdict = self.judge(fake, cond)
        loss = self.adv.g(fake=v_fake.logits, real=None)
        logs = {"loss_G": loss.item()}
        if cond is not None and self.cfg.loss.cond_weight > 0:
            ce = cond_loss(logits, self.sampler.discrete, col, cat)
            loss = loss + self.cfg.loss.cond_weight * ce
            logs["cond_ce"] = ce.item()
        return loss, logs

    def d_penalty(self, real: Tensor, fake: Tensor, y: Tensor | None) -> tuple[Tensor, dict[str, float]]:
        """WGAN-GP over packs, as CTGAN's code: the norm of D's input gradient is taken over each pack of
        model.pack rows (one critic value), not over each row -- per row, the packs' norms could reach
        sqrt(pack). Other penalties (r1, r2) as the shared objective has them."""
        pack = self.cfg.model.pack
        if "gp" not in self.penalties or pack == 1:
            return super().d_penalty(real, fake, y)
        D = unwrap(self.networks["D"])
        eps = torch.rand(len(real), 1, device=real.device, dtype=real.dtype)
        x_hat = eps * real.detach() + (1 - eps) * fake.detach()
        grad = input_gradients(D, x_hat, y)  # [N, F]
        norms = grad.reshape(len(grad) // pack, -1).norm(dim=1)  # [N / pack]: one per critic value
        gp = (norms - 1).square().mean()
        total, logs = self.penalties["gp"] * gp, {"reg_gp": gp.item()}
        others = {k: w for k, w in self.penalties.items() if k != "gp"}
        if others:
            more, more_logs = weighted_penalties(D, others, real=real, fake=fake, y=y)
            total, logs = total + more, logs | more_logs
        return total, logs

    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        gen = torch.Generator().manual_seed(seed + 7919)
        z = torch.randn(n, self.cfg.model.z_dim, generator=gen)
        out = {"z": z}
        if self.sampler.dim:
            out["cond"] = self.sampler.sample(n, gen, log=False)[0]
        return out

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        return networks["G"](fixed["z"], fixed.get("cond"))
