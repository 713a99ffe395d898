"""The models a studio serves: loaded once at start through one function (`load_source`: a run
directory, or `zoo:NAME` from the zoo shipped with ganforge), named by short ids the server assigns (clients never send paths), and
described by the list of what each can do, read from its family's registration and its config --
never from the family's name, so a family registered tomorrow gets its panels without a change here.

Capabilities (the page shows a panel or a control only for a model that lists it):

    generate       noise -> samples (images as a PNG grid, 2-D points as coordinates)
    interpolate    a path between the samples of two seeds (image models)
    classes        G takes a class label (class picker)
    truncation     the truncation trick (space "z": |z_i| <= psi; "w": w_avg + psi (w - w_avg))
    style-mixing   per-layer styles: rows x columns of seeds, a crossover layer
    project        per-layer styles: an uploaded image projected into W
    translate      image -> image in each of `directions` ("AtoB", "BtoA")
    impute         a table model that fills missing cells (Family.tabular == "impute"): CSV upload in
    synthesize-rows  a table model that makes new rows (tabular == "synthesize"); `table` lists the
                   columns and each categorical column's categories (the page's `where` picker)
    anomaly        a detector (Family.detects): uploaded images -> scores; `anomaly` holds the
                   default threshold

Table models and detectors do not sample images or points from noise: they never list `generate`.

Reserved for families not written yet (their endpoints come with them): upscale, inpaint, age,
caption (text -> image).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ganforge.api import GanModel, load
from ganforge.errors import UserError
from ganforge.zoo import is_zoo

ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")  # what an id looks like; anything else is refused unread
TRUNCATION_RANGE = {"z": (0.05, 3.0, 1.0), "w": (0.0, 1.0, 0.7)}  # space -> (min, max, a good default)


def load_source(spec: str, device: str = "cpu") -> GanModel:
    """A model from what the user gave on the command line: a run or checkpoint directory, or
    `zoo:NAME` (ganforge.zoo: its weights' hashes are checked against the manifest first)."""
    if is_zoo(spec):
        return load(spec, device)
    if not Path(spec).exists():
        raise UserError(f"{spec}: no such run directory; give a run made by 'ganforge train' or zoo:NAME")
    return load(spec, device)


def slug(text: str) -> str:
    """A lower-case id made of [a-z0-9._-] from a name or relative path ('exp 1/DCGAN' -> 'exp-1-dcgan')."""
    s = re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-.") or "model"
    return s[:48]


def unique_ids(names: list[str]) -> list[str]:
    """One id per name, in order: its slug, with -2, -3, ... when an earlier name took it."""
    out, taken = [], set()
    for name in names:
        base = slug(name)
        candidate, k = base, 2
        while candidate in taken:
            candidate, k = f"{base}-{k}", k + 1
        taken.add(candidate)
        out.append(candidate)
    return out


def capabilities(model: GanModel) -> list[str]:
    """What `model` can do, from its family's registration (directions, truncation, styles) and its
    config (conditional), in the order the page lays out its panels."""
    fam = model.family
    caps = []
    if fam.generates and not fam.tabular:  # a synthesiser's rows are `synthesize-rows`, not a grid
        caps.append("generate")
        if model.kind == "image":
            caps.append("interpolate")
        if fam.truncation is not None:
            caps.append("truncation")
    if model.conditional:
        caps.append("classes")
    if fam.styles:
        caps += ["style-mixing", "project"]
    if fam.directions:
        caps.append("translate")
    if fam.tabular == "impute":
        caps.append("impute")
    if fam.tabular == "synthesize":
        caps.append("synthesize-rows")
    if fam.detects:
        caps.append("anomaly")
    return caps


@dataclass(eq=False)
class ServedModel:
    id: str
    name: str  # a display name (the run folder's name); never used to find anything
    model: GanModel
    caps: list[str] = field(default_factory=list)

    def info(self) -> dict:
        """What /api/models tells a client: enough to build the controls, no paths."""
        m = self.model
        info = {
            "id": self.id,
            "name": self.name,
            "family": m.family.name,
            "step": m.step,
            "kind": m.kind,
            "shape": list(m.data_shape),
            "capabilities": self.caps,
            "classes": (list(m.classes) or [str(i) for i in range(m.num_classes)]) if m.conditional else [],
            "truncation": None,
            "directions": list(m.family.directions),
            "num_ws": None,
            "table": None,
            "anomaly": None,
        }
        if "truncation" in self.caps:
            lo, hi, default = TRUNCATION_RANGE[m.family.truncation]
            info["truncation"] = {"space": m.family.truncation, "min": lo, "max": hi, "default": default}
        if m.family.styles:
            from ganforge.inference.styles import style_generator

            info["num_ws"] = int(style_generator(m).num_ws)
        if m.family.tabular:
            info["table"] = table_info(m)
        if "anomaly" in self.caps:
            from ganforge.inference.anomaly import default_threshold

            try:  # recorded by a run's last checkpoint; one along the way computes it once, from its data
                threshold = default_threshold(m)
            except UserError:  # that data is not here: the list still answers, /api/detect will say why
                threshold = None
            info["anomaly"] = {"threshold": threshold}
        return info


def table_info(model: GanModel) -> dict | None:
    """The columns a table model was trained on (name, kind, categories), from the transforms its
    checkpoint recorded; None when it recorded none."""
    state = model.data_meta.get("table")
    if not state:
        return None
    cols = state["schema"]["columns"]
    return {"columns": [{"name": c["name"], "kind": c["kind"], "categories": list(c["categories"])} for c in cols]}


def serve_models(specs: list[str], device: str = "cpu") -> dict[str, ServedModel]:
    """Load every source once, at start: id -> ServedModel. A bad source is a UserError before the
    server binds, so a typo never leaves a half-working studio."""
    models = [load_source(s, device) for s in specs]
    names = [_display_name(s) for s in specs]
    return {
        i: ServedModel(id=i, name=n, model=m, caps=capabilities(m)) for i, n, m in zip(unique_ids(names), names, models)
    }


def _display_name(spec: str) -> str:
    if is_zoo(spec):
        return spec[len("zoo:") :]
    p = Path(spec).resolve()
    if p.name.startswith("step_") or p.name == "checkpoints":  # a checkpoint folder: name the run
        p = p.parent.parent if p.name.startswith("step_") else p.parent
    return p.name


__all__ = ["ID_RE", "ServedModel", "capabilities", "load_source", "serve_models", "slug", "table_info", "unique_ids"]
