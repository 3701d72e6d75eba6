# A3 — graph attribution prior on drug response (Erion et al. Fig. 2, supplement Figs. 10–12).
# Logic: src/attrpriors/experiments/graph_prior.py. Data from rnaseq.smk (results/rnaseq/...).
# Per (model, retraining s): results/graph_prior/models/{model}/seed{s}.pt, .../metrics/{model}/seed{s}.csv
#   (fit metrics) and seed{s}_explain.csv (graph penalty, GSEA counts, truth recovery), .../gsea/{model}/seed{s}.csv,
#   .../attributions/{model}/seed{s}.csv (gene, model, seed, mean_abs_eg); all retrainings together:
#   results/graph_prior/attributions/mean_abs_eg.csv and results/tables/erion_fig2_graph_prior_metrics.csv
#   (experiment, model, seed, metric, value). Retraining s uses results/rnaseq/splits/split{s mod n}.json.
GP = f"{RESULTS}/graph_prior"
GP_CFG = config["graph_prior"]


include: "helpers/graph_prior.smk"


wildcard_constraints:
    gp_net="graph_lasso|mlp|mlp_paper|gcn",
    gp_ft="mlp_extra|mlp_graph|mlp_random_graph",
    gp_tune="mlp|mlp_paper",
    gp_model="|".join(GP_MODELS),
    gp_seed=r"\d+",
    noise=r"[0-9.e+-]+",
    precision=r"[0-9.e+-]+",
    loadings="|".join(GP_CFG["sweep"]["loadings"]),


rule graph_prior_train_lasso:
    input:
        expression=rules.rnaseq_preprocess.output.expression,
        response=f"{RNA_DATA}/response.tsv",
        split=graph_prior_split,
    output:
        model=f"{GP}/models/lasso/seed{{gp_seed}}.pt",
        metrics=f"{GP}/metrics/lasso/seed{{gp_seed}}.csv",
    log:
        f"{LOGS}/graph_prior_train_lasso/seed{{gp_seed}}.log",
    benchmark:
        f"{BENCH}/graph_prior_train_lasso/seed{{gp_seed}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        lasso=GP_CFG["lasso"],
        seed=config["seed"],
    script:
        "../scripts/graph_prior_train_lasso.py"


# The MLP's settings chosen on validation, per protocol: `mlp` (strict: graph_prior.mlp) and `mlp_paper`
# (graph_prior.paper.mlp; the choice also holds the number of epochs early stopping found, its training length).
rule graph_prior_tune_mlp:
    input:
        expression=rules.rnaseq_preprocess.output.expression,
        response=f"{RNA_DATA}/response.tsv",
        split=f"{RNA}/splits/split0.json",
    output:
        choice=f"{GP}/tuning/{{gp_tune}}_choice.json",
        grid="results/tables/erion_graph_prior_{gp_tune}_tuning.csv",
    log:
        f"{LOGS}/graph_prior_tune_mlp/{{gp_tune}}.log",
    benchmark:
        f"{BENCH}/graph_prior_tune_mlp/{{gp_tune}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        mlp=lambda wildcards: graph_prior_mlp_params(wildcards.gp_tune),
        seed=config["seed"],
        device=config["device"],
        progress=config["progress"],
    script:
        "../scripts/graph_prior_tune_mlp.py"


rule graph_prior_train_network:
    input:
        expression=rules.rnaseq_preprocess.output.expression,
        response=f"{RNA_DATA}/response.tsv",
        split=graph_prior_split,
        edges=f"{RNA_DATA}/graph_edges.tsv",
        lasso=graph_prior_lasso_metrics,
        mlp_choice=graph_prior_mlp_choice,
    output:
        model=f"{GP}/models/{{gp_net}}/seed{{gp_seed}}.pt",
        history=f"{GP}/models/{{gp_net}}/seed{{gp_seed}}_history.csv",
        metrics=f"{GP}/metrics/{{gp_net}}/seed{{gp_seed}}.csv",
    log:
        f"{LOGS}/graph_prior_train_network/{{gp_net}}/seed{{gp_seed}}.log",
    benchmark:
        f"{BENCH}/graph_prior_train_network/{{gp_net}}/seed{{gp_seed}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        models={
            **{k: GP_CFG[k] for k in ("graph_lasso", "mlp", "gcn")},
            "mlp_paper": GP_CFG["paper"]["mlp"],
        },
        seed=config["seed"],
        device=config["device"],
        progress=config["progress"],
    script:
        "../scripts/graph_prior_train_network.py"


