"""The science of the attribution methods: completeness, agreement with captum and shap, training gradients."""

import numpy as np
import pytest
import torch
from torch import nn

from attrpriors.attributions import METHODS, attribute, expected_gradients, integrated_gradients
from attrpriors.priors import AttributionPrior


def test_eg_completeness(small_mlp, data6):
    """Σᵢ EGᵢ(x) ≈ f(x) − E_{x'} f(x') with many references."""
    x, background = data6[:5], data6[5:]
    gen = torch.Generator().manual_seed(0)
    phi = expected_gradients(small_mlp, x, baselines=background, n_samples=20000, generator=gen)
    with torch.no_grad():
        gap = small_mlp(x) - small_mlp(background).mean()
    np.testing.assert_allclose(phi.sum(1).numpy(), gap.numpy(), atol=0.03 * gap.abs().max().item() + 1e-3)


def test_ig_completeness_and_captum(small_mlp, data6):
    captum = pytest.importorskip("captum.attr")
    x = data6[:8]
    base = data6[8:16]
    ig = captum.IntegratedGradients(small_mlp)
    ours = integrated_gradients(small_mlp, x, baselines=base, n_steps=64, method="gausslegendre")
    ref = ig.attribute(x, baselines=base, n_steps=64, method="gausslegendre")
    np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-8, atol=1e-10)
    # captum's trapezoid weights are 1/n (summing to (n-1)/n); ours are the exact trapezoid rule, 1/(n-1).
    ours = integrated_gradients(small_mlp, x, baselines=base, n_steps=64, method="riemann_trapezoid")
    ref = ig.attribute(x, baselines=base, n_steps=64, method="riemann_trapezoid")
    np.testing.assert_allclose(ours.numpy(), ref.detach().numpy() * 64 / 63, rtol=1e-8, atol=1e-10)
    with torch.no_grad():
        gap = small_mlp(x) - small_mlp(base)
    ours = integrated_gradients(small_mlp, x, baselines=base, n_steps=64)
    np.testing.assert_allclose(ours.sum(1).numpy(), gap.numpy(), rtol=1e-4, atol=1e-6)


def test_ig_classifier_target_matches_captum(small_classifier):
    captum = pytest.importorskip("captum.attr")
    x = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    target = torch.tensor([0, 1, 2, 2, 1, 0])
    ours = integrated_gradients(small_classifier, x, target, n_steps=32)
    ref = captum.IntegratedGradients(small_classifier).attribute(x, target=target, n_steps=32)
    np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-8, atol=1e-10)


def test_eg_agrees_with_shap_gradient_explainer(small_mlp, data6):
    shap = pytest.importorskip("shap")
    x, background = data6[:6].float(), data6[6:].float()
    model = small_mlp.float()
    wrapped = nn.Sequential(model, nn.Unflatten(0, (-1, 1)))  # shap wants (B, outputs)
    sv = shap.GradientExplainer(wrapped, background).shap_values(x, nsamples=4000, rseed=0)
    sv = np.asarray(sv).reshape(x.shape)
    ours = expected_gradients(model, x, baselines=background, n_samples=4000,
                              generator=torch.Generator().manual_seed(1)).numpy()
    assert np.corrcoef(ours.ravel(), sv.ravel())[0, 1] > 0.99
    assert np.abs(ours - sv).mean() < 0.05 * np.abs(sv).mean() + 1e-3


def test_eg_with_one_reference_is_ig(small_mlp, data6):
    x = data6[:4]
    ref = data6[10:11]
    eg = expected_gradients(small_mlp, x, baselines=ref, n_samples=20000, generator=torch.Generator().manual_seed(0))
    ig = integrated_gradients(small_mlp, x, baselines=ref[0], n_steps=64)
    np.testing.assert_allclose(eg.numpy(), ig.numpy(), atol=0.02 * ig.abs().max().item())


def test_linear_model_exact():
    """For f = w·x, EG = (x − x') w for every α: the gradient is taken at the interpolated point only."""
    lin = nn.Linear(4, 1, bias=True).double()
    x = torch.randn(3, 4, dtype=torch.float64)
    bg = torch.randn(1, 4, dtype=torch.float64)
    eg = expected_gradients(lin, x, baselines=bg, n_samples=7, generator=torch.Generator().manual_seed(0))
    expected = (x - bg) * lin.weight.detach()
    np.testing.assert_allclose(eg.numpy(), expected.numpy(), rtol=1e-10)


