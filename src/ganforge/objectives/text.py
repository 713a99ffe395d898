"""Text-to-image: StackGAN's training step (Zhang et al. 2017) with the matching-aware discriminator
of Reed et al. 2016 ("Generative Adversarial Text to Image Synthesis", GAN-CLS, alg. 1).

The schedule (D first, then G on the same fakes, as the shared objective's loss.share_fake):
    D   at every resolution being trained: (real, right text) is real; (fake, right text) and
        (real, wrong text) are fake: (d(rr, ff) + m * d(rr, rw)) / (1 + m) with d = loss.name's D
        loss and m = loss.mismatch (Reed et al.: m = 1, i.e. log D(rr) + (log(1 - D(rw)) +
        log(1 - D(ff))) / 2; m = 0 drops the mismatched-text term: the ablation)
    G   the adversarial G loss at every trained resolution + loss.kl * D_KL(N(mu, sigma^2) || N(0, I))
        of each trained conditioning augmentation (StackGAN eq. 3 and 5; lambda = 1)
One caption per image is drawn at each step from the K the data set holds for it; the wrong text of
an image is the caption of the next image in the (shuffled) batch. Real images are average-pooled
to each stage's resolution.

model.stage=2 with model.init_from=RUN loads that stage-1 run's generator (its EMA weights where it
kept them; text encoder, CA and stage I) before training starts, and G keeps them frozen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.losses import LOSSES
from ganforge.objectives.adversarial import AdversarialObjective, unwrap
from ganforge.objectives.base import Phase, StepState
from ganforge.schema import LossConfig


@dataclass
class StackGANLoss(LossConfig):
    name: str = "nonsaturating"  # the adversarial loss (StackGAN: the standard GAN loss)
    kl: float = 1.0  # weight of the conditioning augmentation's KL term (Zhang et al. 2017: lambda = 1)
    mismatch: float = 1.0  # weight of D's (real image, wrong text) term (Reed et al. 2016: 1); 0: off (the ablation)

    def validate(self, cfg) -> None:
        LOSSES.get(self.name)
        for key in ("kl", "mismatch"):
            if getattr(self, key) < 0:
                raise UserError(f"loss.{key}={getattr(self, key)}: a loss weight must be >= 0 (0 turns the term off)")


def pick_captions(tokens: Tensor) -> Tensor:
    """One caption per image: [N, K, L] -> [N, L], each drawn from its K with the global RNG; [N, L] as is."""
    if tokens.ndim == 2:
        return tokens
    which = torch.randint(tokens.shape[1], (len(tokens),), device=tokens.device)
    return tokens[torch.arange(len(tokens), device=tokens.device), which]


def at_resolution(x: Tensor, res: int) -> Tensor:
    """Images average-pooled (or, if smaller, bilinearly upsampled) to res x res."""
    if x.shape[-1] == res:
        return x
    if x.shape[-1] > res:
        return F.adaptive_avg_pool2d(x, res)
    return F.interpolate(x, size=(res, res), mode="bilinear", align_corners=False)


def checkpoint_folder(run: Path) -> Path:
    """The checkpoint `latest` names in a run directory (or the checkpoint folder given)."""
    if (run / "state.json").is_file():
        return run
    folder = run / "checkpoints" if (run / "checkpoints").is_dir() else run
    latest = folder / "latest"
    if not latest.is_file():
        raise UserError(f"model.init_from={run}: no checkpoint there; give the run directory of a model.stage=1 run")
    return folder / latest.read_text().strip()


def load_stage_one(G: nn.Module, run: str, cfg_model, vocab: list[str] | None) -> str:
    """Copy a stage-1 run's text encoder, CA and stage I into G (stage 2); returns the checkpoint read."""
    from safetensors.torch import load_file

    folder = checkpoint_folder(Path(run))
    try:
        state = json.loads((folder / "state.json").read_text())
        flat = load_file(str(folder / "model.safetensors"))
    except (OSError, ValueError, RuntimeError) as e:
        raise UserError(f"model.init_from={run}: cannot read {folder} ({str(e).splitlines()[0]})") from None
    model = state.get("config", {}).get("model", {})
    if model.get("family") != "stackgan" or model.get("stage") != 1:
        raise UserError(f"model.init_from={run}: not a stackgan model.stage=1 run; train stage I first")
    for key in ("z_dim", "c_dim", "text_dim", "word_dim", "vocab_size", "g_width", "ca"):
        if model.get(key) != getattr(cfg_model, key):
            raise UserError(
                f"model.{key}={getattr(cfg_model, key)} differs from the stage-1 run's {model.get(key)}; "
                f"use model.{key}={model.get(key)}"
            )
    theirs = (state.get("data_meta") or {}).get("vocab")
    if vocab is not None and theirs is not None and list(theirs) != list(vocab):
        raise UserError(f"model.init_from={run}: stage I was trained on captions with another vocabulary; use its data")
    prefix = "G_ema." if any(k.startswith("G_ema.") for k in flat) else "G."
    first = ("text.", "ca1.", "stage1.")
    weights = {
        k[len(prefix) :]: v for k, v in flat.items() if k.startswith(prefix) and k[len(prefix) :].startswith(first)
    }
    target = unwrap(G)
    wanted = {k for k in target.state_dict() if k.startswith(first)}
    if set(weights) != wanted:
        raise UserError(
            f"model.init_from={run}: its stage I does not fit this model ({len(weights)} of {len(wanted)} tensors)"
        )
    target.load_state_dict(weights, strict=False)
    return str(folder)


