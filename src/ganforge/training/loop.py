"""The one training loop, read top to bottom.

for step in range(start, steps):
    state = StepState(step)                 # what this step's phases pass on (state.carry)
    for phase in objective.phases():        # the schedule is data: D x d_steps, G, regularisers ...
        if step % phase.interval == 0:
            for _ in range(phase.repeats):  loss = phase.loss(batch, state); backward; step; phase.after()
    weights finite?                         # else train.nan_policy: rollback | skip | stop (fit() handles it)
    EMA; log; sample grid; checkpoint       # SIGTERM / SIGINT: checkpoint at the step boundary, return
"""

from __future__ import annotations

import base64
import dataclasses
import json
import random
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganforge.config import Config, build, from_saved, save_config
from ganforge.data import BatchStream, Data, build_dataset
from ganforge.errors import TrainingStopped, UserError, storage_error
from ganforge.models import MODELS
from ganforge.models.registry import build_networks
from ganforge.objectives import Objective, StepState
from ganforge.optim import make_optimizer
from ganforge.training.checkpoint import Checkpoint, clean_leftovers, load_latest, save_checkpoint
from ganforge.training.ema import EMA
from ganforge.training.engine import make_fabric
from ganforge.training.hardware import resolve_precision, resolve_threads
from ganforge.training.lock import LOCK_NAME, RunLock, in_use, lock_holder
from ganforge.training.logging import RunLogger, save_samples
from ganforge.training.signals import StopSignals
from ganforge.version import __version__


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
def prepare_run_dir(run_dir: Path, resume: bool, overwrite: bool) -> RunLock:
    """Never overwrite what the user has unless asked; refuse to delete what is not a run, or a run
    another `ganforge train` is writing. Returns the run's lock, held: release it when done."""
    if run_dir.is_dir() and (owner := lock_holder(run_dir)) is not None:
        raise in_use(run_dir, owner)
    if resume:
        if not (run_dir / "checkpoints").is_dir():
            raise UserError(f"cannot resume: {run_dir} has no checkpoints/; drop --resume to start a new run")
        return RunLock(run_dir).acquire()
    if run_dir.exists() and any(p.name != LOCK_NAME for p in run_dir.iterdir()):
        if not overwrite:
            raise UserError(
                f"run directory {run_dir} already exists; pass --resume to continue it, "
                "--overwrite to replace it, or choose another --out"
            )
        if not (run_dir / "config.json").exists():
            raise UserError(
                f"--overwrite refused: {run_dir} is not a ganforge run directory (no config.json); choose another --out"
            )
        lock = RunLock(run_dir).acquire()
        for p in run_dir.iterdir():
            if p.name != LOCK_NAME:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        return lock
    run_dir.mkdir(parents=True, exist_ok=True)
    return RunLock(run_dir).acquire()


def resume_config(run_dir: Path, overrides: dict | None = None) -> Config:
    """The config a run was started with, from its newest checkpoint, with `overrides` applied
    (e.g. a larger train.steps to continue training)."""
    saved = from_saved(load_latest(run_dir, with_optim=False).config).to_dict()
    for section, values in (overrides or {}).items():
        saved.setdefault(section, {}).update(values)
    return build(saved)


