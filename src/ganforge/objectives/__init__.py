"""What a training step computes, per kind of task. The loop asks an objective for its phases
(a schedule as data) and, for each phase due, for one scalar loss. `OBJECTIVES[name](cfg, networks)`
builds one; a model family names the objective that trains it."""

from ganforge.objectives.base import OBJECTIVES, Objective, Phase
from ganforge.objectives import generation as _generation  # noqa: F401  (registers "generation")
from ganforge.objectives import translation as _translation  # noqa: F401  (registers "pix2pix", "cyclegan")
from ganforge.objectives import conditional as _conditional  # noqa: F401  (registers "conditional")
from ganforge.objectives import stylegan as _stylegan  # noqa: F401  (registers "stylegan")

__all__ = ["OBJECTIVES", "Objective", "Phase"]
