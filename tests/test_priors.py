import numpy as np
import torch

from attrpriors.priors import GraphPrior, gini, graph_penalty, total_variation_penalty


def test_gini_extremes():
    p = 10
    assert gini(torch.ones(p)).item() == 0.0
    one_hot = torch.zeros(p)
    one_hot[3] = 5.0
    np.testing.assert_allclose(gini(one_hot).item(), 1 - 1 / p, rtol=1e-6)


def test_graph_penalty_is_edge_sum():
    W = torch.tensor([[0, 2.0, 0], [2.0, 0, 1.0], [0, 1.0, 0]])
    phi = torch.tensor([[1.0, -3.0, 2.0], [1.0, 3.0, 2.0]])  # mean |phi| = (1, 3, 2)
    expected = 2.0 * (1 - 3) ** 2 + 1.0 * (3 - 2) ** 2
    edges, weights = torch.tensor([[0, 1], [1, 2]]), torch.tensor([2.0, 1.0])
    assert graph_penalty(phi, edges, weights).item() == expected
    assert GraphPrior.from_adjacency(W)._graph(phi).item() == expected


def test_total_variation_scale_invariant_and_zero_on_constant():
    g = torch.Generator().manual_seed(0)
    phi = torch.randn(2, 1, 8, 8, generator=g)
    np.testing.assert_allclose(total_variation_penalty(phi).item(), total_variation_penalty(7 * phi).item(), rtol=1e-5)
    smooth = torch.linspace(0, 1, 8).repeat(8, 1)[None, None]
    assert total_variation_penalty(smooth) < total_variation_penalty(phi)


def test_graph_prior_module_trains_toward_smooth_attributions():
    torch.manual_seed(0)
    W = torch.zeros(4, 4)
    W[0, 1] = W[1, 0] = 1.0
    prior = GraphPrior.from_adjacency(W, n_references=1, seed=0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 1), torch.nn.Flatten(0))
    with torch.no_grad():
        model[0].weight[:] = torch.tensor([[3.0, 0.0, 1.0, 1.0]])
    x = torch.randn(64, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        prior(model, x, None).backward()
        opt.step()
    w = model[0].weight.detach()[0]
    assert abs(abs(w[0]) - abs(w[1])) < 0.3  # connected features now share attribution