rule graph_prior_finetune:
    input:
        mlp=f"{GP}/models/mlp/seed{{gp_seed}}.pt",
        expression=rules.rnaseq_preprocess.output.expression,
        response=f"{RNA_DATA}/response.tsv",
        split=graph_prior_split,
        edges=f"{RNA_DATA}/graph_edges.tsv",
    output:
        model=f"{GP}/models/{{gp_ft}}/seed{{gp_seed}}.pt",
        history=f"{GP}/models/{{gp_ft}}/seed{{gp_seed}}_history.csv",
        metrics=f"{GP}/metrics/{{gp_ft}}/seed{{gp_seed}}.csv",
    log:
        f"{LOGS}/graph_prior_finetune/{{gp_ft}}/seed{{gp_seed}}.log",
    benchmark:
        f"{BENCH}/graph_prior_finetune/{{gp_ft}}/seed{{gp_seed}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        finetune=GP_CFG["finetune"],
        seed=config["seed"],
        device=config["device"],
        progress=config["progress"],
    script:
        "../scripts/graph_prior_finetune.py"


# The `paper` protocol's fine-tuning (graph_prior.finetune_paper): every arm of one retraining from the
# fixed-length MLP, the weights after each extra epoch kept (temporary) until the number is chosen over retrainings.
rule graph_prior_finetune_paper:
    input:
        mlp=f"{GP}/models/mlp_paper/seed{{gp_seed}}.pt",
        expression=rules.rnaseq_preprocess.output.expression,
        response=f"{RNA_DATA}/response.tsv",
        split=graph_prior_split,
        edges=f"{RNA_DATA}/graph_edges.tsv",
    output:
        states=temp(f"{GP}/finetune_paper/seed{{gp_seed}}_states.pt"),
        history=f"{GP}/finetune_paper/seed{{gp_seed}}_history.csv",
    log:
        f"{LOGS}/graph_prior_finetune_paper/seed{{gp_seed}}.log",
    benchmark:
        f"{BENCH}/graph_prior_finetune_paper/seed{{gp_seed}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        finetune=GP_CFG["paper"]["finetune"],
        variants=GP_PAPER_ARMS,
        seed=config["seed"],
        device=config["device"],
        progress=config["progress"],
    script:
        "../scripts/graph_prior_finetune_paper.py"


# The `paper` protocol's one choice of the number of extra epochs (the graph arm's mean validation MSE over
# retrainings), applied to every arm and retraining: their models and fit metrics.
rule graph_prior_select_paper:
    input:
        states=graph_prior_retraining_files("finetune_paper/seed{seed}_states.pt"),
        histories=graph_prior_retraining_files("finetune_paper/seed{seed}_history.csv"),
        mlp=graph_prior_retraining_files("models/mlp_paper/seed{seed}.pt"),
        splits=[graph_prior_split_of(s) for s in range(GP_CFG["retrainings"])],
        expression=rules.rnaseq_preprocess.output.expression,
        response=f"{RNA_DATA}/response.tsv",
    output:
        choice=f"{GP}/tuning/paper_extra_epochs.json",
        curve="results/tables/erion_graph_prior_paper_extra_epochs.csv",
        models=graph_prior_paper_files("models/{model}/seed{seed}.pt"),
        metrics=graph_prior_paper_files("metrics/{model}/seed{seed}.csv"),
    log:
        f"{LOGS}/graph_prior_select_paper.log",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        retrainings=list(range(GP_CFG["retrainings"])),
    script:
        "../scripts/graph_prior_select_paper.py"


# Every model of one retraining explained in one job (graph_prior.explain): the same EG references for all,
# the data, graph and gene sets loaded once.
rule graph_prior_explain:
    input:
        models=graph_prior_model_files,
        expression=rules.rnaseq_preprocess.output.expression,
        response=f"{RNA_DATA}/response.tsv",
        split=graph_prior_split,
        edges=f"{RNA_DATA}/graph_edges.tsv",
        gene_sets=rules.rnaseq_gene_sets.output[0],
        truth=[f"{RNA_DATA}/genes.tsv", f"{RNA_DATA}/truth.json"],
    output:
        attributions=[f"{GP}/attributions/{m}/seed{{gp_seed}}.csv" for m in GP_MODELS],
        gsea=[f"{GP}/gsea/{m}/seed{{gp_seed}}.csv" for m in GP_MODELS],
        metrics=[f"{GP}/metrics/{m}/seed{{gp_seed}}_explain.csv" for m in GP_MODELS],
    log:
        f"{LOGS}/graph_prior_explain/seed{{gp_seed}}.log",
    benchmark:
        f"{BENCH}/graph_prior_explain/seed{{gp_seed}}.tsv"
    conda:
        "../../envs/rnaseq.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        models=GP_MODELS,
        explain=GP_CFG["explain"],
        simulated=RNA_CFG["source"] == "simulated",
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/graph_prior_explain.py"


