"""Run directories under `--runs DIR`, as the runs panel shows them: config, progress, loss curves
from metrics.jsonl, the latest sample grid, evaluation results. Everything is read from the run's
files (never from a live trainer), so a run training in another process is shown as it goes.

metrics.jsonl grows while a run trains, and its last line may be half written when we read it:
`MetricsLog` keeps a byte offset per run, parses complete lines only and leaves a partial tail for
the next read, so a poll costs the new bytes, not the whole file.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ganforge.serve.models import unique_ids
from ganforge.training.lock import lock_holder

MAX_DEPTH = 3  # folders below --runs searched for runs (runs/<group>/<name>/ and the like)
SKIP = {"checkpoints", "samples", "tensorboard", "__pycache__"}  # folders inside a run that hold no runs


def find_runs(root: Path, max_depth: int = MAX_DEPTH) -> dict[str, Path]:
    """id -> run directory for every folder holding a config.json under `root`, `root` itself
    included (symbolic links not followed, hidden folders skipped); ids from the relative paths, in
    sorted order, so they stay the same from one scan to the next."""
    root = Path(root)
    found = []
    for here, dirs, files in os.walk(root, followlinks=False):
        rel = Path(here).relative_to(root)
        depth = len(rel.parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP and depth < max_depth)
        if "config.json" in files:
            found.append(rel)
            dirs[:] = []  # a run does not hold runs
    found.sort()
    return dict(zip(unique_ids([run_name(root, root / r) for r in found]), (root / r for r in found)))


def run_name(root: Path, run: Path) -> str:
    """How the runs panel names a run: its path below --runs (its folder name when --runs is the run)."""
    rel = run.relative_to(root)
    return rel.as_posix() if rel.parts else root.resolve().name


@dataclass
class MetricsLog:
    """The records of one metrics.jsonl, read incrementally. Thread-safe."""

    path: Path
    offset: int = 0  # bytes parsed so far (whole lines only)
    records: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self) -> list[dict]:
        """Parse the lines written since the last call; a file that shrank (a run started afresh in the
        same folder) is read again from the start. Lines that are not JSON objects are skipped."""
        with self.lock:
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                size = 0
            if size < self.offset:
                self.offset, self.records = 0, []
            if size > self.offset:
                with open(self.path, "rb") as f:
                    f.seek(self.offset)
                    chunk = f.read(size - self.offset)
                end = chunk.rfind(b"\n") + 1  # a partial last line waits for the next read
                for line in chunk[:end].splitlines():
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if isinstance(record, dict):
                        self.records.append(record)
                self.offset += end
            return self.records


class RunIndex:
    """The runs under one folder, re-scanned on each listing (a new run appears without a restart),
    with one MetricsLog per run kept between polls."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._logs: dict[Path, MetricsLog] = {}
        self._lock = threading.Lock()

    def runs(self) -> dict[str, Path]:
        return find_runs(self.root)

    def log(self, run: Path) -> MetricsLog:
        with self._lock:
            if run not in self._logs:
                self._logs[run] = MetricsLog(run / "metrics.jsonl")
            return self._logs[run]

    def summary(self, run_id: str, run: Path) -> dict:
        """What the runs list shows per run: id, name, family, progress, whether it is training now."""
        config = read_config(run)
        records = self.log(run).refresh()
        steps = section(config, "train").get("steps")
        steps = steps if isinstance(steps, int) else 0
        step = last_step(records)
        return {
            "id": run_id,
            "name": run_name(self.root, run),
            "family": section(config, "model").get("family"),
            "step": step,
            "steps": steps,
            "progress": min(1.0, step / steps) if steps else None,
            "training": lock_holder(run) is not None,
        }

    def detail(self, run_id: str, run: Path) -> dict:
        """A summary plus the config, the latest sample grid's step, and every evaluation record."""
        records = self.log(run).refresh()
        sample = latest_sample(run)
        return {
            **self.summary(run_id, run),
            "config": read_config(run),
            "sample_step": None if sample is None else int(sample.stem.split("_")[1]),
            "evals": [r for r in records if r.get("kind") == "eval"],
        }

    def metrics(self, run: Path, since: int, limit: int) -> dict:
        """Training records from index `since`, at most `limit`: {"records", "next", "keys"}; the page
        asks again with since=next, so a poll carries the new records only."""
        records = self.log(run).refresh()
        train = [r for r in records if r.get("kind", "train") == "train"]
        part = train[since : since + limit]
        keys = sorted({k for r in part for k in r if k.startswith("loss") and _number(r[k])})
        return {
            "records": [{"step": r.get("step"), **{k: r[k] for k in keys if _number(r.get(k))}} for r in part],
            "next": since + len(part),
            "total": len(train),
            "keys": keys,
        }


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")


def read_config(run: Path) -> dict:
    """The run's config.json, or {} while it is being written or when damaged (the list still shows the run)."""
    try:
        config = json.loads((run / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return config if isinstance(config, dict) else {}


def section(config: dict, name: str) -> dict:
    """config[name] when it is a mapping, else {} (a config being written, or damaged)."""
    value = config.get(name)
    return value if isinstance(value, dict) else {}


def last_step(records: list[dict]) -> int:
    """The step of the newest training record (0 before the first)."""
    for r in reversed(records):
        if r.get("kind", "train") == "train" and isinstance(r.get("step"), int):
            return r["step"]
    return 0


def latest_sample(run: Path) -> Path | None:
    """samples/step_XXXXXXXX.png with the highest step, or None."""
    grids = sorted(p for p in (run / "samples").glob("step_*.png") if p.stem[5:].isdigit())
    return grids[-1] if grids else None


__all__ = ["MetricsLog", "RunIndex", "find_runs", "last_step", "latest_sample", "read_config"]
