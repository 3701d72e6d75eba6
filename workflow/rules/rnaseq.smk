# RNA-seq data layer (issue 3): drug-response data, preprocessing, patient splits, pasilla ComBat check, gene sets.
# Logic: src/attrpriors/experiments/rnaseq_data.py. Outputs other experiments read (config block `rnaseq:`):
#   results/rnaseq/calibration.json          the count simulator's calibration: pydeseq2 dispersion trends, gene
#                                            means, library sizes of inmoose's airway and pasilla (fitted once)
#   results/rnaseq/data/                     the data set, same files for both sources (rnaseq.source):
#       counts.npz        counts (patients × genes, int), gene_lengths, is_coding
#       genes.tsv         gene, length, is_coding (+ importance, degree: simulation ground truth)
#       samples.tsv       patient, batch
#       response.tsv      patient, drug, response (long table)
#       graph_edges.tsv   gene_a, gene_b, weight: the gene–gene graph (HumanBase at paper scale)
#       random_graph_edges.tsv   same number of edges at random positions
#       truth.json        kind, params; simulation: driving_pathways, informative_meta, noise_meta, drugs
#     simulation only: pathways.tsv (pathway, gene), drug_pathways.tsv (drug, pathway, weight),
#       meta_features.tsv (gene + meta-features), pathway_expression.tsv
#   results/rnaseq/preprocessed/expression.npz   X (patients × genes float32, FPKM→coding→zeros→log2→z→ComBat),
#                                                genes, patients, batch
#   results/tables/rnaseq_preprocessing_steps.csv   genes in/out per step; batch silhouette before/after ComBat
#   results/rnaseq/splits/split{i}.json          {split, seed, train, val, test}: patient ids, i < rnaseq.splits.n
#   results/rnaseq/gene_sets/KEGG.gmt            gene set library (bundled KEGG_2021_Human, or KEGG_2019_Human)
#   results/figures/rnaseq_pasilla_combat_pca.png   pasilla PCA before / after ComBat (+ table in results/tables/)
# source: download fetches the registry files (attrpriors.data.download.REGISTRY) into resources/rnaseq/<name>.
RNA = f"{RESULTS}/rnaseq"
RNA_CFG = config["rnaseq"]
RNA_DATA = f"{RNA}/data"
RNA_DL = RNA_CFG.get("download", {})


include: "helpers/rnaseq.smk"


wildcard_constraints:
    resource="[a-z0-9_]+",


rule rnaseq_download:
    output:
        "resources/rnaseq/{resource}",
    log:
        f"{LOGS}/rnaseq_download/{{resource}}.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        name=lambda wc: wc.resource,
    script:
        "../scripts/rnaseq_download.py"


rule rnaseq_calibration:
    output:
        f"{RNA}/calibration.json",
    log:
        f"{LOGS}/rnaseq_calibration.log",
    conda:
        "../../envs/rnaseq.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        calibration=RNA_CFG["calibration"],
        seed=config["seed"],
    script:
        "../scripts/rnaseq_calibration.py"


rule rnaseq_data:
    input:
        unpack(rnaseq_source_inputs),
    output:
        [f"{RNA_DATA}/{f}" for f in rnaseq_data_files()],
    log:
        f"{LOGS}/rnaseq_data.log",
    conda:
        "../../envs/rnaseq.yaml"
    threads: 1
    resources:
        mem_mb=16000 if RNA_CFG["source"] == "download" else 4000,
        runtime=60 if RNA_CFG["source"] == "download" else 20,
    params:
        source=RNA_CFG["source"],
        simulation=RNA_CFG["simulation"],
        download=RNA_DL,
        seed=config["seed"],
    script:
        "../scripts/rnaseq_data.py"


rule rnaseq_preprocess:
    input:
        [
            f"{RNA_DATA}/{f}"
            for f in ("counts.npz", "genes.tsv", "samples.tsv", "truth.json")
        ],
    output:
        expression=f"{RNA}/preprocessed/expression.npz",
        report="results/tables/rnaseq_preprocessing_steps.csv",
    log:
        f"{LOGS}/rnaseq_preprocess.log",
    conda:
        "../../envs/rnaseq.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        preprocess=RNA_CFG["preprocess"],
    script:
        "../scripts/rnaseq_preprocess.py"


rule rnaseq_splits:
    input:
        rules.rnaseq_preprocess.output.expression,
    output:
        expand(f"{RNA}/splits/split{{i}}.json", i=range(RNA_CFG["splits"]["n"])),
    log:
        f"{LOGS}/rnaseq_splits.log",
    localrule: True
    conda:
        TORCH_ENV
    threads: 1
    params:
        splits=RNA_CFG["splits"],
        seed=config["seed"],
    script:
        "../scripts/rnaseq_splits.py"


rule rnaseq_figure_pasilla_combat:
    output:
        png=report(
            "results/figures/rnaseq_pasilla_combat_pca.png",
            caption="../report/rnaseq_pasilla_combat_pca.rst",
            category="RNA-seq data layer",
            labels={"figure": "pasilla PCA before / after ComBat"},
        ),
        table="results/tables/rnaseq_pasilla_combat_pca.csv",
    log:
        f"{LOGS}/rnaseq_figure_pasilla_combat.log",
    localrule: True
    conda:
        "../../envs/rnaseq.yaml"
    threads: 1
    params:
        pasilla=RNA_CFG["pasilla"],
    script:
        "../scripts/rnaseq_figure_pasilla_combat.py"


rule rnaseq_gene_sets:
    input:
        gmt=(
            [f"resources/rnaseq/{RNA_CFG['gene_sets']['download']}"]
            if RNA_CFG["gene_sets"]["source"] == "download"
            else []
        ),
    output:
        f"{RNA}/gene_sets/KEGG.gmt",
    log:
        f"{LOGS}/rnaseq_gene_sets.log",
    localrule: True
    conda:
        "../../envs/rnaseq.yaml"
    threads: 1
    params:
        source=RNA_CFG["gene_sets"]["source"],
        library=RNA_CFG["gene_sets"]["library"],
    script:
        "../scripts/rnaseq_gene_sets.py"


rule rnaseq_simulator_vs_real:
    input:
        calibration=rules.rnaseq_calibration.output[0],
        data=f"{RNA_DATA}/counts.npz",
        expression=rules.rnaseq_preprocess.output.expression,
    output:
        png=report(
            "results/figures/rnaseq_simulator_vs_real.png",
            caption="../report/rnaseq_simulator_vs_real.rst",
            category="RNA-seq data layer",
            labels={"figure": "count simulator vs real counts"},
        ),
        csv="results/tables/rnaseq_simulator_vs_real.csv",
        md=report(
            "results/tables/rnaseq_simulator_vs_real.md",
            caption="../report/rnaseq_simulator_vs_real.rst",
            category="RNA-seq data layer",
            labels={"table": "count simulator vs real counts"},
        ),
    log:
        f"{LOGS}/rnaseq_simulator_vs_real.log",
    conda:
        "../../envs/rnaseq.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        seed=config["seed"],
    script:
        "../scripts/rnaseq_simulator_vs_real.py"


final(
    rules.rnaseq_preprocess,
    rules.rnaseq_splits,
    rules.rnaseq_gene_sets,
    rules.rnaseq_figure_pasilla_combat,
)
if RNA_CFG["source"] == "simulated":
    final(rules.rnaseq_simulator_vs_real)
