# Input functions and helpers of the `ig_limits` experiment (workflow/rules/ig_limits.smk includes this file).


def ig_limits_datasets():
    """D (arXiv 2303.11336): SIMU settings when ig_limits.source is simulated|both, TCGA when download|both."""
    cfg = config["ig_limits"]
    out = list(cfg["settings"]) if cfg["source"] in ("simulated", "both") else []
    return out + (["TCGA"] if cfg["source"] in ("download", "both") else [])


def ig_limits_run_keys():
    """D: [model, seed] of every retraining of one dataset."""
    cfg = config["ig_limits"]
    return [[m, s] for m in cfg["models"] for s in range(cfg["seeds"])]


def ig_limits_runs(pattern):
    """D: ``pattern`` with {model} and {seed} filled for every retraining of one dataset."""
    return [pattern.format(model=m, seed=s) for m, s in ig_limits_run_keys()]


def ig_limits_all_runs(pattern):
    """D: ``pattern`` with {dataset}, {model} and {seed} filled for every dataset and retraining."""
    return [
        pattern.format(dataset=d, model=m, seed=s)
        for d in ig_limits_datasets()
        for m, s in ig_limits_run_keys()
    ]
