# B — deep attribution priors (Weinberger et al. 2020: Fig. 2, Table 1, Figs. 3–4).
# Logic: src/attrpriors/experiments/dapr.py. One training job per (nuisance count, model) for the two moons (its
# datasets inside) and per (dataset, model) for Table 1 (its splits inside): each run trains for seconds while a
# job pays ~3 s of Python/torch start-up. Aggregations and figures are local rules.
# dapr.table1.<dataset>.source: simulated (embedded default: the RNA-seq simulator's single-drug response and
# meta-features), download (Beat AML + MERGE driver features; the Beat AML files through the data layer's
# download rule, resources/rnaseq/<registry name>) or local (AMP-AD: a user-provided folder, see the docstring of
# attrpriors.data.drug_response.read_local_folder).
DA = f"{RESULTS}/dapr"
DA_CFG = config["dapr"]
DA_TM = DA_CFG["two_moons"]
DA_T1 = DA_CFG["table1"]


include: "helpers/dapr.smk"


wildcard_constraints:
    da_nuisance=r"\d+",
    da_tm_model="mlp|dapr",
    da_table="|".join(DA_T1["datasets"]),


rule dapr_train_two_moons:
    output:
        f"{DA}/two_moons/metrics/{{da_nuisance}}_{{da_tm_model}}.csv",
    log:
        f"{LOGS}/dapr_train_two_moons/{{da_nuisance}}_{{da_tm_model}}.log",
    benchmark:
        f"{BENCH}/dapr_train_two_moons/{{da_nuisance}}_{{da_tm_model}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(mem_mb=1500, runtime=60),
    params:
        two_moons=DA_TM,
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/dapr_train_two_moons.py"


rule dapr_figure_two_moons:
    input:
        expand(
            rules.dapr_train_two_moons.output[0],
            da_nuisance=DA_TM["n_nuisance"],
            da_tm_model=["mlp", "dapr"],
        ),
    output:
        png=report(
            "results/figures/weinberger_fig2_two_moons_accuracy.png",
            caption="../report/weinberger_fig2_two_moons_accuracy.rst",
            category="Weinberger et al. — deep attribution priors",
            labels={"figure": "Fig. 2: two moons with nuisance features"},
        ),
        csv="results/tables/weinberger_fig2_two_moons_accuracy.csv",
    log:
        f"{LOGS}/dapr_figure_two_moons.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/dapr_figure_two_moons.py"


rule dapr_download_merge_features:
    output:
        "resources/dapr/merge_features.csv",
    log:
        f"{LOGS}/dapr_download_merge_features.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        sha256=lambda wc: DA_T1["drug_response"]
        .get("download", {})
        .get("merge_features_sha256"),
    script:
        "../scripts/dapr_download_merge_features.py"


rule dapr_table1_data:
    input:
        unpack(dapr_table1_inputs),
    output:
        f"{DA}/table1/data/{{da_table}}.npz",
    log:
        f"{LOGS}/dapr_table1_data/{{da_table}}.log",
    conda:
        "../../envs/rnaseq.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        dataset=lambda wc: {**DA_T1[wc.da_table], "n_splits": DA_T1["n_splits"]},
        seed=config["seed"],
    script:
        "../scripts/dapr_table1_data.py"


