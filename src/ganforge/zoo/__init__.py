"""The model zoo: the best trained generator of each family, shipped inside the package and loaded
offline as `ganforge.load("zoo:NAME")` (or any CLI command that takes a run: `ganforge sample
zoo:dcgan-mnist --out g.png`).

    zoo/manifest.json                  one entry per model: its config, data shape and classes, the
                                       figure it reached, the commands that trained and evaluated it,
                                       the machine and commit, and its weight file's sha256
    zoo/weights/NAME.safetensors       the generator(s) only, EMA weights where the run kept them,
                                       stored as "G.<key>" (translation: "G.", "F."); float parameters
                                       in fp16 where the family tolerates it, buffers (BatchNorm
                                       statistics) in fp32

A weight file is read as bytes, hashed and checked against the manifest before safetensors parses
it; a mismatch is refused. Nothing is unpickled. This module knows files and hashes only; the
networks are built by `ganforge.inference.model.LoadedModel.from_zoo`. `tools/build_zoo.py` trains,
evaluates and writes the entries (`write_entry`), so the zoo is rebuilt by rerunning it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ganforge.errors import UserError
from ganforge.io import atomic_write
from ganforge.registry import closest

if TYPE_CHECKING:  # torch and safetensors are imported where tensors are read or written: `ganforge zoo` starts fast
    import torch
    from torch import Tensor, nn

FORMAT = "ganforge-zoo"
VERSION = 1
PREFIX = "zoo:"
ROOT = Path(__file__).resolve().parent  # the package's own zoo; tests pass another root
# fp16 storage is accepted when samples from the upcast weights differ from the fp32 weights' by at
# most this much (max |difference| over 64 seeded samples, pixels in [-1, 1]); else fp32 is shipped
FP16_TOLERANCE = 0.02


@dataclass(frozen=True)
class Entry:
    """One manifest entry (`info`: the entry's JSON as written) and the zoo folder it lives in."""

    info: dict
    root: Path

    @property
    def name(self) -> str:
        return self.info["name"]

    @property
    def weights_path(self) -> Path:
        return self.root / self.info["weights"]["file"]

    @property
    def figure(self) -> str:
        """'FID 123.4 (lenet-mnist, n=2000 vs mnist:test)' or 'not evaluated'."""
        f = self.info.get("figure")
        if not f:
            return "not evaluated"
        where = ", ".join(str(x) for x in (f.get("extractor"), f"n={f.get('n')}") if x)
        return f"{f['metric'].upper()} {f['value']:.4g} ({where} vs {f.get('reference')})"


def is_zoo(spec) -> bool:
    """Whether a RUN argument names a zoo entry ("zoo:NAME") rather than a path."""
    return str(spec).startswith(PREFIX)


def manifest(root: Path | None = None) -> dict:
    """The manifest of the zoo at `root` (default: the package's)."""
    path = Path(root or ROOT) / "manifest.json"
    if not path.is_file():
        return {"format": FORMAT, "version": VERSION, "entries": []}
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise UserError(f"{path}: the zoo's manifest is damaged ({e}); reinstall ganforge") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("entries"), list):
        raise UserError(f"{path} is not a ganforge zoo manifest (no '{FORMAT}' marker); reinstall ganforge")
    if data.get("version", 0) > VERSION:
        raise UserError(f"{path} was written by a newer ganforge (zoo format {data['version']}); upgrade ganforge")
    return data


def entries(root: Path | None = None) -> list[Entry]:
    """Every zoo entry, in the manifest's order."""
    root = Path(root or ROOT)
    return [Entry(info, root) for info in manifest(root)["entries"]]


def names(root: Path | None = None) -> list[str]:
    return [e.name for e in entries(root)]


