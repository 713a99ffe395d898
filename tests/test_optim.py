"""The optimiser registry (ganforge.optim): every registered optimiser maps the OptimConfig fields
onto the torch optimiser it builds; an unknown name is a user error that lists the choices."""

import dataclasses

import pytest
import torch
from torch import nn

from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.optim import OPTIMIZERS, make_optimizer
from ganforge.schema import OptimConfig

# name -> (torch class, {param_group key: the value the OptimConfig below must give})
SETTINGS = OptimConfig(lr=3e-3, beta1=0.7, beta2=0.9, weight_decay=0.01)
EXPECTED = {
    "adam": (torch.optim.Adam, {"lr": 3e-3, "betas": (0.7, 0.9), "weight_decay": 0.01}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 3e-3, "weight_decay": 0.01}),
    "sgd": (torch.optim.SGD, {"lr": 3e-3, "momentum": 0.7, "weight_decay": 0.01}),  # beta1 is SGD's momentum
}


def test_the_registered_optimisers():
    assert {"adam", "rmsprop", "sgd"} <= set(OPTIMIZERS.keys())
    assert all(OPTIMIZERS.doc(name) for name in OPTIMIZERS.keys())  # each says which fields it reads


@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd"])
def test_config_fields_reach_the_param_groups(name):
    net = nn.Linear(3, 2)
    cfg = dataclasses.replace(SETTINGS, name=name)
    opt = make_optimizer(cfg, list(net.parameters()))
    cls, expected = EXPECTED[name]
    assert type(opt) is cls
    assert type(OPTIMIZERS.get(name)(cfg, list(net.parameters()))) is cls  # the registry entry itself
    [group] = opt.param_groups
    assert [id(p) for p in group["params"]] == [id(p) for p in net.parameters()]
    for key, value in expected.items():
        assert group[key] == pytest.approx(value), (name, key, group[key])
    # and it steps: one update moves the weights
    before = net.weight.detach().clone()
    net(torch.ones(4, 3)).sum().backward()
    opt.step()
    assert not torch.equal(before, net.weight)


def test_config_sections_reach_the_optimisers_settings():
    cfg = load_config(None, ["g_optim.name=sgd", "g_optim.lr=0.05", "g_optim.beta1=0.8", "d_optim.weight_decay=0.1"])
    g = make_optimizer(cfg.g_optim, nn.Linear(2, 2).parameters())
    d = make_optimizer(cfg.d_optim, nn.Linear(2, 2).parameters())
    assert type(g) is torch.optim.SGD and g.param_groups[0]["momentum"] == pytest.approx(0.8)
    assert g.param_groups[0]["lr"] == pytest.approx(0.05)
    assert type(d) is torch.optim.Adam and d.param_groups[0]["weight_decay"] == pytest.approx(0.1)


def test_an_unknown_optimiser_names_the_choices():
    choices = ", ".join(OPTIMIZERS.keys())
    with pytest.raises(UserError, match=f"unknown optimiser 'adamw'.*choose one of: {choices}"):
        OPTIMIZERS.get("adamw")
    with pytest.raises(UserError, match="did you mean 'adam'"):
        make_optimizer(OptimConfig(name="adma"), nn.Linear(2, 2).parameters())
    for section in ("g_optim", "d_optim"):
        with pytest.raises(UserError) as e:
            load_config(None, [f"{section}.name=adamw"])
        message = str(e.value)
        assert f"{section}.name='adamw'" in message and "\n" not in message
        assert all(name in message for name in OPTIMIZERS.keys()), message
