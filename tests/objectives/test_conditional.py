"""What training a class-conditional family does: AC-GAN's class loss (on real images only when
loss.aux_fake=false) and its logs, and ADA's augmentation probability across checkpoint and resume."""

import torch

from ganforge.training.loop import Trainer

from tests_helpers import CONDITIONAL_VARIANTS as VARIANTS
from tests_helpers import conditional_config as cfg_for
from tests_helpers import labelled_data as labelled


def test_acgan_discriminator_returns_class_logits_and_trains_them(tmp_path):
    trainer = Trainer(cfg_for(VARIANTS["cdcgan-acgan"]), tmp_path / "run", data=labelled())
    D = trainer.nets["D"]
    logits, classes = D(torch.zeros(3, 1, 32, 32), torch.zeros(3, dtype=torch.long), aux=True)
    assert logits.shape == (3,) and classes.shape == (3, 10)
    logs = trainer.train_step()
    assert {"loss_aux_D", "loss_aux_G", "acc_real"} <= logs.keys()
    assert logs["loss_aux_D"] > 0 and logs["loss_aux_G"] > 0


def test_acgan_class_loss_on_real_images_only(tmp_path):
    import torch.nn.functional as F

    from ganforge.objectives import StepState

    trainer = Trainer(cfg_for([*VARIANTS["cdcgan-acgan"], "loss.aux_fake=false"]), tmp_path / "run", data=labelled())
    batch = {"x": trainer.data.x[:16], "y": trainer.data.y[:16]}
    _, logs = trainer.objective.d_step(batch, StepState(0))
    with torch.no_grad():  # train-mode BN: the same batch gives the same logits
        by_hand = F.cross_entropy(trainer.nets["D"](batch["x"], batch["y"], aux=True)[1], batch["y"]).item()
    assert abs(logs["loss_aux_D"] - by_hand) < 1e-5


def test_ada_probability_survives_checkpoint_and_resume(tmp_path):
    common = [
        "model.family=cdcgan",
        "train.augment=ada",
        "train.augment_p=0.5",
        "train.ada_interval=2",
        "train.ada_kimg=0.1",
        "train.ckpt_every=0",
    ]
    data = labelled()
    full = Trainer(cfg_for(common, steps=5), tmp_path / "full", data=data)
    full.fit()
    part = Trainer(cfg_for(common, steps=3), tmp_path / "part", data=data)
    part.fit()  # p updated after D step 2; step 3 is half-way to the next update
    p_saved = part.objective.ada.p
    assert p_saved != 0.5 and part.objective.ada._count > 0
    resumed = Trainer(cfg_for(common, steps=5), tmp_path / "part", data=data, resume=True)
    assert resumed.objective.ada.state().tolist() == part.objective.ada.state().tolist()
    assert resumed.objective.augment.p == p_saved
    resumed.fit()
    assert resumed.objective.ada.state().tolist() == full.objective.ada.state().tolist()
    for name, net in full.nets.items():  # and the whole run is exact
        for (k, a), b in zip(net.state_dict().items(), resumed.nets[name].state_dict().values()):
            assert torch.equal(a, b), (name, k)
