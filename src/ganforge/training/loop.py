"""The one training loop, read top to bottom.

for step in range(start, steps):
    state = StepState(step)                 # what this step's phases pass on (state.carry)
    for phase in objective.phases():        # the schedule is data: D x d_steps, G, regularisers ...
        if step % phase.interval == 0:
            for _ in range(phase.repeats):  loss = phase.loss(batch, state); backward; step; phase.after()
    EMA; log; sample grid; checkpoint
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganforge import __version__
from ganforge.config import Config, build, from_saved, save_config
from ganforge.data import BatchStream, Data, build_dataset
from ganforge.errors import UserError
from ganforge.models import MODELS
from ganforge.models.registry import build_networks
from ganforge.objectives import Objective, StepState
from ganforge.optim import make_optimizer
from ganforge.training.checkpoint import load_latest, save_checkpoint
from ganforge.training.ema import EMA
from ganforge.training.engine import make_fabric
from ganforge.training.logging import RunLogger, save_samples


def build_objective(cfg: Config, networks: dict[str, nn.Module]) -> Objective:
    return MODELS.get(cfg.model.family).objective(cfg, networks)


# --- RNG state as JSON ------------------------------------------------------------------------------
def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.numpy().tobytes()).decode()


def _unb64(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


def get_rng_state() -> dict:
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "torch": _b64(torch.get_rng_state()),
        "numpy": [np_state[0], np_state[1].tolist(), np_state[2], np_state[3], np_state[4]],
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }
    if torch.cuda.is_available():
        state["cuda"] = [_b64(s) for s in torch.cuda.get_rng_state_all()]
    return state


def gather_json(fabric, obj) -> list:
    """`obj` (JSON-able) from every rank, in rank order, on every rank: JSON bytes through two
    all_gathers, so nothing is pickled between processes. One process: [obj]."""
    if fabric.world_size == 1:
        return [obj]
    data = torch.frombuffer(bytearray(json.dumps(obj).encode()), dtype=torch.uint8)
    sizes = fabric.all_gather(torch.tensor([len(data)], device=fabric.device)).reshape(-1).cpu()  # [W]
    padded = torch.zeros(int(sizes.max()), dtype=torch.uint8)
    padded[: len(data)] = data
    every = fabric.all_gather(padded.to(fabric.device)).cpu()  # [W, longest]
    return [json.loads(every[r, : int(n)].numpy().tobytes()) for r, n in enumerate(sizes.tolist())]


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(_unb64(state["torch"]))
    n = state["numpy"]
    np.random.set_state((n[0], np.array(n[1], dtype=np.uint32), n[2], n[3], n[4]))
    p = state["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([_unb64(s) for s in state["cuda"]])


# --- the run directory ----------------------------------------------------------------------------
def prepare_run_dir(run_dir: Path, resume: bool, overwrite: bool) -> None:
    """Never overwrite what the user has unless asked; refuse to delete what is not a run."""
    if resume:
        if not (run_dir / "checkpoints").is_dir():
            raise UserError(f"cannot resume: {run_dir} has no checkpoints/; drop --resume to start a new run")
        return
    if run_dir.exists() and any(run_dir.iterdir()):
        if not overwrite:
            raise UserError(
                f"run directory {run_dir} already exists; pass --resume to continue it, "
                "--overwrite to replace it, or choose another --out"
            )
        if not (run_dir / "config.json").exists():
            raise UserError(
                f"--overwrite refused: {run_dir} is not a ganforge run directory (no config.json); choose another --out"
            )
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)


def resume_config(run_dir: Path, overrides: dict | None = None) -> Config:
    """The config a run was started with, from its newest checkpoint, with `overrides` applied
    (e.g. a larger train.steps to continue training)."""
    saved = from_saved(load_latest(run_dir, with_optim=False).config).to_dict()
    for section, values in (overrides or {}).items():
        saved.setdefault(section, {}).update(values)
    return build(saved)


class Trainer:
    """Holds one run's state; `fit()` runs the loop. Built for the CLI, the API and tests alike."""

    def __init__(
        self,
        cfg: Config,
        run_dir: str | Path,
        *,
        resume: bool = False,
        overwrite: bool = False,
        data: Data | None = None,
    ):
        self.cfg, self.run_dir = cfg, Path(run_dir)
        t = cfg.train
        if t.threads:
            torch.set_num_threads(t.threads)
        self.fabric = make_fabric(t)
        self.is_main = self.fabric.is_global_zero
        if self.is_main:
            prepare_run_dir(self.run_dir, resume, overwrite)
        self.fabric.barrier()
        self.fabric.seed_everything(t.seed + self.fabric.global_rank, verbose=False)

        self.data = data if data is not None else build_dataset(cfg.data, t.seed)
        self.nets = build_networks(cfg, self.data.shape, self.data.num_classes)
        self.objective = build_objective(cfg, self.nets)
        self.ema_name = self.objective.ema_network if t.ema is not None else None
        self.ema = EMA(self.nets[self.ema_name], t.ema, t.ema_rampup) if self.ema_name else None
        # each optimiser steps the networks the objective names, with the settings of the section it names
        specs = self.objective.optimizers()
        self.opt_params = {
            k: [p for n in spec.networks for p in self.nets[n].parameters()] for k, spec in specs.items()
        }
        self.opts = {k: make_optimizer(getattr(cfg, spec.section), self.opt_params[k]) for k, spec in specs.items()}
        self.base_lr = {
            k: [g["lr"] for g in o.param_groups] for k, o in self.opts.items()
        }  # x objective.lr_scale(step)

        if t.channels_last:
            for net in self.nets.values():
                net.to(memory_format=torch.channels_last)
        self.wrapped = {k: self.fabric.setup_module(v) for k, v in self.nets.items()}
        self.opts = {k: self.fabric.setup_optimizers(o) for k, o in self.opts.items()}
        if self.ema is not None:
            self.ema.model.to(self.fabric.device)
        self.objective.networks = self.wrapped  # forward passes go through Fabric (autocast, DDP)

        self.stream = BatchStream(len(self.data), t.batch_size, t.seed, self.fabric.global_rank, self.fabric.world_size)
        self.step = 0
        self.elapsed = 0.0
        if resume:
            self._restore(load_latest(self.run_dir))
        elif self.is_main:
            save_config(cfg, self.run_dir / "config.json")
        self.fixed = self.fabric.to_device(self.objective.fixed_inputs(self.data, t.num_samples, t.seed))

    # --- checkpoints ------------------------------------------------------------------------------
    def network_states(self) -> dict[str, dict[str, torch.Tensor]]:
        states = {k: v.state_dict() for k, v in self.nets.items()}
        if self.ema is not None:
            states[f"{self.ema_name}_ema"] = self.ema.model.state_dict()
        extra = self.objective.state_tensors()  # e.g. CycleGAN's pools of past fakes
        if extra:
            states["objective"] = extra
        return states

    def save(self) -> Path | None:
        """Rank 0 writes the checkpoint; every rank must call this (each hands rank 0 its RNG state)."""
        rng = gather_json(self.fabric, get_rng_state())  # each rank draws its own noise: keep every rank's
        if not self.is_main:
            return None
        state = {
            "config": self.cfg.to_dict(),
            "rng": rng[0],
            "rng_other_ranks": rng[1:],  # ranks 1 .. world_size - 1
            "world_size": self.fabric.world_size,
            "data_position": self.stream.position,  # batches consumed by each of world_size ranks
            "elapsed_s": self.elapsed,
            "ganforge_version": __version__,
            "data_shape": list(self.data.shape),
            "num_classes": self.data.num_classes,
            "classes": list(self.data.classes),
            "data_kind": self.data.kind,
        }
        return save_checkpoint(
            self.run_dir / "checkpoints",
            self.step,
            self.network_states(),
            {k: o.state_dict() for k, o in self.opts.items()},
            state,
            keep=self.cfg.train.keep_ckpts,
        )

    def _restore(self, ckpt) -> None:
        for name, net in self.nets.items():
            net.load_state_dict(ckpt.weights[name])
        if self.ema is not None:
            self.ema.model.load_state_dict(ckpt.weights[f"{self.ema_name}_ema"])
        for name, opt in self.opts.items():
            opt.load_state_dict(ckpt.optimizers[name])
        self.objective.load_state_tensors(ckpt.weights.get("objective", {}))
        st, rank, world = ckpt.state, self.fabric.global_rank, self.fabric.world_size
        rngs = [st["rng"], *st.get("rng_other_ranks", [])]
        if rank < len(rngs):
            set_rng_state(rngs[rank])
        else:  # a rank the saved run did not have: noise of its own, not a repeat of its first steps'
            seed = np.random.SeedSequence([self.cfg.train.seed, rank, ckpt.step]).generate_state(1)[0]
            self.fabric.seed_everything(int(seed), verbose=False)
        saved_batch = from_saved(st["config"]).train.batch_size
        # checkpoints written before world_size was recorded resume as they did: position unchanged
        self.stream.resume(int(st["data_position"]), int(st.get("world_size", world)), saved_batch)
        self.step = ckpt.step
        self.elapsed = float(ckpt.state.get("elapsed_s", 0.0))

    # --- one step -------------------------------------------------------------------------------
    def next_batch(self) -> dict[str, torch.Tensor]:
        idx = self.stream.next()
        batch = {"x": self.data.x[idx]}
        if self.data.y is not None:
            batch["y"] = self.data.y[idx]
        for key, value in self.data.extra.items():
            batch[key] = value[idx]
        batch = self.fabric.to_device(batch)
        if self.cfg.train.channels_last and batch["x"].ndim == 4:
            batch["x"] = batch["x"].contiguous(memory_format=torch.channels_last)
        return batch

    def _trainable(self, opt_name: str) -> None:
        """Only the stepping network's parameters need gradients (saves D's weight grads in G's phase)."""
        for name, params in self.opt_params.items():
            for p in params:
                p.requires_grad_(name == opt_name)

    def train_step(self) -> dict[str, float]:
        logs: dict[str, float] = {}
        scale = self.objective.lr_scale(self.step)  # 1.0 unless a schedule asks (e.g. CycleGAN's linear decay)
        for name, opt in self.opts.items():
            for group, lr in zip(opt.param_groups, self.base_lr[name]):
                group["lr"] = lr * scale
        state = StepState(self.step)  # what this step's phases pass on to later ones
        for phase in self.objective.phases():
            if self.step % phase.interval:
                continue
            self._trainable(phase.optimizer)
            opt = self.opts[phase.optimizer]
            for _ in range(phase.repeats):
                batch = self.next_batch() if phase.needs_data else {}
                loss, phase_logs = phase.loss(batch, state)
                opt.zero_grad(set_to_none=True)
                self.fabric.backward(loss)
                opt.step()
                if phase.after is not None:
                    phase.after()
                logs.update(phase_logs)
        if self.ema is not None:
            self.ema.update(self.nets[self.ema_name], self.step)
        self.step += 1
        return logs

    # --- outputs --------------------------------------------------------------------------------
    @torch.no_grad()
    def sample_grid(self) -> Path | None:
        if not self.is_main:
            return None
        nets = dict(self.nets)
        if self.ema is not None:
            nets[self.ema_name] = self.ema.model
        for net in nets.values():
            net.eval()
        samples = self.objective.preview(nets, self.fixed)
        for net in self.nets.values():
            net.train()
        return save_samples(samples, self.run_dir / "samples" / f"step_{self.step:08d}.png")

    def fit(self) -> dict:
        t = self.cfg.train
        logger = RunLogger(self.run_dir, t.tensorboard, enabled=self.is_main)
        bar = None
        if t.progress and self.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=t.steps, initial=self.step, desc="train", unit="step", dynamic_ncols=True)
        window: dict[str, list[float]] = {}
        last_t, last_step = time.perf_counter(), self.step
        last_grid = None
        for net in self.nets.values():
            net.train()
        try:
            while self.step < t.steps:
                for k, v in self.train_step().items():
                    window.setdefault(k, []).append(v)
                if bar is not None:
                    bar.update(1)
                due = lambda every: every > 0 and self.step % every == 0  # noqa: E731
                if due(t.log_every) or self.step == t.steps:
                    now = time.perf_counter()
                    self.elapsed += now - last_t
                    rate = (self.step - last_step) * t.batch_size * self.fabric.world_size / max(now - last_t, 1e-9)
                    record = {
                        "kind": "train",
                        "step": self.step,
                        **{k: float(np.mean(v)) for k, v in window.items()},
                        "img_per_s": rate,
                        "elapsed_s": self.elapsed,
                    }
                    logger.log(record)
                    if bar is not None:
                        bar.set_postfix(
                            {k: f"{v:.3f}" for k, v in record.items() if k.startswith("loss")}
                            | {"img/s": f"{rate:.0f}"}
                        )
                    window, last_t, last_step = {}, now, self.step
                if due(t.sample_every) or self.step == t.steps:
                    last_grid = self.sample_grid()
                if due(t.ckpt_every) or self.step == t.steps:
                    self.save()
        finally:
            if bar is not None:
                bar.close()
            logger.close()
        return {
            "step": self.step,
            "run_dir": str(self.run_dir),
            "grid": str(last_grid) if last_grid else None,
            "elapsed_s": self.elapsed,
            "is_main": self.is_main,
        }


def train(cfg: Config, run_dir: str | Path, *, resume: bool = False, overwrite: bool = False) -> dict:
    """Train `cfg` into `run_dir` (see the module docstring); returns a summary dict."""
    return Trainer(cfg, run_dir, resume=resume, overwrite=overwrite).fit()