def _cpu_copy(obj):
    """A copy of nested dicts / lists of tensors and plain values, tensors cloned onto the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu_copy(v) for v in obj)
    return obj


class NonFinite(Exception):
    """A loss or the weights stopped being finite in train_step; fit() applies train.nan_policy."""

    def __init__(self, what: str, phase: str | None, step: int):
        super().__init__(f"non-finite {what}" + (f" in phase {phase}" if phase else "") + f" at step {step}")
        self.what, self.phase, self.step = what, phase, step


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
        # auto precision and threads are resolved once, here, and recorded in the config the run saves,
        # so a resumed run continues with the values it started with
        precision, why_precision = resolve_precision(t.precision, t.accelerator)
        threads, why_threads = resolve_threads(t.threads)
        channels_last = precision == "bf16" if t.channels_last == "auto" else t.channels_last
        train_cfg = dataclasses.replace(t, precision=precision, threads=threads, channels_last=channels_last)
        self.cfg = cfg = dataclasses.replace(cfg, train=train_cfg)
        self.setup = {
            "precision": precision,
            "precision_reason": why_precision,
            "threads": threads,
            "threads_reason": why_threads,
            "channels_last": channels_last,
        }
        t = cfg.train
        if t.threads:
            torch.set_num_threads(t.threads)
        self.fabric = make_fabric(t)
        self.is_main = self.fabric.is_global_zero
        self.fabric.seed_everything(t.seed + self.fabric.global_rank, verbose=False)
        self.data = data if data is not None else build_dataset(cfg.data, t.seed)
        self.nets = build_networks(cfg, self.data.shape, self.data.num_classes, self.data.meta)
        self.objective = build_objective(cfg, self.nets)
        self.objective.bind_data(self.data)  # objectives that sample rows themselves (CTGAN) keep it
        # the run directory is locked and made (or emptied, with --overwrite) only once the data, the
        # networks and the objective were built: a bad input then leaves nothing behind and deletes nothing
        lock = prepare_run_dir(self.run_dir, resume, overwrite) if self.is_main else None
        try:  # held while the run directory is set up, and again while fit() trains
            self._setup(resume)
        finally:
            if lock is not None:
                lock.release()

    def _setup(self, resume: bool) -> None:
        cfg, t = self.cfg, self.cfg.train
        self.fabric.barrier()
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
        if t.compile:  # around Fabric's wrapper, so autocast is traced too; `unwrap` still finds the module
            self.wrapped = {k: torch.compile(v) for k, v in self.wrapped.items()}
        self.opts = {k: self.fabric.setup_optimizers(o) for k, o in self.opts.items()}
        if self.ema is not None:
            self.ema.model.to(self.fabric.device)
        self.objective.networks = self.wrapped  # forward passes go through Fabric (autocast, DDP)

        self.stream = BatchStream(len(self.data), t.batch_size, t.seed, self.fabric.global_rank, self.fabric.world_size)
        self.step = 0
        self.elapsed = 0.0
        self.lr_scale = 1.0  # the product of train.nan_lr_factor over the rollbacks so far, on every lr
        self.nan_events = 0  # non-finite events so far (skips, rollbacks); not kept on resume
        self.skipped: list[str] = []  # phases whose update train_step dropped (nan_policy=skip), this step
        self.has_checkpoint = resume  # a checkpoint on disk to roll back to
        self._start: Checkpoint | None = None  # else a copy of the state fit() started from, in memory
        if resume:
            ckpt = load_latest(self.run_dir)
            self._restore(ckpt)
            self.lr_scale = float(ckpt.state.get("nan_lr_scale", 1.0))
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

    def save(self, final: bool = False) -> Path | None:
        """Rank 0 writes the checkpoint; every rank must call this (each hands rank 0 its RNG state).
        `final`: the run ends here (its last step, a signal, a stop), so the objective's `data_state`
        (a pass over the training data) is recorded too; checkpoints along the way skip it."""
        rng = gather_json(self.fabric, get_rng_state())  # each rank draws its own noise: keep every rank's
        self.has_checkpoint, self._start = True, None  # on every rank: rollbacks now read the disk
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
            "data_meta": self.data.meta,  # tables: the column transforms inference maps back through
            "nan_lr_scale": self.lr_scale,
        }
        if final and (facts := self.objective.data_state(self.data)):  # e.g. GANomaly's training-set score range
            state["objective_state"] = facts
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
        if st.get("rng_local"):  # an in-memory snapshot of this very rank
            set_rng_state(st["rng"])
        elif rank < len(rngs):
            set_rng_state(rngs[rank])
        else:  # a rank the saved run did not have: noise of its own, not a repeat of its first steps'
            seed = np.random.SeedSequence([self.cfg.train.seed, rank, ckpt.step]).generate_state(1)[0]
            self.fabric.seed_everything(int(seed), verbose=False)
        saved_batch = from_saved(st["config"]).train.batch_size
        # checkpoints written before world_size was recorded resume as they did: position unchanged
        self.stream.resume(int(st["data_position"]), int(st.get("world_size", world)), saved_batch)
        self.step = ckpt.step
        self.elapsed = float(ckpt.state.get("elapsed_s", 0.0))

    def snapshot(self) -> Checkpoint:
        """The training state as a checkpoint in memory (tensors copied to the CPU)."""
        state = {
            "step": self.step,
            "config": self.cfg.to_dict(),
            "rng": get_rng_state(),
            "rng_local": True,  # this rank's own state, whatever the rank
            "data_position": self.stream.position,
            "world_size": self.fabric.world_size,
            "elapsed_s": self.elapsed,
        }
        optimizers = {k: _cpu_copy(o.state_dict()) for k, o in self.opts.items()}
        return Checkpoint(None, _cpu_copy(self.network_states()), optimizers, state)

    # --- non-finite values ------------------------------------------------------------------------
    def _agree(self, ok: bool) -> bool:
        """`ok` on every rank (one all-reduce in a distributed run, so all ranks take the same branch)."""
        if self.fabric.world_size == 1:
            return ok
        return bool(
            self.fabric.all_reduce(torch.tensor(float(not ok), device=self.fabric.device), reduce_op="sum").item() == 0
        )

    def _weights_due(self, step: int) -> bool:
        t = self.cfg.train
        return any(every > 0 and step % every == 0 for every in (t.log_every, t.ckpt_every)) or step >= t.steps

    @torch.no_grad()
    def weights_finite(self) -> bool:
        """Whether every parameter and floating buffer of every network is finite: one fused max |x|
        per tensor (torch._foreach_norm with ord=inf cannot overflow, and NaN propagates through it)
        and one host sync."""
        tensors = [
            x for net in self.nets.values() for x in (*net.parameters(), *net.buffers()) if x.is_floating_point()
        ]
        if not tensors:
            return True
        norms = torch._foreach_norm(tensors, float("inf"))
        return bool(torch.isfinite(torch.stack([n.float() for n in norms])).all())

    def on_nonfinite(self, what: str, phase: str | None, step: int, logger: RunLogger) -> None:
        """Apply train.nan_policy to a non-finite `what` ("loss" of `phase`, or "weights") met at
        `step`, and log it in metrics.jsonl ({"kind": "nonfinite", ...}).

        skip      the phase's update was dropped already (train_step); weights cannot be skipped,
                  so a non-finite weight rolls back as under rollback
        rollback  restore the last good checkpoint -- the newest on disk, or, before the run has saved
                  one, the in-memory copy of the state fit() started from -- multiply every learning
                  rate by train.nan_lr_factor and go on
        stop      restore the last good state, save it (when it is not on disk already) and raise
                  TrainingStopped naming it; so does any policy after train.nan_max_events events
        """
        t = self.cfg.train
        self.nan_events += 1
        action = "rollback" if (what == "weights" and t.nan_policy == "skip") else t.nan_policy
        if self.nan_events > t.nan_max_events:
            action = "stop"
        record = {"kind": "nonfinite", "step": step, "what": what, "phase": phase, "action": action}
        where = f"non-finite {what}" + (f" in phase {phase}" if phase else "") + f" at step {step}"
        if action == "skip":
            logger.log(record)
            warnings.warn(f"{where}: skipped that update (train.nan_policy=skip)", stacklevel=2)
            return
        elapsed = self.elapsed
        if self._start is not None:  # a copy: restoring hands some tensors over rather than copying them
            good = Checkpoint(
                None, _cpu_copy(self._start.weights), _cpu_copy(self._start.optimizers), self._start.state
            )
        else:
            self.fabric.barrier()  # rank 0 has finished writing the checkpoint the others read
            good = load_latest(self.run_dir)  # saved after a finite step, as every checkpoint is
        self._restore(good)
        self.elapsed = elapsed
        if action == "rollback":
            self.lr_scale *= t.nan_lr_factor
            logger.log(record | {"restored_step": self.step, "lr_scale": self.lr_scale})
            warnings.warn(
                f"{where}: rolled back to step {self.step}, learning rates x{self.lr_scale:g} (train.nan_policy=rollback)",
                stacklevel=2,
            )
            return
        path = good.path if good.path is not None else self.save(final=True)
        logger.log(record | {"restored_step": self.step, "checkpoint": str(path)})
        why = (
            "train.nan_policy=stop" if t.nan_policy == "stop" else f"more than train.nan_max_events={t.nan_max_events}"
        )
        g, d = (f"{o.lr * t.nan_lr_factor:.3g}" for o in (self.cfg.g_optim, self.cfg.d_optim))
        raise TrainingStopped(
            f"{where}: training stopped ({why}); the last good state, step {self.step}, is saved in {path}: "
            f"lower the learning rates and resume, e.g. 'ganforge train --resume --out {self.run_dir} "
            f"g_optim.lr={g} d_optim.lr={d}'"
        )

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

    def _trainable(self, opt_name: str, also: str | None = None) -> None:
        """Only the stepping network's parameters need gradients (saves D's weight grads in G's phase),
        and those of `also` (Phase.graph_for) when a later phase backpropagates through this one."""
        for name, params in self.opt_params.items():
            for p in params:
                p.requires_grad_(name in (opt_name, also))

    def train_step(self) -> dict[str, float]:
        """One step. A non-finite loss (one check per phase) or weight (one check per step) raises
        NonFinite, except that under train.nan_policy=skip a phase with a non-finite loss takes no
        update and is listed in `self.skipped`; fit() applies the policy."""
        logs: dict[str, float] = {}
        self.skipped = []
        # 1.0 unless a schedule asks (e.g. CycleGAN's linear decay), times the rollbacks' factor
        scale = self.objective.lr_scale(self.step) * self.lr_scale
        for name, opt in self.opts.items():
            for group, lr in zip(opt.param_groups, self.base_lr[name]):
                group["lr"] = lr * scale
        state = StepState(self.step)  # what this step's phases pass on to later ones
        for phase in self.objective.phases():
            if self.step % phase.interval:
                continue
            self._trainable(phase.optimizer, phase.graph_for)
            opt = self.opts[phase.optimizer]
            state.repeats = phase.repeats
            for state.repeat in range(phase.repeats):
                batch = self.next_batch() if phase.needs_data else {}
                loss, phase_logs = phase.loss(batch, state)
                if not self._agree(bool(torch.isfinite(loss))):  # phase.loss synced already (its logs)
                    if self.cfg.train.nan_policy != "skip":
                        raise NonFinite("loss", phase.name, self.step)
                    self.skipped.append(phase.name)
                    continue
                opt.zero_grad(set_to_none=True)
                self.fabric.backward(loss)
                opt.step()
                if phase.after is not None:
                    phase.after()
                logs.update(phase_logs)
        # the weights are checked at the steps that log or save (a non-finite weight between them shows
        # up as a non-finite loss at the next step): every checkpoint holds finite weights, and the
        # check (one pass over every tensor) stays off the other steps
        if self._weights_due(self.step + 1) and not self._agree(self.weights_finite()):
            raise NonFinite("weights", None, self.step)
        if self.ema is not None:
            self.ema.update(self.nets[self.ema_name], self.step)
        self.step += 1
        return logs

    # --- outputs --------------------------------------------------------------------------------
    @torch.no_grad()
    def sample_grid(self) -> Path | None:
        if not self.is_main or not self.objective.draws_samples:
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

    def _storage_fault(self, e: OSError) -> Exception:
        """A write to the run directory failed (disk full, read-only, ...): a one-line TrainingStopped
        naming the checkpoint that survives it, or `e` itself when the machine is not behind it."""
        latest = self.run_dir / "checkpoints" / "latest"
        then = (
            f"; the last checkpoint, {latest.read_text().strip()}, is intact: once fixed, resume with "
            f"'ganforge train --resume --out {self.run_dir}'"
            if latest.is_file()
            else "; no checkpoint was saved"
        )
        return storage_error(e, f"write to {self.run_dir}", then, TrainingStopped) or e

    def fit(self) -> dict:
        """Train to train.steps; returns a summary. A SIGTERM or SIGINT ends it at the next step
        boundary with a checkpoint there; the summary's "interrupted" then names the signal."""
        t = self.cfg.train
        lock = RunLock(self.run_dir).acquire() if self.is_main else None  # one ganforge train per run dir
        if self.is_main:
            clean_leftovers(self.run_dir / "checkpoints")  # of a save a killed run left half done
        stop = StopSignals().__enter__()
        logger, bar, last_grid, interrupted = None, None, None, None
        window: dict[str, list[float]] = {}
        last_t, last_step = time.perf_counter(), self.step
        for net in self.nets.values():
            net.train()
        try:
            logger = RunLogger(self.run_dir, t.tensorboard, enabled=self.is_main)
            logger.log({"kind": "setup", "step": self.step, **self.setup})  # what auto chose, and why
            if t.progress and self.is_main:
                from tqdm.auto import tqdm

                bar = tqdm(total=t.steps, initial=self.step, desc="train", unit="step", dynamic_ncols=True)
            if not self.has_checkpoint:  # what a rollback returns to until the first save
                self._start = self.snapshot()
            while self.step < t.steps:
                try:
                    logs = self.train_step()
                except NonFinite as e:
                    self.on_nonfinite(e.what, e.phase, e.step, logger)  # rolled back (or raised)
                    window, last_t, last_step = {}, time.perf_counter(), self.step
                    if bar is not None:
                        bar.n = self.step
                        bar.refresh()
                    continue
                for name in self.skipped:
                    self.on_nonfinite("loss", name, self.step - 1, logger)
                for k, v in logs.items():
                    window.setdefault(k, []).append(v)
                if bar is not None:
                    bar.update(1)
                stopping = not self._agree(stop.received is None)  # a signal: every rank stops here
                last = self.step == t.steps or stopping
                due = lambda every: every > 0 and self.step % every == 0  # noqa: E731
                try:  # a write the machine refuses (disk full, read-only) stops the run in one line
                    if due(t.log_every) or last:
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
                    if due(t.ckpt_every) or last:
                        self.save(final=last)
                    if stopping and self.step < t.steps:
                        interrupted = stop.received or "a signal on another rank"
                        logger.log({"kind": "interrupted", "step": self.step, "signal": interrupted})
                        break
                except OSError as e:
                    raise self._storage_fault(e) from e
        finally:
            stop.__exit__()
            if bar is not None:
                bar.close()
            if logger is not None:
                logger.close()
            if lock is not None:
                lock.release()
        return {
            "step": self.step,
            "steps": t.steps,
            "run_dir": str(self.run_dir),
            "grid": str(last_grid) if last_grid else None,
            "elapsed_s": self.elapsed,
            "is_main": self.is_main,
            "interrupted": interrupted,
        }


def train(cfg: Config, run_dir: str | Path, *, resume: bool = False, overwrite: bool = False) -> dict:
    """Train `cfg` into `run_dir` (see the module docstring); returns a summary dict."""
    return Trainer(cfg, run_dir, resume=resume, overwrite=overwrite).fit()
