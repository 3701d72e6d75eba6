# Shared helpers: config validation, output lists, resources.
# (Each script puts ../../src on sys.path first, so the library needs no install, also in conda envs.)
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from attrpriors.config_check import ConfigError, check_config

# every config check (schema + cross-key) lives in attrpriors.config_check; errors are a few lines, no schema dump
try:
    check_config(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
except ConfigError as err:
    raise WorkflowError(str(err)) from None

# a run killed with SIGKILL leaves .snakemake/locks behind: remove them when no other run is active here
if workflow.is_main_process:
    from snakemake.logging import logger
    from attrpriors.workflow import release_stale_locks

    if release_stale_locks("."):
        logger.warning(
            f"Removed the lock left by a killed run in {Path.cwd()}/.snakemake/locks "
            "(no other run of this workflow is active here); resuming."
        )

RESULTS = "results"
LOGS = "results/logs"
BENCH = "results/timings"


def train_resources(mem_mb=2000, runtime=60):
    """Resources of a training rule: a GPU only when config asks for one."""
    res = {"mem_mb": mem_mb, "runtime": runtime, "cpus_per_task": 2}
    if config["use_gpu"]:
        res["gpu"] = 1
    return res


def benchmark_outputs():
    """A1: Table 1 per dataset (csv, md, heatmap) and the EG convergence figure."""
    return expand(
        [
            "results/tables/erion_table1_benchmark_{dataset}.csv",
            "results/tables/erion_table1_benchmark_{dataset}.md",
            "results/figures/erion_table1_benchmark_{dataset}.png",
        ],
        dataset=config["benchmark"]["datasets"],
    ) + [
        "results/figures/erion_supfig1_eg_convergence.png",
        "results/figures/erion_benchmark_randomization.png",
    ]


def strength_grid(spec, baseline=False, num=None):
    """Regularisation strengths of a sweep spec {scale: log|linear, min, max, num}; [0.0] + grid if baseline.

    log: num values log-spaced from min to max (inclusive); linear: evenly spaced. num overrides spec["num"].
    """
    import math

    n = int(num if num is not None else spec["num"])
    lo, hi = float(spec["min"]), float(spec["max"])
    if spec.get("scale", "log") == "log":
        a, b = math.log10(lo), math.log10(hi)
        grid = [10 ** (a + (b - a) * i / (n - 1)) if n > 1 else lo for i in range(n)]
    else:
        grid = [lo + (hi - lo) * i / (n - 1) if n > 1 else lo for i in range(n)]
    return ([0.0] if baseline else []) + grid


def pixel_prior_outputs():
    """A2 (Erion et al. Fig. 1, supp. Figs. 3-5): per-λ summary table and the four figures."""
    return [
        "results/tables/erion_fig1_pixel_prior_summary.csv",
        "results/tables/erion_fig1_pixel_prior_summary.md",
        "results/figures/erion_fig1_pixel_prior_tv_error.png",
        "results/figures/erion_fig1_pixel_prior_attribution_maps.png",
        "results/figures/erion_supfig3_4_pixel_prior_all_classes.png",
        "results/figures/erion_fig1_supfig5_pixel_prior_noise.png",
    ]


def sparsity_prior_outputs():
    """A4 (Erion et al. Fig. 3, supp. Figs. 13-14), per dataset: small-data t-tests and figure; for datasets
    with a sweep also the Gini/ROC-AUC, Lorenz and sweep figures, best-model and failed-run tables.
    """
    cfg = config["sparsity_prior"]
    out = []
    for d in cfg["datasets"]:
        spec = cfg["cohorts"][d]
        out += [
            f"results/figures/erion_fig3_sparsity_small_data_{d}.png",
            f"results/tables/erion_fig3_sparsity_small_data_ttests_{d}.csv",
            f"results/tables/erion_fig3_sparsity_small_data_ttests_{d}.md",
        ]
        if spec.get("sweep", True):
            out += [
                f"results/figures/erion_fig3_supfig14_sparsity_gini_vs_auc_{d}.png",
                f"results/figures/erion_fig3_sparsity_lorenz_{d}.png",
                f"results/figures/erion_supfig13_sparsity_sweep_{d}.png",
                f"results/tables/erion_fig3_sparsity_best_models_{d}.csv",
                f"results/tables/erion_fig3_sparsity_best_models_{d}.md",
                f"results/tables/erion_sparsity_failed_runs_{d}.csv",
                f"results/tables/erion_sparsity_failed_runs_{d}.md",
            ]
    return out


def sparsity_training(dataset, small=False):
    """A4: the sweep's (or the small-data) training settings with the cohort's own overrides on top."""
    cfg = config["sparsity_prior"]
    base = cfg["small_data"]["training"] if small else cfg["training"]
    key = "small_data_training" if small else "training"
    return {**base, **cfg["cohorts"][dataset].get(key, {})}


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


def ig_limits_outputs():
    """D (arXiv 2303.11336): feature agreement, prediction gaps, IG steps and top-k overlap tables; figures."""
    tables = [
        "ig_limits_table_feature_agreement",
        "ig_limits_table_prediction_gaps",
        "ig_limits_table_ig_steps",
        "ig_limits_table_topk_overlap",
    ]
    return [f"results/tables/{t}.{ext}" for t in tables for ext in ("csv", "md")] + [
        "results/figures/ig_limits_fig_feature_agreement.png",
        "results/figures/ig_limits_fig_topk_accuracy.png",
        "results/figures/ig_limits_fig_topk_overlap.png",
    ]


def dapr_outputs():
    """B (Weinberger et al. Fig. 2, Table 1, Figs. 3-4): two-moons figure, Table 1, prior explanation, pathways."""
    t1 = config["dapr"]["table1"]
    out = [
        "results/figures/weinberger_fig2_two_moons_accuracy.png",
        "results/tables/weinberger_fig2_two_moons_accuracy.csv",
        "results/tables/weinberger_table1_mse.csv",
        "results/tables/weinberger_table1_mse.md",
        "results/tables/weinberger_table1_paired_tests.csv",
        "results/tables/weinberger_table1_paired_tests.md",
    ]
    if {"dapr_informative", "dapr_noise"} <= set(t1["models"]):
        out += expand(
            [
                "results/figures/weinberger_fig3_prior_explanation_{ds}.png",
                "results/tables/weinberger_fig3_prior_contributions_{ds}.csv",
                "results/tables/weinberger_fig3_prior_importance_{ds}.csv",
                "results/figures/weinberger_fig4_prior_pathways_{ds}.png",
                "results/tables/weinberger_fig4_prior_pathways_{ds}.md",
                "results/tables/weinberger_fig4_prior_pathway_counts_{ds}.csv",
            ],
            ds=t1["datasets"][
                :1
            ],  # Figs. 3-4 explain the prior: the first data set's (linear response)
        )
    return out


def rnaseq_data_files():
    """Files of results/rnaseq/data/ (see rnaseq.smk): every source's, plus the simulation's ground truth."""
    core = [
        "counts.npz",
        "genes.tsv",
        "samples.tsv",
        "response.tsv",
        "graph_edges.tsv",
        "random_graph_edges.tsv",
        "truth.json",
    ]
    truth = [
        "pathways.tsv",
        "drug_pathways.tsv",
        "meta_features.tsv",
        "pathway_expression.tsv",
    ]
    return core + (truth if config["rnaseq"]["source"] == "simulated" else [])


def rnaseq_outputs():
    """Issue 3 data layer: preprocessed matrix and step table, patient splits, gene sets, pasilla ComBat figure."""
    return (
        [
            "results/rnaseq/preprocessed/expression.npz",
            "results/tables/rnaseq_preprocessing_steps.csv",
            "results/rnaseq/gene_sets/KEGG.gmt",
            "results/figures/rnaseq_pasilla_combat_pca.png",
            "results/tables/rnaseq_pasilla_combat_pca.csv",
        ]
        + (
            [
                "results/figures/rnaseq_simulator_vs_real.png",
                "results/tables/rnaseq_simulator_vs_real.csv",
                "results/tables/rnaseq_simulator_vs_real.md",
            ]
            if config["rnaseq"]["source"] == "simulated"
            else []
        )
        + [
            f"results/rnaseq/splits/split{i}.json"
            for i in range(config["rnaseq"]["splits"]["n"])
        ]
    )


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
    """A3 sweep: results/graph_prior/sweep/noise{g}_precision{p}.csv for every (gene noise, edge precision)."""
    sw = config["graph_prior"]["sweep"]
    return [
        f"results/graph_prior/sweep/noise{g:g}_precision{p:g}.csv"
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


def graph_prior_outputs():
    """A3 (Erion et al. Fig. 2, supp. Figs. 10-12): R² figure, t-tests, graph penalty, GSEA tables, attributions."""
    out = [
        "results/tables/erion_fig2_graph_prior_metrics.csv",
        "results/tables/erion_fig2_graph_prior_ttests.csv",
        "results/tables/erion_fig2_graph_prior_ttests.md",
        "results/figures/erion_fig2_graph_prior_r2.png",
        "results/graph_prior/attributions/mean_abs_eg.csv",
        "results/figures/erion_supfig12_graph_penalty.png",
        "results/tables/erion_supfig12_graph_penalty.csv",
        "results/tables/erion_supfig11_top_pathways.csv",
        "results/tables/erion_supfig11_top_pathways.md",
        "results/figures/erion_graph_prior_when_it_helps.png",
        "results/tables/erion_graph_prior_when_it_helps.csv",
        "results/tables/erion_graph_prior_when_it_helps.md",
    ]
    if config["rnaseq"]["source"] == "simulated":
        out += [
            "results/figures/erion_graph_prior_truth_recovery.png",
            "results/tables/erion_graph_prior_truth_recovery.csv",
        ]
    return out


# --- C. DNA attribution consistency (Majdandzic et al.; workflow/rules/dna_consistency.smk) -----------------
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


def dna_consistency_outputs():
    """C: model selection table, population summary, consistency/generalization vs SNR, attribution logos,
    training curves."""
    return [
        "results/tables/majdandzic_model_selection.csv",
        "results/tables/majdandzic_model_selection.md",
        "results/tables/majdandzic_population_summary.csv",
        "results/tables/majdandzic_population_summary.md",
        "results/figures/majdandzic_consistency_vs_snr.png",
        "results/figures/majdandzic_generalization_vs_snr.png",
        "results/figures/majdandzic_logos_most_vs_least_consistent.png",
        "results/figures/majdandzic_training_curves.png",
    ]


def dapr_table1_inputs(wildcards):
    """Raw files of a DAPr Table 1 dataset: the simulator's calibration for simulated, none for local sources;
    Beat AML + MERGE for download."""
    source = config["dapr"]["table1"][wildcards.da_table]["source"]
    if source == "simulated":
        return {"calibration": f"{RESULTS}/rnaseq/calibration.json"}
    if source != "download":
        return {}
    return {
        "expression": "resources/rnaseq/beataml_expression",
        "drug_response": "resources/rnaseq/beataml_drug_response",
        "merge_features": "resources/dapr/merge_features.csv",
    }


def dapr_prior(kind):
    """Input function: the prior checkpoint (every split) of one DAPr row of Table 1 for the dataset wildcard."""
    return lambda wc: f"{RESULTS}/dapr/table1/priors/{wc.da_table}/{kind}.pt"


def rnaseq_source_inputs(wildcards):
    """Raw files of the RNA-seq data set: the calibration for the simulation; the registry downloads for Beat AML."""
    if config["rnaseq"]["source"] != "download":
        return {"calibration": f"{RESULTS}/rnaseq/calibration.json"}
    dl = config["rnaseq"]["download"]
    keys = {
        "counts": "counts",
        "drug_response": "drug_response",
        "clinical": "clinical",
        "network": "network",
        "gtf": "gene_annotation",
        "hgnc": "id_map",
    }
    return {k: f"resources/rnaseq/{dl[v]}" for k, v in keys.items()}
