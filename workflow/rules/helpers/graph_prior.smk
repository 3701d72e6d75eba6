# Input functions and helpers of the `graph_prior` experiment (workflow/rules/graph_prior.smk includes this file).


def graph_prior_split(wildcards):
    """A3: the patient split of retraining gp_seed (split gp_seed mod rnaseq.splits.n)."""
    n = config["rnaseq"]["splits"]["n"]
    return f"results/rnaseq/splits/split{int(wildcards.gp_seed) % n}.json"


def graph_prior_lasso_metrics(wildcards):
    """A3: the graph LASSO takes the LASSO's α as its L1 strength (paper, supplement 7.3)."""
    if wildcards.gp_net == "graph_lasso":
        return [f"results/graph_prior/metrics/lasso/seed{wildcards.gp_seed}.csv"]
    return []


def graph_prior_mlp_choice(wildcards):
    """A3: the MLP's settings chosen on validation (graph_prior_tune_mlp); only the MLP needs them."""
    if wildcards.gp_net == "mlp":
        return ["results/graph_prior/tuning/mlp_choice.json"]
    return []


def graph_prior_files(pattern):
    """A3: ``pattern`` under results/graph_prior/ with {model} and {seed} for every model and retraining."""
    cfg = config["graph_prior"]
    return [
        f"results/graph_prior/{pattern.format(model=m, seed=s)}"
        for m in cfg["models"]
        for s in range(cfg["retrainings"])
    ]


def graph_prior_sweep_cells():
    """A3 sweep: results/graph_prior/sweep/{loadings}/noise{g}_precision{p}.csv for every loading scenario,
    gene noise and edge precision."""
    sw = config["graph_prior"]["sweep"]
    return [
        f"results/graph_prior/sweep/{s}/noise{g:g}_precision{p:g}.csv"
        for s in sw["loadings"]
        for g in sw["gene_noise"]
        for p in sw["edge_precision"]
    ]


def graph_prior_truth_outputs():
    """A3 on simulated data: truth-recovery figure and table (no ground truth for Beat AML)."""
    if config["rnaseq"]["source"] != "simulated":
        return []
    figure = report(
        "results/figures/erion_graph_prior_truth_recovery.png",
        caption="../report/erion_graph_prior_truth_recovery.rst",
        category="Erion et al. — graph prior (drug response)",
        labels={"figure": "Simulation: driving pathways and genes recovered"},
    )
    return [figure, "results/tables/erion_graph_prior_truth_recovery.csv"]
