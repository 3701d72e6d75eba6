# A2 — pixel attribution prior (Erion et al. Fig. 1; supplement Figs. 3–5).
# Logic: src/attrpriors/experiments/pixel_prior.py. One training job per (λ, seed); λ index 0 is the baseline.
# pixel_prior.data.source: bundled = scikit-learn's 8×8 digits (offline); download = MNIST IDX files into
# resources/mnist/ through attrpriors.data.download (registry names mnist_*).
PP = f"{RESULTS}/pixel_prior"
PP_CFG = config["pixel_prior"]
PP_LAMBDAS = strength_grid(PP_CFG["lambdas"], baseline=True)
PP_MODELS = expand(
    "lambda{i}_seed{s}", i=range(len(PP_LAMBDAS)), s=range(PP_CFG["seeds"])
)
PP_MNIST = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


rule pixel_prior_download_mnist:
    output:
        [f"resources/mnist/{f}" for f in PP_MNIST],
    log:
        f"{LOGS}/pixel_prior_download_mnist.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/pixel_prior_download_mnist.py"


rule pixel_prior_data:
    input:
        mnist=(
            rules.pixel_prior_download_mnist.output
            if PP_CFG["data"]["source"] == "download"
            else []
        ),
    output:
        f"{PP}/data.npz",
    log:
        f"{LOGS}/pixel_prior_data.log",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        source=PP_CFG["data"]["source"],
        split=PP_CFG["data"]["split"],
        seed=config["seed"],
    script:
        "../scripts/pixel_prior_data.py"


rule pixel_prior_train_cnn:
    input:
        data=rules.pixel_prior_data.output[0],
    output:
        model=f"{PP}/models/lambda{{lam_index}}_seed{{trial}}.pt",
        history=f"{PP}/models/lambda{{lam_index}}_seed{{trial}}_history.csv",
    log:
        f"{LOGS}/pixel_prior_train_cnn/lambda{{lam_index}}_seed{{trial}}.log",
    benchmark:
        f"{BENCH}/pixel_prior_train_cnn/lambda{{lam_index}}_seed{{trial}}.tsv"
    wildcard_constraints:
        lam_index=r"\d+",
        trial=r"\d+",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        **train_resources(),
    params:
        model=PP_CFG["model"],
        training={**PP_CFG["training"], "progress": config["progress"]},
        n_references=PP_CFG["n_references"],
        strength=lambda wc: PP_LAMBDAS[int(wc.lam_index)],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/pixel_prior_train_cnn.py"


rule pixel_prior_evaluate_cnn:
    input:
        data=rules.pixel_prior_data.output[0],
        model=rules.pixel_prior_train_cnn.output.model,
    output:
        metrics=f"{PP}/metrics/lambda{{lam_index}}_seed{{trial}}.csv",
        maps=f"{PP}/attributions/lambda{{lam_index}}_seed{{trial}}_maps.npz",
    log:
        f"{LOGS}/pixel_prior_evaluate_cnn/lambda{{lam_index}}_seed{{trial}}.log",
    wildcard_constraints:
        lam_index=r"\d+",
        trial=r"\d+",
    conda:
        TORCH_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        evaluation=PP_CFG["evaluation"],
        strength=lambda wc: PP_LAMBDAS[int(wc.lam_index)],
        seed=config["seed"],
        device=config["device"],
    script:
        "../scripts/pixel_prior_evaluate_cnn.py"


rule pixel_prior_summary:
    input:
        expand(f"{PP}/metrics/{{m}}.csv", m=PP_MODELS),
    output:
        metrics=f"{PP}/metrics.csv",
        selection=f"{PP}/selection.json",
        csv="results/tables/erion_fig1_pixel_prior_summary.csv",
        md=report(
            "results/tables/erion_fig1_pixel_prior_summary.md",
            caption="../report/erion_fig1_pixel_prior_summary.rst",
            category="Erion et al. — pixel prior",
            labels={"table": "Fig. 1 / supp. Fig. 5: per-λ summary"},
        ),
    log:
        f"{LOGS}/pixel_prior_summary.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        max_accuracy_drop=PP_CFG["evaluation"]["max_val_accuracy_drop"],
    script:
        "../scripts/pixel_prior_summary.py"


rule pixel_prior_figure_tv_error:
    input:
        metrics=rules.pixel_prior_summary.output.metrics,
        selection=rules.pixel_prior_summary.output.selection,
    output:
        report(
            "results/figures/erion_fig1_pixel_prior_tv_error.png",
            caption="../report/erion_fig1_pixel_prior_tv_error.rst",
            category="Erion et al. — pixel prior",
            labels={"figure": "Fig. 1 (left): TV and test error vs λ"},
        ),
    log:
        f"{LOGS}/pixel_prior_figure_tv_error.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/pixel_prior_figure_tv_error.py"


rule pixel_prior_figure_maps:
    input:
        maps=expand(f"{PP}/attributions/{{m}}_maps.npz", m=PP_MODELS),
        selection=rules.pixel_prior_summary.output.selection,
    output:
        true_class=report(
            "results/figures/erion_fig1_pixel_prior_attribution_maps.png",
            caption="../report/erion_fig1_pixel_prior_attribution_maps.rst",
            category="Erion et al. — pixel prior",
            labels={"figure": "Fig. 1 call-outs: EG maps, true class"},
        ),
        all_classes=report(
            "results/figures/erion_supfig3_4_pixel_prior_all_classes.png",
            caption="../report/erion_supfig3_4_pixel_prior_all_classes.rst",
            category="Erion et al. — pixel prior",
            labels={"figure": "Supp. Figs. 3-4: EG maps, all classes"},
        ),
    log:
        f"{LOGS}/pixel_prior_figure_maps.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    script:
        "../scripts/pixel_prior_figure_maps.py"


rule pixel_prior_figure_noise:
    input:
        metrics=rules.pixel_prior_summary.output.metrics,
        selection=rules.pixel_prior_summary.output.selection,
        data=rules.pixel_prior_data.output[0],
    output:
        report(
            "results/figures/erion_fig1_supfig5_pixel_prior_noise.png",
            caption="../report/erion_fig1_supfig5_pixel_prior_noise.rst",
            category="Erion et al. — pixel prior",
            labels={"figure": "Fig. 1 (right) / supp. Fig. 5: accuracy vs noise"},
        ),
    log:
        f"{LOGS}/pixel_prior_figure_noise.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        seed=config["seed"],
    script:
        "../scripts/pixel_prior_figure_noise.py"


final(
    rules.pixel_prior_summary.output.csv,
    rules.pixel_prior_summary.output.md,
    rules.pixel_prior_figure_tv_error,
    rules.pixel_prior_figure_maps,
    rules.pixel_prior_figure_noise,
)
claim_inputs(rules.pixel_prior_summary.output.metrics)
