"""What a training step computes, per kind of task. The loop asks an objective for its phases
(a schedule as data) and, for each phase due, for one scalar loss."""

from ganforge.objectives.base import Phase, Objective
from ganforge.objectives.generation import GenerationObjective

__all__ = ["Phase", "Objective", "GenerationObjective"]
