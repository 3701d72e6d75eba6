"""How names and numbers appear in tables and figures: the one list of attribution methods with their labels,
the model labels of every experiment, and mean ± s.d. formatting.

Torch-free and light, so table and figure jobs import it cheaply.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

__all__ = ["METHOD_LABELS", "MODEL_LABELS", "PAPER_METHOD_LABELS", "format_estimate", "format_mean_sd", "method_label",
           "model_label"]

#: THE list of attribution methods, in display order: registry name → label. The registry
#: (:data:`attrpriors.attributions.METHODS`), the config schema's ``attribution_method`` enum and the README's
#: list follow it; tests/test_attributions.py checks that they agree.
METHOD_LABELS = {
    "expected_gradients": "Expected gradients",
    "integrated_gradients": "Integrated gradients",
    "input_x_gradient": "Inputs × gradients",
    "gradients": "Gradients",
    "random": "Random",
    "smoothgrad": "SmoothGrad",
}

#: Where a paper names a method its own way, its experiment's labels override :data:`METHOD_LABELS` (same keys).
PAPER_METHOD_LABELS = {
    "dna_consistency": {"gradients": "saliency", "integrated_gradients": "IG"},  # Majdandzic et al.'s terms
}

#: Display labels of the models, per experiment: experiment → {model name in config/results → label}, in each
#: experiment's display order. (DAPr's Table 1 keeps the paper's own row names: ``dapr.TABLE1_MODELS``.)
MODEL_LABELS = {
    "graph_prior": {
        "lasso": "LASSO",
        "graph_lasso": "Graph LASSO",
        "mlp": "MLP (strict)",
        "mlp_extra": "MLP + extra epochs (strict)",
        "mlp_random_graph": "MLP + random-graph prior (strict)",
        "mlp_graph": "MLP + graph prior (strict)",
        "mlp_paper": "MLP (paper)",
        "mlp_extra_paper": "MLP + extra epochs (paper)",
        "mlp_random_graph_paper": "MLP + random-graph prior (paper)",
        "mlp_graph_paper": "MLP + graph prior (paper)",
        "gcn": "GCN",
    },
    "dapr": {
        "lasso": "LASSO",
        "mlp": "MLP",
        "mlp_l1": "MLP (L1)",
        "mlp_l2": "MLP (L2)",
        "mlp_meta_inputs": "MLP + meta-features as inputs",
        "merge": "MERGE",
        "dapr_noise": "MLP + DAPr (noise meta-features)",
        "dapr_informative": "MLP + DAPr (informative meta-features)",
    },
    "dapr_two_moons": {"mlp": "MLP", "dapr": "MLP + DAPr"},
    # the sparsity experiment's "models" are its penalties (and the unregularized baseline)
    "sparsity_prior": {
        "gini": "sparse attribution prior (−Gini)",
        "l1_eg": "L1 on EG",
        "l2_eg": "L2 on EG",
        "l1_first": "L1 first layer",
        "l1_all": "L1 all layers",
        "sgl": "sparse group lasso",
        "dropout": "dropout",
        "unregularized": "unregularized",
    },
}


def method_label(method: str, experiment: str | None = None) -> str:
    """The display label of attribution ``method`` (in ``experiment``'s paper's terms where it has its own)."""
    own = PAPER_METHOD_LABELS.get(experiment, {}) if experiment else {}
    return own.get(method, METHOD_LABELS.get(method, method))


def model_label(experiment: str, model: str) -> str:
    """The display label of ``model`` in ``experiment`` (the name itself when it has none)."""
    return MODEL_LABELS.get(experiment, {}).get(model, model)


def format_estimate(value: float, spread: float = float("nan"), digits: int = 1) -> str:
    """``"m ± s"`` with ``digits`` decimals, or ``"m"`` alone when ``spread`` is NaN (e.g. one seed)."""
    if np.isnan(spread):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ± {spread:.{digits}f}"


def format_mean_sd(values: Iterable[float], scale: float = 1.0, digits: int = 1, empty: str = "—") -> str:
    """Mean ± sample s.d. (ddof 1) of ``values`` × ``scale`` as ``"m ± s"``, missing values left out; only the
    mean when one value is left, ``empty`` when none is."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[~np.isnan(v)] * scale
    if len(v) == 0:
        return empty
    return format_estimate(v.mean(), v.std(ddof=1) if len(v) > 1 else float("nan"), digits)
