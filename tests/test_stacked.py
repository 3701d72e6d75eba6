"""Stacked tiny MLPs (attrpriors.stacked): the same models, attributions and training as one model at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attrpriors.attributions import expected_gradients
from attrpriors.priors import gini, sgl_first_layer_penalty, weight_l1
from attrpriors.stacked import (
    StackedMLP,
    StackedPenalties,
    stacked_expected_gradients,
    stacked_logits,
    train_stacked,
)

P, HIDDEN = 6, [8, 4]


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, P)).astype(np.float32)
    y = (X[:, 0] - 0.5 * X[:, 1] + 0.3 * rng.standard_normal(n) > 0).astype(np.int64)
    return X, y


def test_forward_and_unstack_match_the_plain_mlp():
    st = StackedMLP.initialized(P, HIDDEN, seeds=[1, 2, 3])
    X = torch.randn(5, P)
    out = st(X)
    assert out.shape == (3, 5)
    for m in range(3):
        assert torch.allclose(out[m], st.unstack(m)(X), atol=1e-6)
    # the same initialisation as building one MLP after seeding
    again = StackedMLP.initialized(P, HIDDEN, seeds=[2])
    assert torch.equal(again.weights[0][0], st.weights[0][1])


def test_stacked_eg_equals_the_library_eg_per_model_and_is_differentiable():
    st = StackedMLP.initialized(P, HIDDEN, seeds=[4, 5])
    X = torch.randn(7, P)
    B = torch.randn(20, P)
    gens = [torch.Generator().manual_seed(10 + m) for m in range(2)]
    phi = stacked_expected_gradients(st, X, B, 9, gens)
    for m in range(2):
        ref = expected_gradients(st.unstack(m), X, None, B, n_samples=9,
                                 generator=torch.Generator().manual_seed(10 + m))
        assert torch.allclose(phi[m], ref, atol=1e-5)
    # batch-rolled references (the training trick) likewise
    gens = [torch.Generator().manual_seed(3) for _ in range(2)]
    phi = stacked_expected_gradients(st, X, None, 4, gens)
    ref = expected_gradients(st.unstack(1), X, None, None, n_samples=4, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(phi[1], ref, atol=1e-5)
    # the Gini penalty back-propagates to each model's own weights only, as in the unstacked model
    gens = [torch.Generator().manual_seed(7) for _ in range(2)]
    phi = stacked_expected_gradients(st, X, None, 4, gens, create_graph=True)
    pen = StackedPenalties.for_models(["gini", "gini"], [1.0, 0.0]).attribution_terms(phi.abs().mean(1))
    pen.sum().backward()
    g0 = st.weights[0].grad
    assert g0[0].abs().sum() > 0 and g0[1].abs().sum() == 0  # λ = 0 for model 1
    mlp = st.unstack(0)
    ref = expected_gradients(mlp, X, None, None, n_samples=4, create_graph=True,
                             generator=torch.Generator().manual_seed(7))
    (-gini(ref.abs().mean(0))).backward()
    assert torch.allclose(g0[0], mlp.net[0].weight.grad.T, atol=1e-5)


def test_weight_penalties_match_the_library_definitions():
    st = StackedMLP.initialized(P, HIDDEN, seeds=[1, 2])
    pen = StackedPenalties.for_models(["l1_all", "sgl"], [1.0, 1.0]).weight_terms(st)
    assert pen[0].item() == pytest.approx(weight_l1(st.unstack(0)).item(), rel=1e-5)
    assert pen[1].item() == pytest.approx(sgl_first_layer_penalty(st.unstack(1)).item(), rel=1e-5)


@pytest.mark.parametrize("penalty,strength", [("gini", 0.5), ("sgl", 1e-3), ("dropout", 0.3)])
def test_stacked_training_equals_training_each_model_alone(penalty, strength):
    """Five models in one stack = each model trained alone with its seed (float tolerance)."""
    X, y = _data()
    Xv, yv = _data(40, seed=1)
    seeds = [11, 12, 13, 14, 15]
    pens = [penalty] * 4 + ["unregularized"]
    strengths = [strength, strength * 2, strength, strength / 2, 0.0]
    dropout = [s if p == "dropout" else 0.0 for p, s in zip(pens, strengths)]
    kw = dict(epochs=6, batch_size=25, lr=0.01, n_references=3)
    st = StackedMLP.initialized(P, HIDDEN, seeds=seeds, dropout=dropout)
    fit = train_stacked(st, X, y, Xv, yv, seeds=seeds, penalties=StackedPenalties.for_models(pens, strengths), **kw)
    for m in range(5):
        one = StackedMLP.initialized(P, HIDDEN, seeds=[seeds[m]], dropout=[dropout[m]])
        alone = train_stacked(one, X, y, Xv, yv, seeds=[seeds[m]],
                              penalties=StackedPenalties.for_models([pens[m]], [strengths[m]]), **kw)
        assert alone.best_epoch[0] == fit.best_epoch[m]
        assert alone.val_auc[0] == pytest.approx(fit.val_auc[m], abs=1e-6)
        for a, b in zip(alone.model.parameters(), fit.model.parameters()):
            assert torch.allclose(a[0], b[m], atol=1e-5)


def test_best_epoch_is_kept_and_nan_models_are_flagged():
    X, y = _data()
    Xv, yv = _data(40, seed=1)
    st = StackedMLP.initialized(P, HIDDEN, seeds=[1, 2])
    fit = train_stacked(st, X, y, Xv, yv, seeds=[1, 2], penalties=StackedPenalties.for_models(
        ["unregularized", "l1_all"], [0.0, 1e39]), epochs=5, batch_size=60, lr=0.05, n_references=2)
    assert fit.finite[0] and not fit.finite[1]
    assert np.isnan(fit.val_auc[1])
    e = fit.best_epoch[0]
    assert fit.history[e - 1, 0] == np.nanmax(fit.history[:, 0]) == fit.val_auc[0]
    from attrpriors.stats import auroc

    assert auroc(yv, stacked_logits(fit.model, Xv)[0]) == pytest.approx(fit.val_auc[0], abs=1e-6)
