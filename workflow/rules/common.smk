# Shared helpers: config validation, output lists, resources.
# (Each script puts ../../src on sys.path first, so the library needs no install, also in conda envs.)
from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

RESULTS = "results"
LOGS = "results/logs"
BENCH = "results/benchmarks"


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
    ) + ["results/figures/erion_supfig1_eg_convergence.png"]
