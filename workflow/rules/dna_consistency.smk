# C — consistency of attribution maps across a CNN population (Majdandzic et al. 2022).
# Logic: src/attrpriors/experiments/dna_consistency.py. Config block `dna_consistency:`.
#   results/dna_consistency/data/dataset.npz                        sequences, labels, ground truth, split
#   results/dna_consistency/models/{model}/trial{trial}.pt          one job per (model variant, trial)
#   results/dna_consistency/models/{model}/trial{trial}_history.csv per-epoch training curves (tidy)
#   results/dna_consistency/attributions/{method}/{model}/trial{trial}.npz   maps of the positive test sequences
#   results/dna_consistency/metrics/{method}/{model}/trial{trial}.csv        interpretability + consistency (tidy)
#   results/tables/majdandzic_model_selection.{csv,md}, majdandzic_population_summary.{csv,md}, figures
# data.source: download fetches the paper's GM12878 ATAC-seq archive into resources/dna_consistency/.
DNAC = f"{RESULTS}/dna_consistency"
DNAC_CFG = config["dna_consistency"]


include: "helpers/dna_consistency.smk"


wildcard_constraints:
    dnac_model="(relu|exponential)_(bn|nobn)_(standard|noise|mixup|spectral_norm)",
    dnac_trial="[0-9]+",
    dnac_method="gradients|smoothgrad|integrated_gradients",


rule dna_consistency_download:
    output:
        dna_consistency_archive(),
    log:
        f"{LOGS}/dna_consistency_download.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        name=DNAC_CFG["data"]["download"]["registry"],
    script:
        "../scripts/dna_consistency_download.py"


rule dna_consistency_data:
    input:
        archive=dna_consistency_data_input(),
    output:
        f"{DNAC}/data/dataset.npz",
    log:
        f"{LOGS}/dna_consistency_data.log",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        source=DNAC_CFG["data"]["source"],
        simulated=DNAC_CFG["data"]["simulated"],
        download={k: v for k, v in DNAC_CFG["data"]["download"].items()},
        seed=config["seed"],
    script:
        "../scripts/dna_consistency_data.py"


