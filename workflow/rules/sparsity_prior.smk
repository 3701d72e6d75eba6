# A4 — sparsity attribution prior (Erion et al. Fig. 3; supplement Figs. 13–14).
# Logic: src/attrpriors/experiments/sparsity_prior.py. One training job per (penalty, strength) of the sweep (its
# seeds inside), one per small-data subsample (all model types, tuning + restarts inside).
# sparsity_prior.data.source: bundled = scikit-learn's breast cancer table (offline); download = NHANES I (shap's
# CSVs) into resources/nhanes/ through attrpriors.data.download (registry names nhanes_i_X, nhanes_i_y).
SP = f"{RESULTS}/sparsity_prior"
SP_CFG = config["sparsity_prior"]
SP_GRIDS = {
    p: ([0.0] if p == "unregularized" else strength_grid(spec))
    for p, spec in SP_CFG["penalties"].items()
}
SP_RUNS = [f"{p}_{i}" for p, grid in SP_GRIDS.items() for i in range(len(grid))]
SP_SMALL_GRIDS = {
    p: strength_grid(SP_CFG["penalties"][p], num=SP_CFG["small_data"]["grid_points"])
    for p in SP_CFG["small_data"]["penalties"]
    if p != "unregularized"
}


rule download_nhanes:
    output:
        "resources/nhanes/NHANESI_X.csv",
        "resources/nhanes/NHANESI_y.csv",
    log:
        f"{LOGS}/download_nhanes.log",
    localrule: True
    conda:
        "../../envs/torch.yaml"
    threads: 1
    script:
        "../scripts/download_nhanes.py"


rule sparsity_prior_data:
    input:
        nhanes=(
            rules.download_nhanes.output
            if SP_CFG["data"]["source"] == "download"
            else []
        ),
    output:
        f"{SP}/data.npz",
    log:
        f"{LOGS}/sparsity_prior_data.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        source=SP_CFG["data"]["source"],
        data=SP_CFG["data"],
        seed=config["seed"],
    script:
        "../scripts/sparsity_prior_data.py"