class StackGANObjective(AdversarialObjective):
    """The StackGAN step (module docstring)."""

    Loss = StackGANLoss
    shares_fake = False  # the sharing is built into d_step / g_step below
    train_keys = frozenset({"d_steps"})

    def bind_data(self, data) -> None:
        if "tokens" not in data.extra:
            raise UserError(
                "model.family=stackgan trains on captioned images: data.name=mnist-captions, "
                "fashion-captions, or captions with data.path=FILE"
            )
        vocab = data.meta.get("vocab")
        size = self.cfg.model.vocab_size
        if vocab is not None and len(vocab) > size:
            raise UserError(f"the captions use {len(vocab)} words; set model.vocab_size={len(vocab)} or more")
        if self.cfg.model.init_from:
            load_stage_one(self.networks["G"], self.cfg.model.init_from, self.cfg.model, vocab)

    def phases(self) -> list[Phase]:
        return [
            Phase("D", self.d_step, "D", repeats=self.cfg.train.d_steps, graph_for="G"),
            Phase("G", self.g_step, "G", needs_data=False),
        ]

    def trained(self, images: dict[int, Tensor]) -> dict[int, Tensor]:
        """The stages D judges: those with a discriminator (not a frozen stage I)."""
        nets = unwrap(self.networks["D"]).nets
        return {r: x for r, x in images.items() if str(r) in nets}

    def d_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        G, D, m = self.networks["G"], self.networks["D"], self.cfg.loss.mismatch
        real = batch["x"]
        if "tokens" not in batch:
            raise UserError("model.family=stackgan trains on captioned images (data.name=mnist-captions, ...)")
        tokens = pick_captions(batch["tokens"])  # [N, L]
        wrong = tokens.roll(1, 0)  # another image's caption
        z = self.noise(len(real), real.device)
        share = state.last_repeat  # the G phase judges these fakes again after D's update
        if share:
            images, stats = G(z, tokens, details=True)
            state.carry.update(images=images, stats=stats, tokens=tokens)
        else:
            with torch.no_grad():
                images, _ = G(z, tokens, details=True)
        loss, logs = 0.0, {}
        for res, fake in self.trained(images).items():
            r = at_resolution(real, res)
            rr, ff = D(r, tokens), D(fake.detach(), tokens)
            term = self.adv.d(real=rr, fake=ff)
            if m > 0:
                rw = D(r, wrong)
                term = (term + m * self.adv.d(real=rr, fake=rw)) / (1 + m)
                logs[f"D_wrong_{res}"] = rw.mean().item()
            loss = loss + term
            logs |= {f"D_real_{res}": rr.mean().item(), f"D_fake_{res}": ff.mean().item()}
        logs["loss_D"] = loss.item()
        return loss, logs

    def g_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        D = self.networks["D"]
        images, stats, tokens = state.carry.pop("images"), state.carry.pop("stats"), state.carry.pop("tokens")
        loss, logs = 0.0, {}
        for res, fake in self.trained(images).items():
            adv = self.adv.g(fake=D(fake, tokens))
            loss = loss + adv
            logs[f"adv_G_{res}"] = adv.item()
        kl = sum((kl_term(mu, lv) for mu, lv in stats if lv is not None), torch.zeros((), device=tokens.device))
        if self.cfg.loss.kl > 0:
            loss = loss + self.cfg.loss.kl * kl
        logs |= {"kl": kl.item(), "loss_G": loss.item()}
        return loss, logs

    # --- previews: one caption per row, the same noise down each column ----------------------------
    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        gen = torch.Generator().manual_seed(seed + 7919)
        side = max(1, int(n**0.5))
        idx = torch.randperm(len(data), generator=gen)[:side]
        tokens = data.extra["tokens"][idx]
        tokens = tokens[:, 0] if tokens.ndim == 3 else tokens  # [side, L]: each image's first caption
        z = torch.randn(side, self.z_dim, generator=gen).repeat(len(idx), 1)  # row i: caption i
        return {"z": z, "tokens": tokens.repeat_interleave(side, 0)}

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        return networks["G"](fixed["z"], fixed["tokens"])


def kl_term(mu: Tensor, logvar: Tensor) -> Tensor:
    """D_KL(N(mu, diag(exp(logvar))) || N(0, I)) summed over dimensions, averaged over the batch."""
    return 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum(1).mean()
