"""docs/library.md: every python block of the quickstart runs, in order, in one namespace; the captum-style
arguments and the errors it promises hold."""

import re
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def test_every_quickstart_block_runs():
    text = (REPO / "docs" / "library.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/library.md block {i + 1}", "exec"), namespace)  # noqa: S102


def test_captum_keywords_and_errors_that_name_the_argument():
    from attrpriors import AttributionPrior, MLP, expected_gradients, fit, integrated_gradients

    torch.manual_seed(0)
    model = MLP(4, [8], 1)
    x, bg = torch.randn(5, 4), torch.randn(20, 4)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(expected_gradients(model, inputs=x, baselines=bg, n_samples=10, generator=g()),
                       expected_gradients(model, x, None, bg, n_samples=10, generator=g()))
    assert torch.allclose(integrated_gradients(model, inputs=x, n_steps=16), integrated_gradients(model, x, n_steps=16))
    with pytest.raises(TypeError, match="baselines="):
        expected_gradients(model, x, bg)  # captum's positional place of the background
    with pytest.raises(ValueError, match=r"baselines must be a background set of shape \(N, 4\)"):
        expected_gradients(model, x, baselines=torch.randn(20, 3))
    with pytest.raises(ValueError, match="batch axis"):
        expected_gradients(model, torch.randn(4), baselines=bg)
    with pytest.raises(TypeError, match="not both"):
        expected_gradients(model, x, inputs=x)
    classifier = MLP(4, [8], 3)
    prior = AttributionPrior("l1")
    with pytest.raises(ValueError, match="task='classification'"):
        prior(classifier, x)
    with pytest.raises(ValueError, match="pass its labels"):
        prior(classifier, x, task="classification")
    assert prior(classifier, x, torch.tensor([0, 1, 2, 0, 1]), task="classification") >= 0
    assert prior(model, x) >= 0  # regression: no labels needed
    from torch.utils.data import DataLoader, TensorDataset

    with pytest.raises(TypeError, match="do not pass its labels"):
        fit(model, DataLoader(TensorDataset(x, x[:, 0])), x[:, 0])
    with pytest.raises(TypeError, match="needs y_train"):
        fit(model, x)


def test_fit_on_a_loader_equals_fit_on_its_arrays():
    """A DataLoader is its data: the same fit (fit draws its own seeded batches) as on the concatenated arrays."""
    from torch.utils.data import DataLoader, TensorDataset

    from attrpriors import MLP, FitConfig, fit

    X, y = torch.randn(64, 3), torch.randn(64)
    cfg = FitConfig(epochs=3, batch_size=16, progress=False)
    torch.manual_seed(1)
    a = fit(MLP(3, [4], 1), DataLoader(TensorDataset(X, y), batch_size=10), config=cfg)
    torch.manual_seed(1)
    b = fit(MLP(3, [4], 1), X, y, config=cfg)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)
