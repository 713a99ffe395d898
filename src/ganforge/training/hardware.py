"""What this machine can do, found at run time (never assumed): the CPU's native low-precision
arithmetic, its cores and how busy they are. `resolve_precision` and `resolve_threads` turn
train.precision=auto and train.threads=auto into a value, with the reason, which the loop records
in the run's config and metrics.jsonl so that a resumed run continues with the same value."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CpuFeatures:
    bf16: bool  # native bf16 arithmetic: AVX-512 BF16 or AMX-BF16
    amx: bool  # AMX tiles (Intel Sapphire Rapids and later)
    avx512: bool
    avx2: bool
    cores: int  # CPUs this process may run on (affinity), physical cores where known
    name: str

    def describe(self) -> str:
        found = [k for k in ("avx2", "avx512", "bf16", "amx") if getattr(self, k)]
        return f"{self.name}: {self.cores} core(s), {', '.join(found) or 'no SIMD extensions found'}"


@functools.cache
def _cpuinfo() -> str:
    """/proc/cpuinfo, read once per process ('' where the system has none)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _cpuinfo_flags() -> tuple[set[str], str]:
    text = _cpuinfo()
    flags: set[str] = set()
    name = "unknown CPU"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags" and not flags:
            flags = set(value.split())
        elif key.strip() == "model name" and name == "unknown CPU":
            name = value.strip()
    return flags, name


def _physical_cores() -> int:
    """CPUs in this process's affinity mask, divided by the threads per core when /proc says so."""
    try:
        logical = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        logical = os.cpu_count() or 1
    try:
        text = _cpuinfo()
        siblings = {int(line.split(":")[1]) for line in text.splitlines() if line.startswith("siblings")}
        per_core = {int(line.split(":")[1]) for line in text.splitlines() if line.startswith("cpu cores")}
        if siblings and per_core and max(siblings) > max(per_core):
            return max(1, logical // (max(siblings) // max(per_core)))
    except (OSError, ValueError, IndexError):
        pass
    return max(1, logical)


def cpu_features() -> CpuFeatures:
    import torch

    flags, name = _cpuinfo_flags()
    cpu = getattr(torch._C, "_cpu", None)  # torch's own probe (cpuinfo), where this build has it

    def probe(fn: str, flag_names: tuple[str, ...]) -> bool:
        if cpu is not None and hasattr(cpu, fn):
            try:
                return bool(getattr(cpu, fn)())
            except RuntimeError:
                pass
        return any(f in flags for f in flag_names)

    amx = probe("_is_amx_tile_supported", ("amx_bf16",))
    bf16 = amx or probe("_is_avx512_bf16_supported", ("avx512_bf16",))
    avx512 = probe("_is_avx512_supported", ("avx512f",))
    avx2 = "avx2" in flags or avx512
    return CpuFeatures(bf16=bf16, amx=amx, avx512=avx512, avx2=avx2, cores=_physical_cores(), name=name)


def resolve_precision(requested: str, accelerator: str) -> tuple[str, str]:
    """("32" | "bf16" | "16", why) for train.precision; "auto": bf16 autocast where the device has
    native bf16 arithmetic (a CUDA GPU of compute capability 8 or more, or a CPU with AVX-512 BF16 or
    AMX), fp32 elsewhere (emulated bf16 runs many times slower than fp32)."""
    if requested != "auto":
        return requested, "set in the config"
    import torch

    if accelerator in ("cuda", "auto") and torch.cuda.is_available():
        if torch.cuda.is_bf16_supported():
            return "bf16", "auto: this GPU has native bf16"
        return "16", "auto: this GPU has no native bf16; fp16 autocast"
    feats = cpu_features()
    if feats.bf16:
        kind = "AMX" if feats.amx else "AVX-512 BF16"
        return "bf16", f"auto: this CPU ({feats.name}) has native bf16 ({kind})"
    return "32", f"auto: this CPU ({feats.name}) has no native bf16 arithmetic, which would be emulated"


def load_average() -> float:
    """The 1-minute load average, or 0 where the system does not say."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def resolve_threads(requested: int | str | None, busy: float | None = None) -> tuple[int | None, str]:
    """(threads, why) for train.threads. "auto": the physical cores this process may use, less the
    ones other processes keep busy (the load average, rounded), at least 1: two OpenMP threads on two
    cores that another process also wants ran about 10x slower than one thread here. None: PyTorch's
    default."""
    if requested is None:
        return None, "PyTorch's default"
    if requested != "auto":
        return int(requested), "set in the config"
    cores = _physical_cores()
    busy = load_average() if busy is None else busy
    free = max(1, min(cores, cores - int(busy + 0.5)))
    return free, f"auto: {cores} core(s), load average {busy:.2f} -> {free}"
