# Input functions and helpers of the `graph_prior` experiment (workflow/rules/graph_prior.smk includes this file).


from attrpriors.experiments.graph_prior import PAPER_FINETUNED as _GP_PAPER_FINETUNED

#: A3: the models of the config, and the `paper` protocol's fine-tuned arms among them (in the library's order).
GP_MODELS = list(config["graph_prior"]["models"])
GP_PAPER_ARMS = [m for m in _GP_PAPER_FINETUNED if m in GP_MODELS]


def graph_prior_split_of(retraining):
    """A3: the patient split of a retraining (split s mod rnaseq.splits.n)."""
    n = config["rnaseq"]["splits"]["n"]
    return f"results/rnaseq/splits/split{int(retraining) % n}.json"


def graph_prior_split(wildcards):
    """A3: the patient split of retraining gp_seed."""
    return graph_prior_split_of(wildcards.gp_seed)


def graph_prior_mlp_params(protocol_model):
    """A3: the MLP block of a protocol: graph_prior.mlp (`mlp`, strict) or graph_prior.paper.mlp (`mlp_paper`)."""
    cfg = config["graph_prior"]
    return cfg["paper"]["mlp"] if protocol_model == "mlp_paper" else cfg["mlp"]


def graph_prior_retraining_files(pattern):
    """A3: ``pattern`` under results/graph_prior/ with {seed} for every retraining."""
    return [
        f"results/graph_prior/{pattern.format(seed=s)}"
        for s in range(config["graph_prior"]["retrainings"])
    ]


def graph_prior_paper_files(pattern):
    """A3: ``pattern`` for every `paper` fine-tuned arm × retraining, in the order graph_prior.select_paper writes."""
    return [
        f"results/graph_prior/{pattern.format(model=m, seed=s)}"
        for m in GP_PAPER_ARMS
        for s in range(config["graph_prior"]["retrainings"])
    ]


def graph_prior_paper_histories():
    """A3: the `paper` MLP's training histories and the fine-tuning histories (none without the protocol)."""
    if "mlp_paper" not in GP_MODELS:
        return []
    out = graph_prior_retraining_files("models/mlp_paper/seed{seed}_history.csv")
    return out + (
        graph_prior_retraining_files("finetune_paper/seed{seed}_history.csv")
        if GP_PAPER_ARMS
        else []
    )


def graph_prior_paper_outputs():
    """A3: the `paper` protocol's figure and table (training length, L1 share, slope, ν, extra epochs)."""
    if "mlp_paper" not in GP_MODELS:
        return []
    figure = report(
        "results/figures/erion_graph_prior_paper_protocol.png",
        caption="../report/erion_graph_prior_paper_protocol.rst",
        category="Erion et al. — graph prior (drug response)",
        labels={
            "figure": "The paper protocol: validation curves before and during fine-tuning"
        },
    )
    return [figure, "results/tables/erion_graph_prior_paper_protocol.csv"]


def graph_prior_model_files(wildcards):
    """A3: every model file of retraining gp_seed (graph_prior_explain)."""
    return [
        f"results/graph_prior/models/{m}/seed{wildcards.gp_seed}.pt" for m in GP_MODELS
    ]


def graph_prior_lasso_metrics(wildcards):
    """A3: the graph LASSO takes the LASSO's α as its L1 strength (paper, supplement 7.3)."""
    if wildcards.gp_net == "graph_lasso":
        return [f"results/graph_prior/metrics/lasso/seed{wildcards.gp_seed}.csv"]
    return []


def graph_prior_mlp_choice(wildcards):
    """A3: the MLP's settings chosen on validation (graph_prior_tune_mlp), per protocol; only the MLPs need them."""
    if wildcards.gp_net in ("mlp", "mlp_paper"):
        return [f"results/graph_prior/tuning/{wildcards.gp_net}_choice.json"]
    return []


def graph_prior_files(pattern, models=None, retrainings=None):
    """A3: ``pattern`` under results/graph_prior/ with {model} and {seed} for every model (or ``models``) and
    retraining (or the first ``retrainings``)."""
    cfg = config["graph_prior"]
    n = (
        cfg["retrainings"]
        if retrainings is None
        else min(int(retrainings), cfg["retrainings"])
    )
    return [
        f"results/graph_prior/{pattern.format(model=m, seed=s)}"
        for m in (cfg["models"] if models is None else models)
        for s in range(n)
    ]


def graph_prior_cross_paper_models():
    """A3 models the cross-paper table scores: every one but the `paper` protocol's arms."""
    return [m for m in GP_MODELS if not m.endswith("_paper")]


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
