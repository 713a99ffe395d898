"""What a training step computes, per kind of task. A family names the objective class that trains
it; the loop asks the objective for its optimisers and its phases (a schedule as data, each phase
bound to the method computing its loss) and runs them.

    AdversarialObjective   the shared adversarial step of every noise -> image family
    ConditionalObjective   + class labels, AC-GAN's class loss
    StyleGANObjective      + style mixing, path-length regularisation
    Pix2PixObjective, CycleGANObjective   + L1 / cycle and identity terms, G phase before D phase
    GANomalyObjective      encoder-decoder-encoder G, feature matching; anomaly scores (anomaly.py)
"""

from ganforge.objectives.adversarial import AdversarialLoss, AdversarialObjective, PenaltyLoss, Verdict
from ganforge.objectives.anomaly import GANomalyLoss, GANomalyObjective
from ganforge.objectives.base import Objective, OptimizerSpec, Phase, StepState
from ganforge.objectives.conditional import ConditionalLoss, ConditionalObjective
from ganforge.objectives.stylegan import StyleGANLoss, StyleGANObjective
from ganforge.objectives.translation import CycleGANLoss, CycleGANObjective, Pix2PixLoss, Pix2PixObjective

__all__ = [
    "AdversarialLoss",
    "AdversarialObjective",
    "ConditionalLoss",
    "ConditionalObjective",
    "CycleGANLoss",
    "CycleGANObjective",
    "GANomalyLoss",
    "GANomalyObjective",
    "Objective",
    "OptimizerSpec",
    "PenaltyLoss",
    "Phase",
    "Pix2PixLoss",
    "Pix2PixObjective",
    "StepState",
    "StyleGANLoss",
    "StyleGANObjective",
    "Verdict",
]
