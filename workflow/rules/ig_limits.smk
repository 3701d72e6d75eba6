# D — Limits of integrated gradients for gene expression (arXiv 2303.11336): SIMU1/SIMU2 (and TCGA PanCanAtlas
# with ig_limits.source: download|both), LR and MLP, IG with completeness-checked steps, feature agreement,
# prediction gaps, top-k curves and top-k overlap across seeds. Logic: src/attrpriors/experiments/ig_limits.py.
# Its input functions (datasets, retrainings) live in helpers/ig_limits.smk.
IGL = f"{RESULTS}/ig_limits"
IGL_CFG = config["ig_limits"]


include: "helpers/ig_limits.smk"


wildcard_constraints:
    igl_dataset="SIMU1|SIMU2|TCGA",
    igl_model="LR|MLP",
    igl_seed=r"\d+",


rule ig_limits_simulate:
    output:
        f"{IGL}/data/{{igl_dataset}}.npz",
    log:
        f"{LOGS}/ig_limits_simulate/{{igl_dataset}}.log",
    wildcard_constraints:
        igl_dataset="SIMU1|SIMU2",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        simulation=IGL_CFG["simulation"],
        split=IGL_CFG["split"],
        seed=config["seed"],
    script:
        "../scripts/ig_limits_simulate.py"


rule ig_limits_tcga:
    input:
        expression=f"resources/rnaseq/{IGL_CFG['tcga']['expression']}",
        annotation=f"resources/rnaseq/{IGL_CFG['tcga']['annotation']}",
    output:
        f"{IGL}/data/TCGA.npz",
    log:
        f"{LOGS}/ig_limits_tcga.log",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=24000,
        runtime=60,
    params:
        tcga=IGL_CFG["tcga"],
        split=IGL_CFG["split"],
        seed=config["seed"],
    script:
        "../scripts/ig_limits_tcga.py"


