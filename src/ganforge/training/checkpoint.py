"""Checkpoints: a directory per save, never a pickle.

    RUN/checkpoints/step_00001200/model.safetensors   every network by name ("G.net.0.weight", "G_ema...", "D...")
                                 /optim.safetensors   optimiser tensors by name; the rest of their state in state.json
                                 /state.json          format, version, step, config, RNG states, data position
    RUN/checkpoints/latest                            the newest complete checkpoint's name, written last

A save goes to a hidden temporary directory in the same folder; every file is fsynced; then the
directory is renamed into place and `latest` is replaced atomically. A process killed at any
moment, or a save that fails (disk full, read-only folder: an OSError, raised with its errno),
leaves the previous checkpoint and `latest` intact and no temporary files. Loading never
unpickles, and falls back to an older checkpoint when the newest is damaged.

What a killed save leaves behind is hidden and removed by the next save: temporary names carry
their writer (`.tmp-step_X-pid123@host-...`, `.latest-pid123@host`) and are removed once that
process is gone; old checkpoints are renamed to `.del-step_X` before they are deleted, so a kill
part way through a deletion never leaves a half-deleted `step_X` that looks like a checkpoint; a
checkpoint moved aside to be re-saved (`.old-step_X-...`) goes back at the next training of the run.
tests/reliability/test_kill.py kills saves at random moments.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import warnings
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from ganforge.errors import UserError

FORMAT = "ganforge-checkpoint"
VERSION = 1


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w") as f:
        json.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())


def _save_tensors(tensors: dict[str, Tensor], path: Path) -> None:
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(path))
    except SafetensorError as e:  # an I/O failure comes wrapped as "... (os error 28)": give it back its errno
        code = re.search(r"os error (\d+)", str(e))
        if code is None:
            raise
        raise OSError(int(code[1]), os.strerror(int(code[1])), str(path)) from e
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def flatten_optimizer(name: str, state: dict) -> tuple[dict[str, Tensor], dict]:
    """Split an optimiser state_dict into tensors (for safetensors) and a JSON-able rest."""
    tensors, rest = {}, {"param_groups": state["param_groups"], "state": {}}
    for pid, pstate in state["state"].items():
        rest["state"][str(pid)] = {}
        for key, value in pstate.items():
            if isinstance(value, Tensor):
                tensors[f"{name}/{pid}/{key}"] = value
                rest["state"][str(pid)][key] = {"tensor": f"{name}/{pid}/{key}"}
            else:
                rest["state"][str(pid)][key] = {"value": value}
    return tensors, rest


def unflatten_optimizer(rest: dict, tensors: dict[str, Tensor]) -> dict:
    state = {}
    for pid, pstate in rest["state"].items():
        state[int(pid)] = {k: tensors[v["tensor"]] if "tensor" in v else v["value"] for k, v in pstate.items()}
    return {"state": state, "param_groups": rest["param_groups"]}


def _owner() -> str:
    """This process, as temporary names record it: pid and host ('-' is the names' separator)."""
    return f"pid{os.getpid()}@{socket.gethostname().replace('-', '_')}"


_TEMP = re.compile(r"^\.(?:tmp-(step_\d+)-|latest-|old-(step_\d+)-)pid(\d+)@([^-]+)(?:-.*)?$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_leftovers(folder: Path, every_writer: bool = False) -> list[str]:
    """Remove what killed saves left in `folder`: temporary checkpoints and `latest` files whose writer
    (a process on this host) has exited, or of every writer with `every_writer` (the caller holds the
    run's lock), and `.del-*` checkpoints a deletion did not finish. A checkpoint moved aside to be
    re-saved (`.old-step_X-...`) goes back to `step_X` when its new copy never arrived. A writer still
    running, or on another host, is left alone. Returns the names removed or restored."""
    removed = []
    host = socket.gethostname().replace("-", "_")
    for entry in folder.iterdir() if folder.is_dir() else []:
        m = _TEMP.match(entry.name)
        gone = m is not None and (every_writer or (m[4] == host and not _alive(int(m[3]))))
        if not (entry.name.startswith(".del-") or gone):
            continue
        if m is not None and m[2] and not (folder / m[2]).exists():
            os.rename(entry, folder / m[2])
        elif entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry.name)
    return removed


def _delete(path: Path) -> None:
    """Delete a checkpoint directory: hidden first (one atomic rename), then removed."""
    hidden = path.with_name(f".del-{path.name}-{_owner()}")
    try:
        os.rename(path, hidden)
    except OSError:
        return
    shutil.rmtree(hidden, ignore_errors=True)


def save_checkpoint(
    folder: Path,
    step: int,
    networks: dict[str, dict[str, Tensor]],
    optimizers: dict[str, dict],
    state: dict,
    keep: int = 3,
) -> Path:
    """Write checkpoint `step` under `folder` atomically, update `latest`, keep the newest `keep`."""
    folder.mkdir(parents=True, exist_ok=True)
    remove_leftovers(folder)
    name = f"step_{step:08d}"
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".tmp-{name}-{_owner()}-"))
    final, old = folder / name, folder / f".old-{name}-{_owner()}"
    try:
        weights = {f"{net}.{k}": v for net, sd in networks.items() for k, v in sd.items()}
        _save_tensors(weights, tmp / "model.safetensors")
        opt_tensors, opt_rest = {}, {}
        for opt_name, sd in optimizers.items():
            t, r = flatten_optimizer(opt_name, sd)
            opt_tensors.update(t)
            opt_rest[opt_name] = r
        _save_tensors(opt_tensors, tmp / "optim.safetensors")
        _write_json(
            tmp / "state.json",
            {
                "format": FORMAT,
                "version": VERSION,
                "step": step,
                "networks": sorted(networks),
                "optimizers": opt_rest,
                **state,
            },
        )
        _fsync_dir(tmp)
        if final.exists():  # re-saving the same step (e.g. the end of a resumed run): the old one goes last
            os.rename(final, old)
        os.rename(tmp, final)
        _fsync_dir(folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not final.exists():
            os.rename(old, final)
        raise
    latest_tmp = folder / f".latest-{_owner()}"
    try:
        with open(latest_tmp, "w") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(latest_tmp, folder / "latest")
    finally:
        latest_tmp.unlink(missing_ok=True)
    _fsync_dir(folder)
    for stale in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        _delete(stale)
    return folder / name


def clean_leftovers(folder: Path) -> None:
    """Everything a killed save left in `folder`, whoever wrote it: call it only while no other process
    saves there (training holds the run's lock)."""
    remove_leftovers(folder, every_writer=True)


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoint directories, oldest first (temporary ones are ignored)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith("step_"))


