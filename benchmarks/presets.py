"""Presets that only the benchmarks train: the mode-collapse rows of benchmarks/mode_collapse.py,
one preset per row. Importing this module registers them in `ganforge.config.PRESETS`, so that
`ganforge train` can run them from a script that imports it (the benchmarks do).

2-D rows share the MLPs of ring8-gan / grid25-gan (3 x 128, z in R^2, batch 256) and about the same
CPU budget: 4,000 G steps, or 1,500 for the n_critic = 5 critics.
"""

from __future__ import annotations

from ganforge.config import PRESETS


# 2-D rows share the MLPs of ring8-gan / grid25-gan (3 x 128, z in R^2, batch 256) and about the same
# CPU budget: 4,000 G steps, or 1,500 for the n_critic = 5 critics.
def _with(base: dict, steps: int, **over: dict) -> dict:
    """A copy of a preset dict with train.steps set and each section of `over` merged into its own."""
    out = {section: dict(values) for section, values in base.items()}
    out["train"]["steps"] = steps
    for section, values in over.items():
        out[section] = {**out.get(section, {}), **values}
    return out


def _mix(data: str, steps: int = 4000, **over: dict) -> dict:
    return _with(
        {
            "data": {"name": data},
            "model": {"family": "mlp", "z_dim": 2, "hidden": 128, "depth": 3},
            "loss": {"name": "nonsaturating"},
            "g_optim": {"lr": 1e-3},
            "d_optim": {"lr": 1e-3},
            "train": {"batch_size": 256, "ema": None, "sample_every": 1000},
        },
        steps,
        **over,
    )


_WGAN_OPT = {"name": "rmsprop", "lr": 5e-5}
_GP_OPT = {"lr": 1e-4, "beta1": 0.0, "beta2": 0.9}
for _d in ("ring8", "grid25"):
    PRESETS.register(f"{_d}-vanilla", _mix(_d), doc="GAN, non-saturating loss")
    PRESETS.register(f"{_d}-r1", _mix(_d, loss={"r1": 0.1}), doc="GAN + R1 (gamma 0.1)")
    PRESETS.register(
        f"{_d}-wgan",
        _mix(
            _d,
            1500,
            loss={"name": "wasserstein", "clip": 0.01},
            g_optim=_WGAN_OPT,
            d_optim=_WGAN_OPT,
            train={"d_steps": 5},
        ),
        doc="WGAN: clipping 0.01, RMSprop 5e-5, n_critic 5",
    )
    PRESETS.register(
        f"{_d}-wgan-gp",
        _mix(
            _d, 1500, loss={"name": "wasserstein", "gp": 10.0}, g_optim=_GP_OPT, d_optim=_GP_OPT, train={"d_steps": 5}
        ),
        doc="WGAN-GP: lambda 10, Adam 1e-4 (0, 0.9), n_critic 5",
    )
    PRESETS.register(
        f"{_d}-hinge-sn", _mix(_d, loss={"name": "hinge"}, model={"d_sn": True}), doc="hinge loss + spectral norm in D"
    )
    PRESETS.register(f"{_d}-pacgan2", _mix(_d, model={"pack": 2}), doc="PacGAN2: D sees packs of 2")
    PRESETS.register(
        f"{_d}-ema",
        _mix(_d, 9000, train={"ema": 0.99}),
        doc="GAN + EMA of G (decay 0.99), 9,000 steps (under 2 CPU-minutes)",
    )
    PRESETS.register(
        f"{_d}-pacgan2-ema",
        _mix(_d, 9000, model={"pack": 2}, train={"ema": 0.99}),
        doc="PacGAN2 + EMA of G (decay 0.99), 9,000 steps",
    )
    PRESETS.register(
        f"{_d}-r1-ema",
        _mix(_d, 9000, loss={"r1": 0.1, "reg_interval": 4}, train={"ema": 0.99}),
        doc="GAN + R1 (gamma 0.1, lazy: every 4 steps) + EMA of G (decay 0.99), 9,000 steps",
    )
# Stacked MNIST: a small DCGAN (widths 32), 50,000 stacks drawn once (470 MB as float32)
_STACKED = {
    "data": {"name": "stacked-mnist", "num_points": 50_000},
    "model": {"family": "dcgan", "z_dim": 100, "g_width": 32, "d_width": 32},
    "train": {"steps": 5000, "batch_size": 64, "sample_every": 1000, "ckpt_every": 1000},
}
PRESETS.register("stacked-mnist-dcgan", _STACKED, doc="DCGAN (widths 32) on Stacked MNIST, 1,000 modes")


def _stacked(steps: int = 5000, **over: dict) -> dict:
    return _with(_STACKED, steps, **over)


PRESETS.register(
    "stacked-mnist-pacgan2",
    _stacked(model={"pack": 2}),
    doc="PacDCGAN2 (Lin et al. 2018): the same DCGAN, D judges packs of 2",
)

# the critics trained 5 times per G step get 1,500 G steps: about the CPU time of the others' 5,000
PRESETS.register("stacked-mnist-r1", _stacked(loss={"r1": 0.1}), doc="the DCGAN + R1 (gamma 0.1)")
PRESETS.register(
    "stacked-mnist-wgan",
    _stacked(
        1500, loss={"name": "wasserstein", "clip": 0.01}, g_optim=_WGAN_OPT, d_optim=_WGAN_OPT, train={"d_steps": 5}
    ),
    doc="WGAN on the DCGAN: clipping 0.01, RMSprop 5e-5, n_critic 5",
)
PRESETS.register(
    "stacked-mnist-wgan-gp",
    _stacked(
        1500,
        model={"d_norm": "none"},
        loss={"name": "wasserstein", "gp": 10.0},
        g_optim=_GP_OPT,
        d_optim=_GP_OPT,
        train={"d_steps": 5},
    ),
    doc="WGAN-GP on the DCGAN (no BatchNorm in D): lambda 10, Adam 1e-4 (0, 0.9), n_critic 5",
)
PRESETS.register(
    "stacked-mnist-r1-long",
    _stacked(10_000, loss={"r1": 0.1, "reg_interval": 4}),
    doc="the best found: the DCGAN + R1 (gamma 0.1, lazy every 4 steps), 10,000 steps (under 30 CPU-minutes)",
)
PRESETS.register(
    "stacked-mnist-hinge-sn",
    _stacked(model={"d_norm": "none", "d_sn": True}, loss={"name": "hinge"}),
    doc="hinge loss + spectral norm in D (no BatchNorm in D)",
)
