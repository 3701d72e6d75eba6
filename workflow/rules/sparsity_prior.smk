# A4 — sparsity attribution prior (Erion et al. Fig. 3; supplement Figs. 13–14), one set of outputs per dataset.
# Logic: src/attrpriors/experiments/sparsity_prior.py (models trained many at a time: attrpriors.stacked).
# One training job per (dataset, penalty) of the sweep (all its strengths and seeds in one stack), one per block of
# small-data subsamples. sparsity_prior.datasets lists the cohorts to run; sparsity_prior.cohorts.<name>.source:
# bundled = scikit-learn's breast cancer table or scikit-survival's FLCHAIN (offline); simulated = a synthetic
# cohort (the small-data claim's controls); download = NHANES I (shap's CSVs) into resources/nhanes/.
SP = f"{RESULTS}/sparsity_prior"
SP_CFG = config["sparsity_prior"]
SP_DATASETS = list(
    SP_CFG["datasets"]
)  # each has a cohort spec (attrpriors.config_check)
SP_GRIDS = {
    p: ([0.0] if p == "unregularized" else strength_grid(SP_CFG["penalties"][p]))
    for p in SP_CFG["sweep_penalties"]
}
SP_SMALL_GRIDS = {
    p: strength_grid(SP_CFG["penalties"][p], num=SP_CFG["small_data"]["grid_points"])
    for p in SP_CFG["small_data"]["penalties"]
    if p != "unregularized"
}
_sp_per_job = SP_CFG["small_data"].get("subsamples_per_job", 1)
SP_BLOCKS = [
    list(range(i, min(i + _sp_per_job, SP_CFG["small_data"]["n_subsamples"])))
    for i in range(0, SP_CFG["small_data"]["n_subsamples"], _sp_per_job)
]


include: "helpers/sparsity_prior.smk"


rule sparsity_prior_download_nhanes:
    output:
        "resources/nhanes/NHANESI_X.csv",
        "resources/nhanes/NHANESI_y.csv",
    log:
        f"{LOGS}/sparsity_prior_download_nhanes.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/sparsity_prior_download_nhanes.py"


rule sparsity_prior_data:
    input:
        nhanes=lambda wc: (
            rules.sparsity_prior_download_nhanes.output
            if SP_CFG["cohorts"][wc.sp_dataset]["source"] == "download"
            else []
        ),
    output:
        f"{SP}/{{sp_dataset}}/data.npz",
    log:
        f"{LOGS}/sparsity_prior_data/{{sp_dataset}}.log",
    wildcard_constraints:
        sp_dataset="|".join(SP_DATASETS),
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=lambda wc: SP_CFG["cohorts"][wc.sp_dataset],
        split=SP_CFG["split"],
        seed=config["seed"],
    script:
        "../scripts/sparsity_prior_data.py"


rule sparsity_prior_train_mlp:
    input:
        data=f"{SP}/{{sp_dataset}}/data.npz",
    output:
        metrics=f"{SP}/{{sp_dataset}}/sweep/{{sp_penalty}}.csv",
        phibar=f"{SP}/{{sp_dataset}}/attributions/{{sp_penalty}}.npz",
    log:
        f"{LOGS}/sparsity_prior_train_mlp/{{sp_dataset}}/{{sp_penalty}}.log",
    benchmark:
        f"{BENCH}/sparsity_prior_train_mlp/{{sp_dataset}}/{{sp_penalty}}.tsv"
    wildcard_constraints:
        sp_dataset="|".join(SP_DATASETS),
        sp_penalty="|".join(SP_GRIDS),
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        strengths=lambda wc: SP_GRIDS[wc.sp_penalty],
        seeds=lambda wc: SP_CFG["penalties"][wc.sp_penalty].get("seeds", 1),
        model=SP_CFG["model"],
        training=lambda wc: sparsity_training(wc.sp_dataset),
        n_references=SP_CFG["n_references"],
        eval_references=SP_CFG["eval_references"],
        retries=SP_CFG["retries"],
        seed=config["seed"],
    script:
        "../scripts/sparsity_prior_train_mlp.py"


rule sparsity_prior_summary:
    input:
        expand(f"{SP}/{{{{sp_dataset}}}}/sweep/{{sp_penalty}}.csv", sp_penalty=SP_GRIDS),
    output:
        metrics=f"{SP}/{{sp_dataset}}/metrics.csv",
        selection=f"{SP}/{{sp_dataset}}/selection.json",
        failed_csv="results/tables/erion_sparsity_failed_runs_{sp_dataset}.csv",
        failed_md=report(
            "results/tables/erion_sparsity_failed_runs_{sp_dataset}.md",
            caption="../report/erion_sparsity_failed_runs.rst",
            category="Erion et al. — sparsity prior",
            labels={"table": "NaN runs: retried / skipped", "dataset": "{sp_dataset}"},
        ),
        best_csv="results/tables/erion_fig3_sparsity_best_models_{sp_dataset}.csv",
        best_md=report(
            "results/tables/erion_fig3_sparsity_best_models_{sp_dataset}.md",
            caption="../report/erion_fig3_sparsity_best_models.rst",
            category="Erion et al. — sparsity prior",
            labels={
                "table": "Fig. 3: Gini at comparable ROC-AUC",
                "dataset": "{sp_dataset}",
            },
        ),
    log:
        f"{LOGS}/sparsity_prior_summary/{{sp_dataset}}.log",
    wildcard_constraints:
        sp_dataset="|".join(SP_DATASETS),
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        auc_tolerance=SP_CFG["auc_tolerance"],
    script:
        "../scripts/sparsity_prior_summary.py"