rule ig_limits_train:
    input:
        data=f"{IGL}/data/{{igl_dataset}}.npz",
    output:
        model=f"{IGL}/models/{{igl_dataset}}/{{igl_model}}/seed{{igl_seed}}.pt",
        history=f"{IGL}/models/{{igl_dataset}}/{{igl_model}}/seed{{igl_seed}}_history.csv",
    log:
        f"{LOGS}/ig_limits_train/{{igl_dataset}}/{{igl_model}}/seed{{igl_seed}}.log",
    benchmark:
        f"{BENCH}/ig_limits_train/{{igl_dataset}}/{{igl_model}}/seed{{igl_seed}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        model=lambda wc: IGL_CFG["models"][wc.igl_model],
        training=lambda wc: {
            **IGL_CFG["training"][wc.igl_model],
            "progress": config["progress"],
        },
        val_fraction=IGL_CFG["split"]["val"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/ig_limits_train.py"


rule ig_limits_explain:
    input:
        data=f"{IGL}/data/{{igl_dataset}}.npz",
        model=rules.ig_limits_train.output.model,
    output:
        attributions=f"{IGL}/attributions/{{igl_dataset}}/{{igl_model}}/seed{{igl_seed}}.npz",
        metrics=f"{IGL}/metrics/{{igl_dataset}}/{{igl_model}}/seed{{igl_seed}}.csv",
        curves=f"{IGL}/metrics/{{igl_dataset}}/{{igl_model}}/seed{{igl_seed}}_topk_accuracy.csv",
        steps=f"{IGL}/metrics/{{igl_dataset}}/{{igl_model}}/seed{{igl_seed}}_ig_steps.csv",
    log:
        f"{LOGS}/ig_limits_explain/{{igl_dataset}}/{{igl_model}}/seed{{igl_seed}}.log",
    benchmark:
        f"{BENCH}/ig_limits_explain/{{igl_dataset}}/{{igl_model}}/seed{{igl_seed}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(mem_mb=4000, runtime=60),
    params:
        ig=IGL_CFG["ig"],
        evaluation=IGL_CFG["evaluation"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/ig_limits_explain.py"


rule ig_limits_topk_overlap:
    input:
        data=f"{IGL}/data/{{igl_dataset}}.npz",
        attributions=lambda wc: ig_limits_runs(
            f"{IGL}/attributions/{wc.igl_dataset}/{{model}}/seed{{seed}}.npz"
        ),
    output:
        f"{IGL}/metrics/{{igl_dataset}}_topk_overlap.csv",
    log:
        f"{LOGS}/ig_limits_topk_overlap/{{igl_dataset}}.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        runs=ig_limits_run_keys(),
        topk=IGL_CFG["evaluation"]["topk"],
    script:
        "../scripts/ig_limits_topk_overlap.py"


rule ig_limits_tables:
    input:
        metrics=ig_limits_all_runs(
            f"{IGL}/metrics/{{dataset}}/{{model}}/seed{{seed}}.csv"
        ),
        steps=ig_limits_all_runs(
            f"{IGL}/metrics/{{dataset}}/{{model}}/seed{{seed}}_ig_steps.csv"
        ),
        overlap=expand(
            f"{IGL}/metrics/{{dataset}}_topk_overlap.csv", dataset=ig_limits_datasets()
        ),
    output:
        fa_csv="results/tables/ig_limits_table_feature_agreement.csv",
        fa_md=report(
            "results/tables/ig_limits_table_feature_agreement.md",
            caption="../report/ig_limits_table_feature_agreement.rst",
            category="IG limits (arXiv 2303.11336)",
            labels={"table": "feature agreement (ours vs paper)"},
        ),
        pg_csv="results/tables/ig_limits_table_prediction_gaps.csv",
        pg_md=report(
            "results/tables/ig_limits_table_prediction_gaps.md",
            caption="../report/ig_limits_table_prediction_gaps.rst",
            category="IG limits (arXiv 2303.11336)",
            labels={"table": "prediction gaps PGI / PGR / PGU"},
        ),
        steps_csv="results/tables/ig_limits_table_ig_steps.csv",
        steps_md=report(
            "results/tables/ig_limits_table_ig_steps.md",
            caption="../report/ig_limits_table_ig_steps.rst",
            category="IG limits (arXiv 2303.11336)",
            labels={"table": "IG steps and completeness gap"},
        ),
        overlap_csv="results/tables/ig_limits_table_topk_overlap.csv",
        overlap_md=report(
            "results/tables/ig_limits_table_topk_overlap.md",
            caption="../report/ig_limits_fig_topk_overlap.rst",
            category="IG limits (arXiv 2303.11336)",
            labels={"table": "top-k overlap across seeds"},
        ),
        fa_png=report(
            "results/figures/ig_limits_fig_feature_agreement.png",
            caption="../report/ig_limits_table_feature_agreement.rst",
            category="IG limits (arXiv 2303.11336)",
            labels={"figure": "feature agreement (ours vs paper)"},
        ),
    log:
        f"{LOGS}/ig_limits_tables.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        report_k=IGL_CFG["evaluation"]["report_k"],
    script:
        "../scripts/ig_limits_tables.py"


rule ig_limits_figure_topk_accuracy:
    input:
        ig_limits_all_runs(
            f"{IGL}/metrics/{{dataset}}/{{model}}/seed{{seed}}_topk_accuracy.csv"
        ),
    output:
        report(
            "results/figures/ig_limits_fig_topk_accuracy.png",
            caption="../report/ig_limits_fig_topk_accuracy.rst",
            category="IG limits (arXiv 2303.11336)",
            labels={"figure": "accuracy keeping / removing top-k genes"},
        ),
    log:
        f"{LOGS}/ig_limits_figure_topk_accuracy.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/ig_limits_figure_topk_accuracy.py"


rule ig_limits_figure_topk_overlap:
    input:
        expand(
            f"{IGL}/metrics/{{dataset}}_topk_overlap.csv", dataset=ig_limits_datasets()
        ),
    output:
        report(
            "results/figures/ig_limits_fig_topk_overlap.png",
            caption="../report/ig_limits_fig_topk_overlap.rst",
            category="IG limits (arXiv 2303.11336)",
            labels={"figure": "top-k overlap across seeds"},
        ),
    log:
        f"{LOGS}/ig_limits_figure_topk_overlap.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/ig_limits_figure_topk_overlap.py"


final(
    rules.ig_limits_tables,
    rules.ig_limits_figure_topk_accuracy,
    rules.ig_limits_figure_topk_overlap,
)
claim_inputs(rules.ig_limits_tables.input.metrics)
