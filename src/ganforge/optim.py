"""The optimiser registry: name -> builder(settings, params). An objective names, for each of its
optimisers, the networks it steps and the config section (g_optim / d_optim) it reads."""

from __future__ import annotations

import torch

from ganforge.registry import Registry

OPTIMIZERS: Registry = Registry("optimiser")

# foreach: one multi-tensor kernel per update instead of a Python loop over parameters (PyTorch
# turns it on by default for CUDA only); on the CPU it halves the optimiser's time for small nets


@OPTIMIZERS.register("adam")
def adam(cfg, params) -> torch.optim.Optimizer:
    """Adam (Kingma & Ba 2015): lr, betas (beta1, beta2), weight_decay"""
    return torch.optim.Adam(
        params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay, foreach=True
    )


@OPTIMIZERS.register("rmsprop")
def rmsprop(cfg, params) -> torch.optim.Optimizer:
    """RMSprop (the WGAN paper's): lr, weight_decay"""
    return torch.optim.RMSprop(params, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)


@OPTIMIZERS.register("sgd")
def sgd(cfg, params) -> torch.optim.Optimizer:
    """SGD with momentum beta1: lr, weight_decay"""
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.beta1, weight_decay=cfg.weight_decay, foreach=True)


def make_optimizer(cfg, params) -> torch.optim.Optimizer:
    """The optimiser `cfg.name` with the settings of `cfg` (an OptimConfig) over `params`."""
    return OPTIMIZERS.get(cfg.name)(cfg, params)