rule dapr_train_table1:
    input:
        data=rules.dapr_table1_data.output[0],
    output:
        metrics=f"{DA}/table1/metrics/{{da_table}}/{{da_model}}.csv",
        attributions=f"{DA}/table1/attributions/{{da_table}}/{{da_model}}.csv",
        randomization=f"{DA}/table1/randomization/{{da_table}}/{{da_model}}.csv",
    log:
        f"{LOGS}/dapr_train_table1/{{da_table}}/{{da_model}}.log",
    benchmark:
        f"{BENCH}/dapr_train_table1/{{da_table}}/{{da_model}}.tsv"
    wildcard_constraints:
        da_model="lasso|mlp|mlp_l1|mlp_l2|mlp_meta_inputs|merge",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(mem_mb=2000, runtime=30),
    params:
        table1=DA_T1,
        randomization=config["cross_paper"]["randomization"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/dapr_train_table1.py"


rule dapr_train_table1_prior:
    input:
        data=rules.dapr_table1_data.output[0],
    output:
        metrics=f"{DA}/table1/metrics/{{da_table}}/{{da_model}}.csv",
        attributions=f"{DA}/table1/attributions/{{da_table}}/{{da_model}}.csv",
        randomization=f"{DA}/table1/randomization/{{da_table}}/{{da_model}}.csv",
        prior=f"{DA}/table1/priors/{{da_table}}/{{da_model}}.pt",
    log:
        f"{LOGS}/dapr_train_table1_prior/{{da_table}}/{{da_model}}.log",
    benchmark:
        f"{BENCH}/dapr_train_table1_prior/{{da_table}}/{{da_model}}.tsv"
    wildcard_constraints:
        da_model="dapr_informative|dapr_noise",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(mem_mb=2000, runtime=30),
    params:
        table1=DA_T1,
        randomization=config["cross_paper"]["randomization"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/dapr_train_table1.py"


rule dapr_table1:
    input:
        expand(
            f"{DA}/table1/metrics/{{da_table}}/{{da_model}}.csv",
            da_table=DA_T1["datasets"],
            da_model=DA_T1["models"],
        ),
    output:
        metrics=f"{DA}/table1/metrics.csv",
        csv="results/tables/weinberger_table1_mse.csv",
        md=report(
            "results/tables/weinberger_table1_mse.md",
            caption="../report/weinberger_table1_mse.rst",
            category="Weinberger et al. — deep attribution priors",
            labels={"table": "Table 1: MSE ± s.e."},
        ),
        tests_csv="results/tables/weinberger_table1_paired_tests.csv",
        tests_md=report(
            "results/tables/weinberger_table1_paired_tests.md",
            caption="../report/weinberger_table1_paired_tests.rst",
            category="Weinberger et al. — deep attribution priors",
            labels={"table": "Table 1: paired tests across splits"},
        ),
    log:
        f"{LOGS}/dapr_table1.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/dapr_table1.py"


rule dapr_train_table1_paper:
    input:
        data=rules.dapr_table1_data.output[0],
    output:
        f"{DA}/table1/paper/{{da_table}}/{{da_paper_arm}}.csv",
    log:
        f"{LOGS}/dapr_train_table1_paper/{{da_table}}/{{da_paper_arm}}.log",
    benchmark:
        f"{BENCH}/dapr_train_table1_paper/{{da_table}}/{{da_paper_arm}}.tsv"
    wildcard_constraints:
        da_paper_arm="mlp|mlp_dropout|dapr_noise|dapr_noise_dropout|dapr_informative",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(mem_mb=2000, runtime=30),
    params:
        table1=DA_T1,
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/dapr_train_table1_paper.py"


rule dapr_table1_paper:
    input:
        expand(
            rules.dapr_train_table1_paper.output[0],
            da_table=DA_T1["datasets"],
            da_paper_arm=DA_T1["paper"]["arms"],
        ),
    output:
        metrics=f"{DA}/table1/paper_metrics.csv",
        csv="results/tables/weinberger_table1_paper_protocol.csv",
        md=report(
            "results/tables/weinberger_table1_paper_protocol.md",
            caption="../report/weinberger_table1_paper_protocol.rst",
            category="Weinberger et al. — deep attribution priors",
            labels={
                "table": "Table 1 under the original code's protocol: 2×2 sensitivity"
            },
        ),
        png=report(
            "results/figures/weinberger_table1_paper_protocol.png",
            caption="../report/weinberger_table1_paper_protocol.rst",
            category="Weinberger et al. — deep attribution priors",
            labels={
                "figure": "Table 1 under the original code's protocol: 2×2 sensitivity"
            },
        ),
    log:
        f"{LOGS}/dapr_table1_paper.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/dapr_table1_paper.py"


rule dapr_explain_prior:
    input:
        data=rules.dapr_table1_data.output[0],
        informative=dapr_prior("dapr_informative"),
        noise=dapr_prior("dapr_noise"),
    output:
        png=report(
            "results/figures/weinberger_fig3_prior_explanation_{da_table}.png",
            caption="../report/weinberger_fig3_prior_explanation.rst",
            category="Weinberger et al. — deep attribution priors",
            labels={"figure": "Fig. 3: explaining the prior", "dataset": "{da_table}"},
        ),
        contributions="results/tables/weinberger_fig3_prior_contributions_{da_table}.csv",
        metrics="results/tables/weinberger_fig3_prior_importance_{da_table}.csv",
    log:
        f"{LOGS}/dapr_explain_prior/{{da_table}}.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        explain=DA_CFG["explain"],
        seed=config["seed"],
    script:
        "../scripts/dapr_explain_prior.py"


rule dapr_prior_pathways:
    input:
        data=rules.dapr_table1_data.output[0],
        informative=dapr_prior("dapr_informative"),
        noise=dapr_prior("dapr_noise"),
    output:
        png=report(
            "results/figures/weinberger_fig4_prior_pathways_{da_table}.png",
            caption="../report/weinberger_fig4_prior_pathways.rst",
            category="Weinberger et al. — deep attribution priors",
            labels={
                "figure": "Fig. 4: pathways of the prior's top genes",
                "dataset": "{da_table}",
            },
        ),
        csv="results/tables/weinberger_fig4_prior_pathways_{da_table}.csv",
        md=report(
            "results/tables/weinberger_fig4_prior_pathways_{da_table}.md",
            caption="../report/weinberger_fig4_prior_pathways.rst",
            category="Weinberger et al. — deep attribution priors",
            labels={"table": "Fig. 4: significant pathways", "dataset": "{da_table}"},
        ),
        counts="results/tables/weinberger_fig4_prior_pathway_counts_{da_table}.csv",
    log:
        f"{LOGS}/dapr_prior_pathways/{{da_table}}.log",
    localrule: True
    conda:
        "../../envs/rnaseq.yaml"
    threads: 1
    params:
        pathways=DA_CFG["pathways"],
    script:
        "../scripts/dapr_prior_pathways.py"


final(rules.dapr_figure_two_moons, rules.dapr_table1, rules.dapr_table1_paper)
claim_inputs(rules.dapr_figure_two_moons.input)
# Figs. 3-4 explain the prior (informative vs noise meta-features): the first data set's (linear response)
if {"dapr_informative", "dapr_noise"} <= set(DA_T1["models"]):
    final(
        rules.dapr_explain_prior,
        rules.dapr_prior_pathways,
        da_table=DA_T1["datasets"][:1],
    )
