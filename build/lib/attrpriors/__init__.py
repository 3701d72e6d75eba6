"""attrpriors: attribution priors (expected gradients, graph / sparsity / pixel / deep attribution priors) and
instruments for how far attributions can be trusted, in PyTorch.

The public API, importable from the package (loaded on first use, so ``import attrpriors`` itself imports
neither torch nor gseapy)::

    from attrpriors import expected_gradients, AttributionPrior, GraphPrior, DAPrPrior, fit, FitConfig, MLP

Submodules: :mod:`attrpriors.attributions` (EG, IG, gradients, SmoothGrad), :mod:`attrpriors.priors` (the
priors and penalties), :mod:`attrpriors.training` (the fit loop), :mod:`attrpriors.models`,
:mod:`attrpriors.stacked` (many small MLPs trained as one), :mod:`attrpriors.evaluation` (benchmark metrics,
randomization sanity checks, ranking stability), :mod:`attrpriors.graph`, :mod:`attrpriors.enrichment`
(GSEA prerank, ORA, offline gene set libraries), :mod:`attrpriors.stats`. The experiments of the four papers
live in :mod:`attrpriors.experiments`; the Snakemake pipeline around them in the repository's ``workflow/``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name → the submodule that defines it
_API = {
    **dict.fromkeys(("attribute", "expected_gradients", "integrated_gradients", "gradients", "input_x_gradient",
                     "smoothgrad", "random_attribution"), "attributions"),
    **dict.fromkeys(("AttributionPrior", "GraphPrior", "DAPrPrior", "MetaWeightPrior", "gini", "weight_l1",
                     "weight_l2", "sparse_group_lasso", "PENALTIES"), "priors"),
    **dict.fromkeys(("fit", "FitConfig", "FitResult", "predict", "select_device"), "training"),
    **dict.fromkeys(("MLP", "build_model", "load_model"), "models"),
    **dict.fromkeys(("StackedMLP", "train_stacked", "stacked_expected_gradients"), "stacked"),
    **dict.fromkeys(("benchmark_metrics", "feature_agreement", "prediction_gaps", "randomization_sanity",
                     "cascading_randomization", "ranking_stability"), "evaluation"),
    **dict.fromkeys(("edge_list", "laplacian", "quadratic_form"), "graph"),
    **dict.fromkeys(("gsea_prerank", "ora", "load_gene_sets", "read_gmt"), "enrichment"),
    **dict.fromkeys(("auroc", "r2", "zscore"), "stats"),
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str) -> Any:
    try:
        module = _API[name]
    except KeyError:
        raise AttributeError(f"module 'attrpriors' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
