# Input functions and helpers of the `sparsity_prior` experiment (workflow/rules/sparsity_prior.smk includes this file).


def sparsity_training(dataset, small=False):
    """A4: the sweep's (or the small-data) training settings with the cohort's own overrides on top."""
    cfg = config["sparsity_prior"]
    base = cfg["small_data"]["training"] if small else cfg["training"]
    key = "small_data_training" if small else "training"
    return {**base, **cfg["cohorts"][dataset].get(key, {})}