rule sparsity_prior_figure_gini_auc:
    input:
        metrics=rules.sparsity_prior_summary.output.metrics,
        selection=rules.sparsity_prior_summary.output.selection,
    output:
        report(
            "results/figures/erion_fig3_supfig14_sparsity_gini_vs_auc_{sp_dataset}.png",
            caption="../report/erion_fig3_supfig14_sparsity_gini_vs_auc.rst",
            category="Erion et al. — sparsity prior",
            labels={
                "figure": "Fig. 3 (top left) / supp. Fig. 14: Gini vs ROC-AUC",
                "dataset": "{sp_dataset}",
            },
        ),
    log:
        f"{LOGS}/sparsity_prior_figure_gini_auc/{{sp_dataset}}.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/sparsity_prior_figure_gini_auc.py"


rule sparsity_prior_figure_lorenz:
    input:
        phibar=expand(
            f"{SP}/{{{{sp_dataset}}}}/attributions/{{sp_penalty}}.npz",
            sp_penalty=SP_GRIDS,
        ),
        selection=rules.sparsity_prior_summary.output.selection,
    output:
        report(
            "results/figures/erion_fig3_sparsity_lorenz_{sp_dataset}.png",
            caption="../report/erion_fig3_sparsity_lorenz.rst",
            category="Erion et al. — sparsity prior",
            labels={
                "figure": "Fig. 3 (top right): Lorenz curves",
                "dataset": "{sp_dataset}",
            },
        ),
    log:
        f"{LOGS}/sparsity_prior_figure_lorenz/{{sp_dataset}}.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/sparsity_prior_figure_lorenz.py"


rule sparsity_prior_figure_sweep:
    input:
        metrics=rules.sparsity_prior_summary.output.metrics,
    output:
        report(
            "results/figures/erion_supfig13_sparsity_sweep_{sp_dataset}.png",
            caption="../report/erion_supfig13_sparsity_sweep.rst",
            category="Erion et al. — sparsity prior",
            labels={
                "figure": "Supp. Fig. 13: loss and Gini vs strength",
                "dataset": "{sp_dataset}",
            },
        ),
    log:
        f"{LOGS}/sparsity_prior_figure_sweep/{{sp_dataset}}.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/sparsity_prior_figure_sweep.py"


rule sparsity_prior_small_data:
    input:
        data=f"{SP}/{{sp_dataset}}/data.npz",
    output:
        f"{SP}/{{sp_dataset}}/small_data/block{{sp_block}}.csv",
    log:
        f"{LOGS}/sparsity_prior_small_data/{{sp_dataset}}/block{{sp_block}}.log",
    benchmark:
        f"{BENCH}/sparsity_prior_small_data/{{sp_dataset}}/block{{sp_block}}.tsv"
    wildcard_constraints:
        sp_dataset="|".join(SP_DATASETS),
        sp_block=r"\d+",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        subsamples=lambda wc: SP_BLOCKS[int(wc.sp_block)],
        small_data=SP_CFG["small_data"],
        grids=SP_SMALL_GRIDS,
        model=SP_CFG["model"],
        training=lambda wc: sparsity_training(wc.sp_dataset, small=True),
        n_references=SP_CFG["n_references"],
        eval_references=SP_CFG["small_data"]["eval_references"],
        retries=SP_CFG["retries"],
        seed=config["seed"],
    script:
        "../scripts/sparsity_prior_small_data.py"


rule sparsity_prior_small_data_summary:
    input:
        expand(
            f"{SP}/{{{{sp_dataset}}}}/small_data/block{{i}}.csv",
            i=range(len(SP_BLOCKS)),
        ),
    output:
        metrics=f"{SP}/{{sp_dataset}}/small_data_metrics.csv",
        csv="results/tables/erion_fig3_sparsity_small_data_ttests_{sp_dataset}.csv",
        md=report(
            "results/tables/erion_fig3_sparsity_small_data_ttests_{sp_dataset}.md",
            caption="../report/erion_fig3_sparsity_small_data.rst",
            category="Erion et al. — sparsity prior",
            labels={
                "table": "Fig. 3 (bottom): paired t-tests",
                "dataset": "{sp_dataset}",
            },
        ),
        png=report(
            "results/figures/erion_fig3_sparsity_small_data_{sp_dataset}.png",
            caption="../report/erion_fig3_sparsity_small_data.rst",
            category="Erion et al. — sparsity prior",
            labels={
                "figure": "Fig. 3 (bottom): small-data ROC-AUC",
                "dataset": "{sp_dataset}",
            },
        ),
    log:
        f"{LOGS}/sparsity_prior_small_data_summary/{{sp_dataset}}.log",
    wildcard_constraints:
        sp_dataset="|".join(SP_DATASETS),
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        reference=SP_CFG["small_data"]["penalties"][0],
    script:
        "../scripts/sparsity_prior_small_data_summary.py"


# every cohort: the small-data t-tests and figure; cohorts with a sweep (cohorts.<name>.sweep, default true) also the
# Gini/ROC-AUC, Lorenz and sweep figures and the best-model and failed-run tables
final(rules.sparsity_prior_small_data_summary, sp_dataset=SP_DATASETS)
final(
    rules.sparsity_prior_summary.output.failed_csv,
    rules.sparsity_prior_summary.output.failed_md,
    rules.sparsity_prior_summary.output.best_csv,
    rules.sparsity_prior_summary.output.best_md,
    rules.sparsity_prior_figure_gini_auc,
    rules.sparsity_prior_figure_lorenz,
    rules.sparsity_prior_figure_sweep,
    sp_dataset=[d for d in SP_DATASETS if SP_CFG["cohorts"][d].get("sweep", True)],
)
