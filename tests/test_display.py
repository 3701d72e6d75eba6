import numpy as np
import pandas as pd

from attrpriors.display import MODEL_LABELS, format_estimate, format_mean_sd, model_label


def test_format_mean_sd():
    assert format_mean_sd([0.5, 0.7], 100) == "60.0 ± 14.1"  # sample s.d. (ddof 1)
    assert format_mean_sd(pd.Series([0.25, np.nan]), 100, 0) == "25"  # one value left: the mean alone
    assert format_mean_sd([np.nan]) == "—" and format_mean_sd([], empty="n/a") == "n/a"
    assert format_mean_sd([1.0, 2.0, 3.0], digits=2) == "2.00 ± 1.00"


def test_format_estimate_and_labels():
    assert format_estimate(0.1234, 0.01, 3) == "0.123 ± 0.010"
    assert format_estimate(0.5, float("nan"), 2) == "0.50"
    assert model_label("graph_prior", "mlp_graph") == "MLP + graph prior (strict)"
    assert model_label("graph_prior", "unknown_model") == "unknown_model"
    assert all(isinstance(v, str) for labels in MODEL_LABELS.values() for v in labels.values())


def test_paper_method_labels_override_only_known_methods():
    from attrpriors.display import METHOD_LABELS, PAPER_METHOD_LABELS, method_label

    for experiment, labels in PAPER_METHOD_LABELS.items():
        assert set(labels) <= set(METHOD_LABELS), experiment
    assert method_label("gradients", "dna_consistency") == "saliency"  # Majdandzic et al.'s term
    assert method_label("smoothgrad", "dna_consistency") == METHOD_LABELS["smoothgrad"]
    assert method_label("gradients") == METHOD_LABELS["gradients"]
    assert method_label("not_a_method") == "not_a_method"


def test_sparsity_penalties_have_labels():
    from attrpriors.display import MODEL_LABELS
    from attrpriors.experiments.sparsity_prior import PENALTIES

    assert set(MODEL_LABELS["sparsity_prior"]) == set(PENALTIES)
