# What every experiment shares: config validation, paths, training resources, strength grids, final outputs (an
# experiment's own helpers live in its .smk). Scripts put ../../src on sys.path: no install needed, also in conda envs.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

sys.path.insert(0, str(ATTRPRIORS_DIR / "src"))
from attrpriors.config_check import (
    ConfigError,
    check_config,
    load_config,
    merge_overlay,
    order_like,
)

# every config check (schema + cross-key) lives in attrpriors.config_check; errors are a few lines, no schema dump.
# Snakemake puts the keys of --configfile/--config overlays first: restore config.yaml's key order, so that job and
# table orders do not depend on how an overlay is written
try:
    _defaults = load_config(base=ATTRPRIORS_DIR / "config.yaml")
    # a module's `config:` may hold only the keys it changes: merge it over the defaults (a no-op at top level,
    # where Snakemake has merged config.yaml and every --configfile already)
    _merged = merge_overlay(_defaults, config)
    config.clear()
    config.update(_merged)
    order_like(config, _defaults)
    check_config(
        config,
        ATTRPRIORS_DIR / "workflow/schemas/config.schema.yaml",
        read_data=workflow.is_main_process,
    )
except ConfigError as err:
    raise WorkflowError(str(err)) from None

# a run killed with SIGKILL leaves .snakemake/locks behind: remove them when no process of an earlier run is alive
# here (its main process or a job); if one is, stop naming it, in a dry run too (Snakemake's lock check only warns)
# where outputs go: "results/..." here; "<prefix>/results/..." inside a host workflow that uses this one as a module
# with `prefix:` (Snakemake prefixes the rules' paths itself; this is for the paths the workflow checks on its own)
OUTPUT_PREFIX = (
    getattr(getattr(workflow.modifier, "path_modifier", None), "prefix", None) or ""
)

if workflow.is_main_process:
    from snakemake.logging import logger
    from attrpriors.workflow import claim_workdir

    removed, orphans, active = claim_workdir(
        sys.argv[1:], ".", (f"{OUTPUT_PREFIX}results", f"{OUTPUT_PREFIX}resources")
    )
    if active:
        raise WorkflowError(active)
    if removed:
        logger.warning(
            f"Removed the lock left by a killed run in {Path.cwd()}/.snakemake/locks "
            "(no process of it is alive here); resuming."
        )
    if orphans:
        logger.warning(
            f"Removed {len(orphans)} temporary or checksum file(s) a killed or failed job left behind, e.g. "
            f"{orphans[0]}."
        )

# the conda env of the model rules (with --sdm conda): torch's CUDA wheel (PyPI) when the run asks for a GPU,
# else the CPU-only wheel; both envs hold the same packages (tests/test_envs.py)
TORCH_ENV = (
    "../../envs/torch.yaml"
    if config["use_gpu"] or str(config["device"]).startswith("cuda")
    else "../../envs/torch-cpu.yaml"
)

RESULTS = "results"
LOGS = "results/logs"  # results/logs/<rule>/...: one log per job
BENCH = "results/timings"  # results/timings/<rule>/...: benchmark: files of the training and attribution jobs
# The default target `all` (Snakefile) asks for these; each .smk names its final rules with final(...).
FINAL_OUTPUTS = []
# the same outputs by experiment (the .smk that called final()): the claims stability runs ask for one
# experiment's outputs with target rule claims_inputs_<experiment> (workflow/rules/claims.smk)
FINAL_BY_EXPERIMENT = {}


def _including_experiment():
    """The experiment of the rule file being read (the .smk that calls final() or claim_inputs())."""
    return Path(str(workflow.included_stack[-1].get_path_or_uri(secret_free=True))).stem


def _paths(outputs, wildcards):
    """Paths of ``rules.<name>`` (all its outputs), a path, or a list of paths (e.g. ``rules.<name>.input.<key>``),
    expanded over ``wildcards`` when given."""
    paths = []
    for out in outputs:
        if hasattr(out, "output"):
            paths += list(out.output)
        elif isinstance(out, str):
            paths.append(out)
        else:
            paths += list(out)
    return expand(paths, **wildcards) if wildcards else paths


def final(*outputs, **wildcards):
    """Add ``outputs`` to the default target: ``rules.<name>`` (all its outputs) or ``rules.<name>.output.<key>``,
    expanded over ``wildcards`` when the rule has wildcards.
    """
    paths = _paths(outputs, wildcards)
    FINAL_OUTPUTS.extend(paths)
    FINAL_BY_EXPERIMENT.setdefault(_including_experiment(), []).extend(paths)


# tidy tables that the claims registry (workflow/claims.yaml) reads besides the final outputs, by experiment: the
# claims rule declares them as inputs and reads no other file, so a table left in results/ by another
# configuration (e.g. the seeds of an earlier, larger run) is never mistaken for this run's
CLAIM_INPUTS_BY_EXPERIMENT = {}


def claim_inputs(*outputs, **wildcards):
    """Declare intermediate tables the claims registry reads: paths, lists of paths or ``rules.<name>.output.<key>``
    / ``rules.<name>.input.<key>``, expanded over ``wildcards`` when given."""
    CLAIM_INPUTS_BY_EXPERIMENT.setdefault(_including_experiment(), []).extend(
        _paths(outputs, wildcards)
    )


def train_resources(mem_mb=2000, runtime=60):
    """Resources of a training rule: a GPU only when config asks for one."""
    res = {"mem_mb": mem_mb, "runtime": runtime, "cpus_per_task": 2}
    if config["use_gpu"]:
        res["gpu"] = 1
    return res


def strength_grid(spec, baseline=False, num=None):
    """Regularisation strengths of a sweep spec {scale: log|linear, min, max, num}; [0.0] + grid if baseline.

    log: num values log-spaced from min to max (inclusive); linear: evenly spaced. num overrides spec["num"].
    """
    import math

    n = int(num if num is not None else spec["num"])
    lo, hi = float(spec["min"]), float(spec["max"])
    if spec.get("scale", "log") == "log":
        a, b = math.log10(lo), math.log10(hi)
        grid = [10 ** (a + (b - a) * i / (n - 1)) if n > 1 else lo for i in range(n)]
    else:
        grid = [lo + (hi - lo) * i / (n - 1) if n > 1 else lo for i in range(n)]
    return ([0.0] if baseline else []) + grid