rule dna_consistency_train_cnn:
    input:
        data=rules.dna_consistency_data.output[0],
    output:
        model=f"{DNAC}/models/{{dnac_model}}/trial{{dnac_trial}}.pt",
        performance=f"{DNAC}/models/{{dnac_model}}/trial{{dnac_trial}}_performance.csv",
        history=f"{DNAC}/models/{{dnac_model}}/trial{{dnac_trial}}_history.csv",
    log:
        f"{LOGS}/dna_consistency_train_cnn/{{dnac_model}}/trial{{dnac_trial}}.log",
    benchmark:
        f"{BENCH}/dna_consistency_train_cnn/{{dnac_model}}/trial{{dnac_trial}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        model=DNAC_CFG["model"],
        training={**DNAC_CFG["training"], "progress": config["progress"]},
        regularizer_params=DNAC_CFG["regularizer_params"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/dna_consistency_train_cnn.py"


rule dna_consistency_attributions:
    input:
        data=rules.dna_consistency_data.output[0],
        model=rules.dna_consistency_train_cnn.output.model,
    output:
        attributions=f"{DNAC}/attributions/{{dnac_method}}/{{dnac_model}}/trial{{dnac_trial}}.npz",
        scores=f"{DNAC}/metrics/{{dnac_method}}/{{dnac_model}}/trial{{dnac_trial}}.csv",
    log:
        f"{LOGS}/dna_consistency_attributions/{{dnac_method}}/{{dnac_model}}/trial{{dnac_trial}}.log",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        options=lambda wc: DNAC_CFG["attribution"]["method_options"].get(
            wc.dnac_method, {}
        ),
        n_explain=DNAC_CFG["attribution"]["n_explain"],
        metrics=DNAC_CFG["metrics"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/dna_consistency_attributions.py"


rule dna_consistency_table_selection:
    input:
        performance=dna_consistency_files(
            f"{DNAC}/models/{{model}}/trial{{trial}}_performance.csv"
        ),
        scores=dna_consistency_files(
            f"{DNAC}/metrics/{{method}}/{{model}}/trial{{trial}}.csv", methods=True
        ),
    output:
        population=f"{DNAC}/metrics/population.csv",
        csv="results/tables/majdandzic_model_selection.csv",
        md=report(
            "results/tables/majdandzic_model_selection.md",
            caption="../report/majdandzic_model_selection.rst",
            category="Majdandzic et al. — attribution consistency",
            labels={"table": "Model selection (all models)"},
        ),
        summary_csv="results/tables/majdandzic_population_summary.csv",
        summary_md=report(
            "results/tables/majdandzic_population_summary.md",
            caption="../report/majdandzic_population_summary.rst",
            category="Majdandzic et al. — attribution consistency",
            labels={"table": "Population summary (the paper's claims)"},
        ),
    log:
        f"{LOGS}/dna_consistency_table_selection.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        methods=DNAC_CFG["attribution"]["methods"],
    script:
        "../scripts/dna_consistency_table_selection.py"


rule dna_consistency_figure_vs_snr:
    input:
        rules.dna_consistency_table_selection.output.csv,
    output:
        report(
            "results/figures/majdandzic_consistency_vs_snr.png",
            caption="../report/majdandzic_consistency_vs_snr.rst",
            category="Majdandzic et al. — attribution consistency",
            labels={"figure": "Consistency vs SNR"},
        ),
    log:
        f"{LOGS}/dna_consistency_figure_vs_snr.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        method=DNAC_CFG["selection"]["method"],
    script:
        "../scripts/dna_consistency_figure_vs_snr.py"


rule dna_consistency_figure_generalization_vs_snr:
    input:
        rules.dna_consistency_table_selection.output.csv,
    output:
        report(
            "results/figures/majdandzic_generalization_vs_snr.png",
            caption="../report/majdandzic_generalization_vs_snr.rst",
            category="Majdandzic et al. — attribution consistency",
            labels={"figure": "Generalization vs SNR"},
        ),
    log:
        f"{LOGS}/dna_consistency_figure_generalization_vs_snr.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        method=DNAC_CFG["selection"]["method"],
    script:
        "../scripts/dna_consistency_figure_generalization_vs_snr.py"


rule dna_consistency_figure_logos:
    input:
        data=rules.dna_consistency_data.output[0],
        table=rules.dna_consistency_table_selection.output.csv,
        attributions=dna_consistency_files(
            f"{DNAC}/attributions/{DNAC_CFG['selection']['method']}/{{model}}/trial{{trial}}.npz"
        ),
    output:
        report(
            "results/figures/majdandzic_logos_most_vs_least_consistent.png",
            caption="../report/majdandzic_logos_most_vs_least_consistent.rst",
            category="Majdandzic et al. — attribution consistency",
            labels={"figure": "Attribution logos: most vs least consistent model"},
        ),
    log:
        f"{LOGS}/dna_consistency_figure_logos.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        method=DNAC_CFG["selection"]["method"],
        consistency_metric=DNAC_CFG["selection"]["logo_metric"],
        n_sequences=DNAC_CFG["selection"]["logo_sequences"],
    script:
        "../scripts/dna_consistency_figure_logos.py"


rule dna_consistency_figure_training_curves:
    input:
        dna_consistency_files(f"{DNAC}/models/{{model}}/trial{{trial}}_history.csv"),
    output:
        report(
            "results/figures/majdandzic_training_curves.png",
            caption="../report/majdandzic_training_curves.rst",
            category="Majdandzic et al. — attribution consistency",
            labels={"figure": "Training curves of the population"},
        ),
    log:
        f"{LOGS}/dna_consistency_figure_training_curves.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/dna_consistency_figure_training_curves.py"


final(
    rules.dna_consistency_table_selection,
    rules.dna_consistency_figure_vs_snr,
    rules.dna_consistency_figure_generalization_vs_snr,
    rules.dna_consistency_figure_logos,
    rules.dna_consistency_figure_training_curves,
)