def test_batch_rolled_references_exclude_self(small_mlp, data6):
    """Rolled references: with k = B − 1 every other sample is a reference exactly once."""
    x = data6[:5]
    lin = nn.Linear(6, 1, bias=False).double()
    phi = expected_gradients(lin, x, n_samples=4)  # k = B - 1
    others_mean = (x.sum(0, keepdim=True) - x) / 4
    np.testing.assert_allclose(phi.numpy(), ((x - others_mean) * lin.weight.detach()).numpy(), rtol=1e-10)


def test_chunking_and_seed_do_not_change_results(small_mlp, data6):
    x, bg = data6[:10], data6[10:]
    kw = dict(baselines=bg, n_samples=13)
    a = expected_gradients(small_mlp, x, **kw, generator=torch.Generator().manual_seed(5))
    b = expected_gradients(small_mlp, x, **kw, generator=torch.Generator().manual_seed(5), max_batch=20)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    c = integrated_gradients(small_mlp, x, n_steps=9, max_batch=7)
    d = integrated_gradients(small_mlp, x, n_steps=9)
    np.testing.assert_allclose(c.numpy(), d.numpy(), rtol=1e-12)


def test_one_signature_for_all_methods(small_classifier):
    x = torch.randn(4, 5, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 0])
    for name in METHODS:
        opts = {"generator": torch.Generator().manual_seed(0)} if name in ("expected_gradients", "random") else {}
        phi = attribute(name, small_classifier, x, target, None if name != "expected_gradients" else x, **opts)
        assert phi.shape == x.shape and torch.isfinite(phi).all()


def test_input_x_gradient_and_gradients(small_mlp, data6):
    x = data6[:3].clone().requires_grad_(True)
    small_mlp(x).sum().backward()
    g = attribute("gradients", small_mlp, data6[:3])
    np.testing.assert_allclose(g.numpy(), x.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(attribute("input_x_gradient", small_mlp, data6[:3]).numpy(), (x.grad * data6[:3]).numpy())


def test_errors_name_the_problem(small_classifier, small_mlp):
    x = torch.randn(4, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="unknown attribution method 'deeplift'"):
        attribute("deeplift", small_classifier, x, 0)
    with pytest.raises(ValueError, match="pass target="):
        attribute("gradients", small_classifier, x)
    with pytest.raises(ValueError, match="background set of shape"):
        expected_gradients(small_mlp, torch.randn(2, 6, dtype=torch.float64), baselines=torch.randn(3, 5))


def test_eg_penalty_is_differentiable_and_trainable(data6):
    """Double backprop: the EG penalty's gradient reaches every weight, and prior steps lower it."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1), nn.Flatten(0)).double()
    prior = AttributionPrior("l1", n_references=2, seed=0)
    x = data6
    omega = prior(model, x, None)
    omega.backward()
    first = model[0].weight.grad
    assert first is not None and first.abs().sum() > 0
    assert model[2].weight.grad.abs().sum() > 0
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    start = prior(model, x, None).item()
    for _ in range(30):
        opt.zero_grad()
        prior(model, x, None).backward()
        opt.step()
    assert prior(model, x, None).item() < 0.5 * start


def test_one_list_of_methods_for_registry_schema_and_docs():
    """The registry, the config schema's ``attribution_method`` enum and the docs (docs/layout.md, linked from the README) follow display.METHOD_LABELS;
    the DNA experiment's method enums name registered methods only."""
    from pathlib import Path

    import yaml

    from attrpriors.display import METHOD_LABELS

    repo = Path(__file__).resolve().parents[1]
    assert list(METHODS) == list(METHOD_LABELS)
    schema = yaml.safe_load((repo / "workflow/schemas/config.schema.yaml").read_text())
    assert schema["definitions"]["attribution_method"]["enum"] == list(METHOD_LABELS)

    def enums(node):
        if isinstance(node, dict):
            if "smoothgrad" in node.get("enum", []):
                yield node["enum"]
            for v in node.values():
                yield from enums(v)
        elif isinstance(node, list):
            for v in node:
                yield from enums(v)

    subsets = list(enums(schema["properties"]))
    assert subsets and all(set(e) <= set(METHOD_LABELS) for e in subsets)
    layout = (repo / "docs" / "layout.md").read_text()
    assert all(m in layout for m in METHOD_LABELS), [m for m in METHOD_LABELS if m not in layout]
