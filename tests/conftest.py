import pytest
import torch

from attrpriors.models import MLP
from attrpriors.training import seed_everything


@pytest.fixture
def small_mlp():
    seed_everything(0)
    return MLP(6, hidden=(16, 8), n_outputs=1, activation="softplus").double().eval()


@pytest.fixture
def small_classifier():
    seed_everything(1)
    return MLP(5, hidden=(16,), n_outputs=3, activation="tanh").double().eval()


@pytest.fixture
def data6():
    g = torch.Generator().manual_seed(0)
    return torch.randn(40, 6, generator=g, dtype=torch.float64)