rule train_sparsity_prior_mlp:
    input:
        data=rules.sparsity_prior_data.output[0],
    output:
        metrics=f"{SP}/sweep/{{penalty}}_{{sidx}}.csv",
        phibar=f"{SP}/attributions/{{penalty}}_{{sidx}}.npz",
    log:
        f"{LOGS}/train_sparsity_prior_mlp/{{penalty}}_{{sidx}}.log",
    benchmark:
        f"{BENCH}/train_sparsity_prior_mlp/{{penalty}}_{{sidx}}.tsv"
    wildcard_constraints:
        penalty="|".join(SP_GRIDS),
        sidx=r"\d+",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        **train_resources(),
    params:
        strength=lambda wc: SP_GRIDS[wc.penalty][int(wc.sidx)],
        seeds=lambda wc: SP_CFG["penalties"][wc.penalty].get("seeds", 1),
        model=SP_CFG["model"],
        training={**SP_CFG["training"], "progress": config["progress"]},
        n_references=SP_CFG["n_references"],
        eval_references=SP_CFG["eval_references"],
        retries=SP_CFG["retries"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/train_sparsity_prior_mlp.py"


rule sparsity_prior_summary:
    input:
        expand(f"{SP}/sweep/{{run}}.csv", run=SP_RUNS),
    output:
        metrics=f"{SP}/metrics.csv",
        selection=f"{SP}/selection.json",
        failed_csv="results/tables/erion_sparsity_failed_runs.csv",
        failed_md=report(
            "results/tables/erion_sparsity_failed_runs.md",
            caption="../report/erion_sparsity_failed_runs.rst",
            category="Erion et al. — sparsity prior",
            labels={"table": "NaN runs: retried / skipped"},
        ),
        best_csv="results/tables/erion_fig3_sparsity_best_models.csv",
        best_md=report(
            "results/tables/erion_fig3_sparsity_best_models.md",
            caption="../report/erion_fig3_sparsity_best_models.rst",
            category="Erion et al. — sparsity prior",
            labels={"table": "Fig. 3: Gini at comparable ROC-AUC"},
        ),
    log:
        f"{LOGS}/sparsity_prior_summary.log",
    localrule: True
    conda:
        "../../envs/torch.yaml"
    threads: 1
    params:
        auc_tolerance=SP_CFG["auc_tolerance"],
    script:
        "../scripts/sparsity_prior_summary.py"


rule figure_sparsity_gini_auc:
    input:
        metrics=rules.sparsity_prior_summary.output.metrics,
        selection=rules.sparsity_prior_summary.output.selection,
    output:
        report(
            "results/figures/erion_fig3_supfig14_sparsity_gini_vs_auc.png",
            caption="../report/erion_fig3_supfig14_sparsity_gini_vs_auc.rst",
            category="Erion et al. — sparsity prior",
            labels={"figure": "Fig. 3 (top left) / supp. Fig. 14: Gini vs ROC-AUC"},
        ),
    log:
        f"{LOGS}/figure_sparsity_gini_auc.log",
    localrule: True
    conda:
        "../../envs/torch.yaml"
    threads: 1
    script:
        "../scripts/figure_sparsity_gini_auc.py"


rule figure_sparsity_lorenz:
    input:
        phibar=expand(f"{SP}/attributions/{{run}}.npz", run=SP_RUNS),
        selection=rules.sparsity_prior_summary.output.selection,
    output:
        report(
            "results/figures/erion_fig3_sparsity_lorenz.png",
            caption="../report/erion_fig3_sparsity_lorenz.rst",
            category="Erion et al. — sparsity prior",
            labels={"figure": "Fig. 3 (top right): Lorenz curves"},
        ),
    log:
        f"{LOGS}/figure_sparsity_lorenz.log",
    localrule: True
    conda:
        "../../envs/torch.yaml"
    threads: 1
    script:
        "../scripts/figure_sparsity_lorenz.py"


rule figure_sparsity_sweep:
    input:
        metrics=rules.sparsity_prior_summary.output.metrics,
    output:
        report(
            "results/figures/erion_supfig13_sparsity_sweep.png",
            caption="../report/erion_supfig13_sparsity_sweep.rst",
            category="Erion et al. — sparsity prior",
            labels={"figure": "Supp. Fig. 13: loss and Gini vs strength"},
        ),
    log:
        f"{LOGS}/figure_sparsity_sweep.log",
    localrule: True
    conda:
        "../../envs/torch.yaml"
    threads: 1
    script:
        "../scripts/figure_sparsity_sweep.py"


rule sparsity_small_data:
    input:
        data=rules.sparsity_prior_data.output[0],
    output:
        f"{SP}/small_data/subsample{{subsample}}.csv",
    log:
        f"{LOGS}/sparsity_small_data/subsample{{subsample}}.log",
    benchmark:
        f"{BENCH}/sparsity_small_data/subsample{{subsample}}.tsv"
    wildcard_constraints:
        subsample=r"\d+",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        **train_resources(),
    params:
        small_data=SP_CFG["small_data"],
        grids=SP_SMALL_GRIDS,
        model=SP_CFG["model"],
        training={**SP_CFG["small_data"]["training"], "progress": config["progress"]},
        n_references=SP_CFG["n_references"],
        eval_references=SP_CFG["eval_references"],
        retries=SP_CFG["retries"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/sparsity_small_data.py"


rule sparsity_small_data_summary:
    input:
        expand(
            f"{SP}/small_data/subsample{{i}}.csv",
            i=range(SP_CFG["small_data"]["n_subsamples"]),
        ),
    output:
        metrics=f"{SP}/small_data_metrics.csv",
        csv="results/tables/erion_fig3_sparsity_small_data_ttests.csv",
        md=report(
            "results/tables/erion_fig3_sparsity_small_data_ttests.md",
            caption="../report/erion_fig3_sparsity_small_data.rst",
            category="Erion et al. — sparsity prior",
            labels={"table": "Fig. 3 (bottom): paired t-tests"},
        ),
        png=report(
            "results/figures/erion_fig3_sparsity_small_data.png",
            caption="../report/erion_fig3_sparsity_small_data.rst",
            category="Erion et al. — sparsity prior",
            labels={"figure": "Fig. 3 (bottom): small-data ROC-AUC"},
        ),
    log:
        f"{LOGS}/sparsity_small_data_summary.log",
    localrule: True
    conda:
        "../../envs/torch.yaml"
    threads: 1
    params:
        reference=SP_CFG["small_data"]["penalties"][0],
    script:
        "../scripts/sparsity_small_data_summary.py"