def entry(name: str, root: Path | None = None) -> Entry:
    """The entry called `name` ("dcgan-mnist" or "zoo:dcgan-mnist"); an unknown name is a UserError
    listing the zoo, with the nearest name."""
    name = name[len(PREFIX) :] if is_zoo(name) else name
    found = {e.name: e for e in entries(root)}
    if name not in found:
        listed = ", ".join(found) or "none (this installation ships an empty zoo)"
        raise UserError(f"unknown zoo model '{name}'{closest(name, found)}; the zoo has: {listed} (see 'ganforge zoo')")
    return found[name]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_weights(e: Entry) -> dict[str, dict[str, Tensor]]:
    """The entry's networks' state dicts in fp32 (network name -> state dict), after checking the
    file's sha256 and size against the manifest: a file that differs is refused, never loaded."""
    want = e.info["weights"]
    path = e.weights_path
    try:
        data = path.read_bytes()
    except OSError as e2:
        raise UserError(
            f"zoo model '{e.name}': its weight file {path} cannot be read ({e2}); reinstall ganforge"
        ) from None
    if len(data) != want["bytes"] or sha256(data) != want["sha256"]:
        raise UserError(
            f"zoo model '{e.name}': {path} does not match the manifest's sha256 (the file is damaged or was "
            "changed); refusing to load it -- reinstall ganforge"
        )
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    try:
        flat = load_tensors(data)
    except (SafetensorError, ValueError, RuntimeError) as e2:  # hash matched, so the manifest itself is wrong
        raise UserError(f"zoo model '{e.name}': {path} is not a readable safetensors file ({e2})") from None
    nets: dict[str, dict[str, Tensor]] = {n: {} for n in e.info["networks"]}
    for key, value in flat.items():
        net, _, rest = key.partition(".")
        if net not in nets:
            raise UserError(f"zoo model '{e.name}': weight '{key}' names no network of the entry {list(nets)}")
        nets[net][rest] = value.float() if value.is_floating_point() else value
    return nets


# --- writing (tools/build_zoo.py) -----------------------------------------------------------------
def pack(networks: dict[str, nn.Module], dtype: torch.dtype | None = None) -> dict[str, Tensor]:
    """The flat tensors of a weight file: "NET.key" for every entry of each network's state dict; float
    parameters in `dtype`, buffers (BatchNorm running statistics, spectral-norm vectors, counters)
    as they are, so normalisation keeps its fp32 statistics. dtype: default torch.float16."""
    import torch

    dtype = dtype or torch.float16
    out = {}
    for name, net in networks.items():
        params = {k for k, _ in net.named_parameters()}
        for key, value in net.state_dict().items():
            value = value.detach().cpu()
            if key in params and value.is_floating_point():
                value = value.to(dtype)
            out[f"{name}.{key}"] = value.contiguous()
    return out


def unpack(flat: dict[str, Tensor]) -> dict[str, dict[str, Tensor]]:
    """pack's inverse, upcast to fp32: network name -> state dict."""
    nets: dict[str, dict[str, Tensor]] = {}
    for key, value in flat.items():
        net, _, rest = key.partition(".")
        nets.setdefault(net, {})[rest] = value.float() if value.is_floating_point() else value
    return nets


def _write(tmp: Path, data: bytes) -> None:
    Path(tmp).write_bytes(data)
    os.chmod(tmp, 0o644)  # package data: readable by everyone (the temporary file starts as 0600)


def write_entry(info: dict, tensors: dict[str, Tensor], root: Path | None = None) -> Entry:
    """Write NAME's weight file and put `info` (without its "weights" block, which this fills in) into
    the manifest at `root`, replacing an entry of the same name; both files are written atomically,
    the weights first, so a manifest never names a file that is not there."""
    from safetensors.torch import save as save_tensors

    root = Path(root or ROOT)
    data = save_tensors(tensors, metadata={"format": FORMAT, "name": info["name"]})
    rel = f"weights/{info['name']}.safetensors"
    (root / "weights").mkdir(parents=True, exist_ok=True)
    atomic_write(root / rel, lambda tmp: _write(tmp, data))
    dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values() if t.is_floating_point()})
    info = {
        **info,
        "weights": {
            "file": rel,
            "sha256": sha256(data),
            "bytes": len(data),
            "dtype": "+".join(dtypes),
        },
    }
    current = manifest(root)
    kept = [x for x in current["entries"] if x["name"] != info["name"]]
    order = [x["name"] for x in current["entries"]]
    kept.insert(order.index(info["name"]) if info["name"] in order else len(kept), info)
    text = json.dumps({"format": FORMAT, "version": VERSION, "entries": kept}, indent=1) + "\n"
    atomic_write(root / "manifest.json", lambda tmp: _write(tmp, text.encode()))
    return Entry(info, root)


__all__ = [
    "FP16_TOLERANCE",
    "PREFIX",
    "ROOT",
    "Entry",
    "entries",
    "entry",
    "is_zoo",
    "manifest",
    "names",
    "pack",
    "read_weights",
    "sha256",
    "unpack",
    "write_entry",
]