# Model-randomization sanity check (Adebayo et al. 2018) of each model family's first retraining, for the
# cross-paper table (its settings: cross_paper.randomization).
rule graph_prior_randomization:
    input:
        model=f"{GP}/models/{{gp_model}}/seed0.pt",
        expression=rules.rnaseq_preprocess.output.expression,
        response=f"{RNA_DATA}/response.tsv",
        split=f"results/rnaseq/splits/split0.json",
    output:
        f"{GP}/randomization/{{gp_model}}.csv",
    log:
        f"{LOGS}/graph_prior_randomization/{{gp_model}}.log",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        randomization=config["cross_paper"]["randomization"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/graph_prior_randomization.py"


rule graph_prior_figures:
    input:
        metrics=graph_prior_files("metrics/{model}/seed{seed}.csv")
        + graph_prior_files("metrics/{model}/seed{seed}_explain.csv"),
        attributions=graph_prior_files("attributions/{model}/seed{seed}.csv"),
        gsea=graph_prior_files("gsea/{model}/seed{seed}.csv"),
        histories=graph_prior_paper_histories(),
    output:
        metrics="results/tables/erion_fig2_graph_prior_metrics.csv",
        tests_csv="results/tables/erion_fig2_graph_prior_ttests.csv",
        tests_md=report(
            "results/tables/erion_fig2_graph_prior_ttests.md",
            caption="../report/erion_fig2_graph_prior.rst",
            category="Erion et al. — graph prior (drug response)",
            labels={"table": "Fig. 2 / supp. Fig. 10: paired t-tests of test R²"},
        ),
        fig2=report(
            "results/figures/erion_fig2_graph_prior_r2.png",
            caption="../report/erion_fig2_graph_prior.rst",
            category="Erion et al. — graph prior (drug response)",
            labels={"figure": "Fig. 2: test R² and significant pathways"},
        ),
        attributions=f"{GP}/attributions/mean_abs_eg.csv",
        penalty_fig=report(
            "results/figures/erion_supfig12_graph_penalty.png",
            caption="../report/erion_supfig12_graph_penalty.rst",
            category="Erion et al. — graph prior (drug response)",
            labels={"figure": "Supp. Fig. 12: graph penalty"},
        ),
        penalty_table="results/tables/erion_supfig12_graph_penalty.csv",
        pathways_csv="results/tables/erion_supfig11_top_pathways.csv",
        pathways_md=report(
            "results/tables/erion_supfig11_top_pathways.md",
            caption="../report/erion_supfig11_top_pathways.rst",
            category="Erion et al. — graph prior (drug response)",
            labels={"table": "Supp. Fig. 11: top GSEA pathways per model"},
        ),
        truth=graph_prior_truth_outputs(),
        paper=graph_prior_paper_outputs(),
    log:
        f"{LOGS}/graph_prior_figures.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        explain=GP_CFG["explain"],
        simulated=RNA_CFG["source"] == "simulated",
    script:
        "../scripts/graph_prior_figures.py"


rule graph_prior_sweep_cell:
    output:
        metrics=f"{GP}/sweep/{{loadings}}/noise{{noise}}_precision{{precision}}.csv",
    log:
        f"{LOGS}/graph_prior_sweep_cell/{{loadings}}/noise{{noise}}_precision{{precision}}.log",
    benchmark:
        f"{BENCH}/graph_prior_sweep_cell/{{loadings}}/noise{{noise}}_precision{{precision}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        sweep=GP_CFG["sweep"],
        simulation={**RNA_CFG["simulation"], **GP_CFG["sweep"]["simulation"]},
        preprocess=RNA_CFG["preprocess"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/graph_prior_sweep_cell.py"


rule graph_prior_sweep_figure:
    input:
        metrics=graph_prior_sweep_cells(),
    output:
        metrics=f"{GP}/sweep/metrics.csv",
        table="results/tables/erion_graph_prior_when_it_helps.csv",
        md=report(
            "results/tables/erion_graph_prior_when_it_helps.md",
            caption="../report/erion_graph_prior_when_it_helps.rst",
            category="Erion et al. — graph prior (drug response)",
            labels={
                "table": "Beyond the paper: when does a graph prior help (Δ per cell)"
            },
        ),
        png=report(
            "results/figures/erion_graph_prior_when_it_helps.png",
            caption="../report/erion_graph_prior_when_it_helps.rst",
            category="Erion et al. — graph prior (drug response)",
            labels={"figure": "Beyond the paper: when does a graph prior help"},
        ),
    log:
        f"{LOGS}/graph_prior_sweep_figure.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/graph_prior_sweep_figure.py"


final(rules.graph_prior_figures, rules.graph_prior_sweep_figure)
