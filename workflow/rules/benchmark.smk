# A1 — attribution benchmark (Erion et al. Table 1; supplement Fig. 1).
BM = f"{RESULTS}/benchmark"
BM_CFG = config["benchmark"]


wildcard_constraints:
    dataset="|".join(BM_CFG["datasets"]),
    method="[a-z_]+",


rule benchmark_data:
    output:
        f"{BM}/data/{{dataset}}.npz",
    log:
        f"{LOGS}/benchmark_data/{{dataset}}.log",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        data=BM_CFG["data"],
        seed=config["seed"],
    script:
        "../scripts/benchmark_data.py"


rule benchmark_train_mlp:
    input:
        data=rules.benchmark_data.output[0],
    output:
        model=f"{BM}/models/{{dataset}}.pt",
        history=f"{BM}/models/{{dataset}}_history.csv",
    log:
        f"{LOGS}/benchmark_train_mlp/{{dataset}}.log",
    benchmark:
        f"{BENCH}/benchmark_train_mlp/{{dataset}}.tsv"
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        model=BM_CFG["model"],
        training={**BM_CFG["training"], "progress": config["progress"]},
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/benchmark_train_mlp.py"


rule benchmark_attributions:
    input:
        data=rules.benchmark_data.output[0],
        model=rules.benchmark_train_mlp.output.model,
    output:
        f"{BM}/attributions/{{dataset}}/{{method}}.npz",
    log:
        f"{LOGS}/benchmark_attributions/{{dataset}}/{{method}}.log",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        options=lambda wc: BM_CFG["method_options"].get(wc.method, {}),
        n_explain=BM_CFG["n_explain"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/benchmark_attributions.py"


rule benchmark_metrics:
    input:
        data=rules.benchmark_data.output[0],
        model=rules.benchmark_train_mlp.output.model,
        attributions=rules.benchmark_attributions.output[0],
    output:
        scores=f"{BM}/metrics/{{dataset}}/{{method}}.csv",
        curves=f"{BM}/metrics/{{dataset}}/{{method}}_curves.csv",
    log:
        f"{LOGS}/benchmark_metrics/{{dataset}}/{{method}}.log",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        metrics=BM_CFG["metrics"],
        seed=config["seed"],
    script:
        "../scripts/benchmark_metrics.py"


rule benchmark_randomization:
    input:
        data=rules.benchmark_data.output[0],
        model=rules.benchmark_train_mlp.output.model,
    output:
        f"{BM}/metrics/{{dataset}}_randomization.csv",
    log:
        f"{LOGS}/benchmark_randomization/{{dataset}}.log",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        methods=BM_CFG["methods"],
        method_options=BM_CFG["method_options"],
        n_explain=BM_CFG["randomization"]["n_explain"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/benchmark_randomization.py"


rule benchmark_figure_randomization:
    input:
        expand(rules.benchmark_randomization.output[0], dataset=BM_CFG["datasets"]),
    output:
        report(
            "results/figures/erion_benchmark_randomization.png",
            caption="../report/erion_benchmark_randomization.rst",
            category="Erion et al. — attribution benchmark",
            labels={"figure": "Model-randomization sanity check"},
        ),
    log:
        f"{LOGS}/benchmark_figure_randomization.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        threshold=BM_CFG["randomization"]["threshold"],
    script:
        "../scripts/benchmark_figure_randomization.py"


rule benchmark_table:
    input:
        scores=expand(
            f"{BM}/metrics/{{{{dataset}}}}/{{method}}.csv", method=BM_CFG["methods"]
        ),
        randomization=rules.benchmark_randomization.output[0],
    output:
        csv="results/tables/erion_table1_benchmark_{dataset}.csv",
        md=report(
            "results/tables/erion_table1_benchmark_{dataset}.md",
            caption="../report/erion_table1_benchmark.rst",
            category="Erion et al. — attribution benchmark",
            labels={"table": "Table 1 (markdown)", "dataset": "{dataset}"},
        ),
        png=report(
            "results/figures/erion_table1_benchmark_{dataset}.png",
            caption="../report/erion_table1_benchmark.rst",
            category="Erion et al. — attribution benchmark",
            labels={"table": "Table 1 (heatmap)", "dataset": "{dataset}"},
        ),
    log:
        f"{LOGS}/benchmark_table/{{dataset}}.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        threshold=BM_CFG["randomization"]["threshold"],
    script:
        "../scripts/benchmark_table.py"


rule benchmark_eg_convergence:
    input:
        data=rules.benchmark_data.output[0],
        model=rules.benchmark_train_mlp.output.model,
    output:
        f"{BM}/metrics/{{dataset}}_eg_convergence.csv",
    log:
        f"{LOGS}/benchmark_eg_convergence/{{dataset}}.log",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        convergence=BM_CFG["convergence"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/benchmark_eg_convergence.py"


rule benchmark_figure_eg_convergence:
    input:
        expand(rules.benchmark_eg_convergence.output[0], dataset=BM_CFG["datasets"]),
    output:
        report(
            "results/figures/erion_supfig1_eg_convergence.png",
            caption="../report/erion_supfig1_eg_convergence.rst",
            category="Erion et al. — attribution benchmark",
            labels={"figure": "Supp. Fig. 1: EG convergence"},
        ),
    log:
        f"{LOGS}/benchmark_figure_eg_convergence.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/benchmark_figure_eg_convergence.py"


final(
    rules.benchmark_table,
    rules.benchmark_figure_randomization,
    rules.benchmark_figure_eg_convergence,
    dataset=BM_CFG["datasets"],
)
