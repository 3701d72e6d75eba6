# Input functions and helpers of the `dna_consistency` experiment (workflow/rules/dna_consistency.smk includes this file).


def dna_consistency_models():
    """Model variant names of the population: activation × first-layer batch norm × regularizer."""
    pop = config["dna_consistency"]["population"]
    return [
        f"{a}_{'bn' if b else 'nobn'}_{r}"
        for a in pop["activations"]
        for b in pop["batch_norm"]
        for r in pop["regularizers"]
    ]


def dna_consistency_files(pattern, methods=False):
    """``pattern`` expanded over every (model, trial) of the population (and attribution method if asked)."""
    cfg = config["dna_consistency"]
    extra = {"method": cfg["attribution"]["methods"]} if methods else {}
    return expand(
        pattern,
        model=dna_consistency_models(),
        trial=range(cfg["population"]["trials"]),
        **extra,
    )


def dna_consistency_archive():
    """Where the downloaded archive of the paper's data goes (source: download)."""
    return f"resources/dna_consistency/{config['dna_consistency']['data']['download']['registry']}.zip"


def dna_consistency_data_input():
    """The data rule reads the archive only when the source is the download."""
    src = config["dna_consistency"]["data"]["source"]
    return [dna_consistency_archive()] if src == "download" else []