class Checkpoint:
    """A loaded checkpoint: `weights[net]` state dicts, `optimizers[name]` state dicts, `state`."""

    def __init__(self, path: Path, weights: dict[str, dict[str, Tensor]], optimizers: dict[str, dict], state: dict):
        self.path, self.weights, self.optimizers, self.state = path, weights, optimizers, state

    @property
    def step(self) -> int:
        return int(self.state["step"])

    @property
    def config(self) -> dict:
        return self.state["config"]


def read_checkpoint(path: Path, with_optim: bool = True) -> Checkpoint:
    """Load one checkpoint directory, validating it is ours and whole; else UserError."""
    path = Path(path)
    state_file = path / "state.json"
    if not state_file.is_file():
        raise UserError(
            f"{path} is not a ganforge checkpoint (no state.json); give a run directory "
            "or one of its checkpoints/step_* folders"
        )
    try:
        state = json.loads(state_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise UserError(f"{state_file}: damaged ({e}); use an older checkpoint") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"{path} is not a ganforge checkpoint (state.json has no '{FORMAT}' marker)")
    if state.get("version", 0) > VERSION:
        raise UserError(f"{path} was written by a newer ganforge (format {state.get('version')}); upgrade ganforge")
    for key in ("step", "config", "networks"):
        if key not in state:
            raise UserError(f"{state_file}: missing '{key}'; the checkpoint is damaged")
    try:
        flat = load_file(str(path / "model.safetensors"))
        opt_flat = load_file(str(path / "optim.safetensors")) if with_optim else {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise UserError(
            f"{path}: weights are damaged or truncated ({str(e).splitlines()[0]}); use an older checkpoint"
        ) from None
    weights: dict[str, dict[str, Tensor]] = {n: {} for n in state["networks"]}
    for key, value in flat.items():
        net, _, rest = key.partition(".")
        if net not in weights:
            raise UserError(f"{path}: weight '{key}' names no known network; the checkpoint is damaged")
        weights[net][rest] = value
    optimizers = {}
    if with_optim:
        try:
            optimizers = {n: unflatten_optimizer(r, opt_flat) for n, r in state.get("optimizers", {}).items()}
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            raise UserError(f"{path}: optimiser state is damaged ({e})") from None
    return Checkpoint(path, weights, optimizers, state)


def resolve(path: Path) -> list[Path]:
    """Checkpoint directories to try for `path` (a run dir, its checkpoints/ or one checkpoint),
    newest first, the one `latest` names at the front."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} does not exist; give a run directory or a checkpoint folder")
    if (path / "state.json").exists() or not path.is_dir():
        return [path]
    folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    found = list_checkpoints(folder)[::-1]
    latest = folder / "latest"
    if latest.is_file():
        named = folder / latest.read_text().strip()
        if named in found:
            found.remove(named)
            found.insert(0, named)
    if not found:
        raise UserError(f"{path} holds no checkpoints (looked in {folder}); train first or check the path")
    return found


def load_latest(path: Path, with_optim: bool = True) -> Checkpoint:
    """The newest loadable checkpoint under `path`. Skipping damaged ones warns once, naming them;
    when none loads, one UserError says so, with each checkpoint's fault in its `detail`."""
    candidates = resolve(path)
    errors = []
    for candidate in candidates:
        try:
            ckpt = read_checkpoint(candidate, with_optim)
        except UserError as e:
            errors.append(str(e))
            continue
        if errors:
            skipped = ", ".join(c.name for c in candidates[: len(errors)])
            warnings.warn(
                f"skipping damaged checkpoint(s) {skipped}; loaded {candidate.name} instead ({errors[0]})",
                stacklevel=2,
            )
        return ckpt
    if len(candidates) == 1:
        raise UserError(errors[0])
    raise UserError(
        f"no loadable checkpoint under {path}: all {len(candidates)} checkpoints in {candidates[0].parent} "
        "are damaged or incomplete; restore them from a backup, or train the run again",
        detail="\n".join(errors),
    )
