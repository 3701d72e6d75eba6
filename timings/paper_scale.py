"""Project the compute of the paper-scale run (config.yaml + config/paper.yaml) from measured step times.

    .venv/bin/python timings/paper_scale.py                        # every modelled rule (a few minutes on 2 CPUs)
    .venv/bin/python timings/paper_scale.py --rules benchmark_train_mlp benchmark_attributions --steps 3

1. Job counts per rule come from ``snakemake -n --nolock --forceall --rerun-incomplete --configfile config/paper.yaml
   --quiet rules`` (offline, writes nothing; --forceall counts every job of a run from scratch, --rerun-incomplete
   only stops a concurrent run's incomplete outputs from aborting the dry run). The merged config is config.yaml
   with the overlay merged over it by ``attrpriors.config_check.load_config`` (what ``--configfile`` does).
2. Every rule that trains or attributes at scale gets its workload from the experiment itself:
   ``attrpriors.experiments.<experiment>.workload(config, <data sizes the config cannot know>)`` returns, per rule
   and variant, the jobs, fits per job, model spec, training settings (*maximum* epochs), split sizes, prior and
   explained rows / references, derived with the same helpers the experiment's jobs use. Here each is only
   turned into timed parts with the library's own pieces: the model from ``attrpriors.models``, the paper's input
   shape (random tensors of that shape), the prior (``attrpriors.priors``; EG priors back-propagate through the
   attributions) and the real attribution calls.
3. On the device ``attrpriors.training.select_device("auto")`` picks, it times ``--steps`` real optimisation steps
   (``attrpriors.training.fit`` epochs of ``--steps`` batches after a 2-batch warm-up fit, the fastest of
   ``--repeats``) and the real attribution / prediction calls on batches grown until one call lasts
   ``--min-seconds`` (fastest of ``--repeats``).
   Per job: Σ (units per job × measured seconds per unit), units being optimisation steps
   (epochs × ceil(n_train / batch) × fits), validation rows (one forward pass per row per epoch), explained rows ×
   references or steps, and prediction rows. Epochs are the configured maximum, so early stopping makes every
   training figure an upper bound; so are IG steps (every doubling up to ``ig.max_steps``).
4. Writes ``timings/results/paper_scale_<device>.{csv,md}`` atomically (``_partial`` added with ``--rules``) and
   prints the per-rule table, the per-variant detail and the grand total in device-hours. Rules not modelled
   (downloads, data preparation, metrics, figures, tables) are listed with their job count and marked not timed.

Dataset sizes that the config cannot give (MNIST, NHANES I, Beat AML, TCGA) are in ``DATA`` below; those marked
``assumed`` are estimates made offline — correct them with ``--set beat_aml.n_genes=17000`` once the data is known.
Seeds are fixed (``--seed``), so the random inputs and initial weights are the same every run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # the library, without an install (as the workflow scripts do)

from attrpriors import attributions as A  # noqa: E402
from attrpriors.augmentation import make_batch_transform  # noqa: E402
from attrpriors.evaluation import mean_abs_expected_gradients  # noqa: E402
from attrpriors.data.two_moons import make_two_moons_nuisance, mean_std_meta_features  # noqa: E402
from attrpriors.experiments import benchmark as bm_exp  # noqa: E402
from attrpriors.experiments import dapr as dapr_exp  # noqa: E402
from attrpriors.experiments import dna_consistency as dna_exp  # noqa: E402
from attrpriors.experiments import graph_prior as gp_exp  # noqa: E402
from attrpriors.experiments import ig_limits as igl_exp  # noqa: E402
from attrpriors.experiments import pixel_prior as pp_exp  # noqa: E402
from attrpriors.experiments import sparsity_prior as sp_exp  # noqa: E402
from attrpriors.io import atomic_path, save_table  # noqa: E402
from attrpriors.models import MLP, GeneInteractionInputs, build_model  # noqa: E402
from attrpriors.priors import (DAPrPrior, EvalModeAttributionPrior, GraphPrior, MetaWeightPrior,  # noqa: E402
                               total_variation_penalty, weight_l1, weight_l2)
from attrpriors.seeds import derive_seed, seed_everything  # noqa: E402
from attrpriors.training import FitConfig, Optimizers, fit, predict, select_device  # noqa: E402

#: Dataset sizes the config does not hold. ``source`` says where a number comes from; ``assumed`` ones are offline
#: estimates (override with --set name.key=value).
DATA: dict[str, dict] = {
    "mnist": {"pool": 60_000, "test": 10_000, "image_size": 28, "channels": 1, "classes": 10,
              "source": "MNIST: 60,000 training / 10,000 test images, 28 × 28"},
    "nhanes": {"n_samples": 13_000, "n_features": 79,
               "source": "NHANES I (shap CSVs): 79 features; 13,000 patients with a known 10-year status "
                         "(the paper's 7,500/2,500/3,000 split) — assumed"},
    "beat_aml": {"n_genes": 16_000, "n_drugs": 150, "n_rows": 50_000, "n_edges": 1_000_000,
                 "source": "Beat AML 2.0 + HumanBase: 16,000 genes after the coding / zero filters, 150 drugs with "
                           ">= 100 patients, 50,000 (patient, drug) rows, 1,000,000 graph edges — assumed"},
    "beat_aml_dasatinib": {"n_samples": 450, "n_genes": 12_000,
                           "source": "Beat AML Dasatinib: 450 samples, 12,000 coding genes with MERGE features "
                                     "— assumed"},
    "tcga": {"n_samples": 10_000, "n_genes": 20_531, "n_classes": 33,
             "source": "TCGA PanCanAtlas: 20,531 genes (before dropping genes with missing values), about 10,000 "
                       "primary tumours (one aliquot per patient), 33 cancer types — assumed"},
}

#: Rows per forward pass of attrpriors.training.predict and of the fit loop's validation.
PREDICT_BATCH = 4096

#: Rules without a workload here: why they are not timed (default: "not timed (seconds each)").
NOT_TIMED_NOTES = {
    "graph_prior_train_lasso": "not timed (scikit-learn LASSO on CPU over the α grid, no device work)",
    "graph_prior_sweep_cell": "not timed (beyond the paper: small simulated cells, CPU)",
    "ig_limits_tcga": "not timed (CPU: parses the PanCanAtlas table once)",
    "rnaseq_data": "not timed (CPU data preparation, once)",
    "rnaseq_preprocess": "not timed (CPU preprocessing incl. ComBat, once)",
}


# ------------------------------------------------------------------------------------------------- config
def load_config(overlay: Path) -> dict:
    """config.yaml with ``overlay`` merged over it as Snakemake's --configfile does (attrpriors.config_check)."""
    from attrpriors.config_check import load_config as resolve

    return resolve(overlay, base=ROOT / "config.yaml")


class Node(dict):
    """A config mapping that knows its dotted path: a missing key raises an error naming the full key."""

    def __init__(self, data: Mapping, path: str, source: str) -> None:
        super().__init__(data)
        self.path, self.source = path, source

    def _wrap(self, key, value):
        return Node(value, f"{self.path}.{key}", self.source) if isinstance(value, Mapping) else value

    def __getitem__(self, key):
        if key not in self:
            raise KeyError(f"config key '{self.path}.{key}' is missing from {self.source}")
        return self._wrap(key, super().__getitem__(key))

    def items(self):
        return [(k, self._wrap(k, v)) for k, v in super().items()]


class Config:
    """Read access to the merged config by dotted key; a missing key raises an error that names it."""

    def __init__(self, data: Mapping, source: str) -> None:
        self.data, self.source = data, source

    def __call__(self, key: str, default=KeyError):
        node = self.data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if default is not KeyError:
                    return default
                raise KeyError(f"config key {key!r} is missing from {self.source}")
            node = node[part]
        return Node(node, key, self.source) if isinstance(node, Mapping) else node


def apply_overrides(pairs: list[str]) -> None:
    """``--set name.key=value`` into :data:`DATA` (value parsed as YAML: numbers stay numbers)."""
    for pair in pairs:
        if "=" not in pair or "." not in pair.split("=", 1)[0]:
            raise ValueError(f"--set expects name.key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        name, field_ = key.split(".", 1)
        if name not in DATA or field_ not in DATA[name]:
            known = [f"{n}.{k}" for n, d in DATA.items() for k in d if k != "source"]
            raise KeyError(f"--set {key}: unknown data size; known: {known}")
        DATA[name][field_] = yaml.safe_load(value)
        DATA[name]["source"] += f" [{field_} set to {value} on the command line]"


# ------------------------------------------------------------------------------------------------ job counts
def snakemake_job_counts(configfile: Path) -> dict[str, int]:
    """Jobs per rule of the whole paper-scale DAG from a dry run's "Job stats" table."""
    cmd = [str(ROOT / ".venv/bin/snakemake"), "-n", "--nolock", "--forceall", "--rerun-incomplete",
           "--configfile", str(configfile), "--quiet", "rules"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{text[-3000:]}")
    return job_stats(text, " ".join(cmd))


def job_stats(text: str, what: str = "snakemake") -> dict[str, int]:
    """Jobs per rule from the first "Job stats" table in the output ``text`` of a Snakemake (dry) run."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Job stats:")
    except StopIteration:
        raise RuntimeError(f"no 'Job stats:' table in the output of {what}") from None
    counts: dict[str, int] = {}
    for line in lines[start + 3:]:  # title, header, dashes
        m = re.fullmatch(r"\s*(\S+)\s+(\d+)\s*", line)
        if not m:
            break
        if m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


# ------------------------------------------------------------------------------------------------ measurement
@dataclass
class Part:
    """``count`` units (over all jobs of a workload) that cost ``seconds()`` each."""

    label: str
    count: float
    unit: str
    seconds: Callable[[], float]


@dataclass
class Workload:
    rule: str
    variant: str
    jobs: int
    words: str
    parts: list[Part] = field(default_factory=list)


class Bench:
    """Times real library calls on one device; results are memoised by key."""

    def __init__(self, device: torch.device, steps: int, repeats: int, min_seconds: float, seed: int) -> None:
        self.device, self.steps, self.repeats, self.min_seconds, self.seed = device, steps, repeats, min_seconds, seed
        self.memo: dict[str, object] = {}

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def cached(self, key: str, fn: Callable[[], object], parts: tuple[str, str] = ("per row", "per call")
               ) -> Callable[[], object]:
        """``fn`` evaluated once, on first use (so that --rules measures only what it reports); ``parts`` names
        the two values of a tuple result in the progress line."""
        def get():
            if key not in self.memo:
                t0 = time.perf_counter()
                value = fn()
                self.memo[key] = value
                shown = (f"{fmt_seconds(value[0])} {parts[0]} + {fmt_seconds(value[1])} {parts[1]}"
                         if isinstance(value, tuple) else fmt_seconds(value))
                print(f"  measured {key}: {shown} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
            return self.memo[key]
        return get

    def generator(self, *names) -> torch.Generator:
        return torch.Generator().manual_seed(derive_seed(self.seed, *names))

    def inputs(self, n: int, shape: tuple, kind: str, *names) -> torch.Tensor:
        """Random CPU inputs: ``normal`` (standardised features), ``unit`` (images in [0, 1]), ``onehot`` (DNA)."""
        g = self.generator("inputs", *names)
        if kind == "normal":
            return torch.randn((n, *shape), generator=g)
        if kind == "unit":
            return torch.rand((n, *shape), generator=g)
        if kind == "onehot":  # (n, 4, L)
            idx = torch.randint(0, shape[0], (n, shape[1]), generator=g)
            return torch.nn.functional.one_hot(idx, shape[0]).permute(0, 2, 1).float().contiguous()
        raise ValueError(f"unknown input kind {kind!r}")

    def targets(self, n: int, task: str, n_classes: int, *names) -> torch.Tensor:
        g = self.generator("targets", *names)
        if task == "classification":
            return torch.randint(0, n_classes, (n,), generator=g)
        return torch.randn(n, generator=g)

    def fit_step(self, key: str, make_model: Callable[[], torch.nn.Module], shape: tuple, kind: str, task: str,
                 n_classes: int, training: Mapping, overrides: Mapping | None = None, prior=None,
                 weight_penalty=None, batch_transform=None) -> Callable[[], float]:
        """Seconds per optimisation step of :func:`attrpriors.training.fit` with the rule's settings.

        A 2-batch fit warms up (allocator, kernels); then ``--repeats`` epochs of ``--steps`` batches each are
        timed by the fit loop's own per-epoch clock and the fastest is kept (robust to other load on the machine).
        No validation data: its cost is counted separately per row.
        """
        def measure() -> float:
            seed_everything(derive_seed(self.seed, key))
            model = make_model()
            p = prior() if callable(prior) and not isinstance(prior, torch.nn.Module) else prior
            bs = int(training["batch_size"])
            X = self.inputs(bs * self.steps, shape, kind, key)
            y = self.targets(bs * self.steps, task, n_classes, key)
            kwargs = dict(task=task, prior=p, weight_penalty=weight_penalty, batch_transform=batch_transform)
            base = {**dict(training), **dict(overrides or {})}
            warm = FitConfig.from_mapping(base, epochs=1, patience=10**9, seed=derive_seed(self.seed, key, "warm"),
                                          device=str(self.device), progress=False)
            fit(model, X[: 2 * bs], y[: 2 * bs], config=warm, **kwargs)
            cfg = FitConfig.from_mapping(base, epochs=self.repeats, patience=10**9,
                                         seed=derive_seed(self.seed, key), device=str(self.device), progress=False)
            res = fit(model, X, y, config=cfg, **kwargs)
            return float(res.history["seconds"].min()) / self.steps
        return self.cached(f"{key} · fit step", measure)

    def stacked_epoch(self, key: str, penalty: str, strength: float, n_models: int, n_features: int,
                      batch_size: int, n_val: int, spec: Mapping, training: Mapping, n_references: int,
                      max_models: int = 16) -> tuple[Callable[[], float], Callable[[], float]]:
        """(seconds per optimisation step, seconds per epoch-end validation pass) of one stack of ``n_models``
        single-logit MLPs trained by :func:`attrpriors.experiments.sparsity_prior.train_models` (the sparsity
        experiment's trainer: every model of a sweep job or of a small-data step in one stack).

        Steps: one-epoch calls of ``train_models`` on ``--steps`` batches with a 2-row validation set (fastest of
        ``--repeats``, after a warm-up). Validation pass: what ``train_stacked`` does at every epoch's end on
        ``n_val`` rows (the stack's logits, its BCE and ROC-AUC per model; fastest of ``--repeats``). Stacks larger
        than ``max_models`` are timed at ``max_models`` models and scaled linearly (a stack's arithmetic grows in
        proportion to its models; the fixed per-step cost a bigger stack shares makes this an upper bound).
        The stacked trainer runs on the CPU whatever ``--device`` is, as the experiment's jobs do.
        """
        from attrpriors.stacked import StackedMLP, _bce_per_model, stacked_roc_auc

        m = min(int(n_models), int(max_models))
        scale = int(n_models) / m
        bs = int(batch_size)
        tr = {k: training[k] for k in ("lr", "weight_decay") if k in training}
        seeds = [derive_seed(self.seed, key, i) for i in range(m)]
        yv2 = np.array([0, 1])

        def steps(n_steps: int) -> float:
            X = self.inputs(bs * n_steps, (n_features,), "normal", key, "train").numpy()
            y = (np.arange(bs * n_steps) % 2).astype(np.float32)  # both classes in every batch
            Xv = self.inputs(2, (n_features,), "normal", key, "val2").numpy()
            t0 = time.perf_counter()
            sp_exp.train_models(penalty, [float(strength)] * m, seeds, X, y, Xv, yv2, spec,
                                {**tr, "epochs": 1, "batch_size": bs}, n_references, retries=0)
            self.sync()
            return (time.perf_counter() - t0) / n_steps

        def validation() -> float:
            hidden = dict(spec).get("hidden", [64, 32])
            stack = StackedMLP.initialized(n_features, hidden, seeds, dict(spec).get("activation", "relu")).eval()
            Xv = self.inputs(n_val, (n_features,), "normal", key, "val")
            yv = np.arange(n_val) % 2
            t0 = time.perf_counter()
            with torch.no_grad():
                logits = stack(Xv)
                _bce_per_model(logits, torch.as_tensor(yv, dtype=logits.dtype))
            stacked_roc_auc(yv, logits.numpy())
            return time.perf_counter() - t0

        def measure() -> tuple[float, float]:
            steps(1)  # warm-up
            n = max(1, int(self.steps))
            step = min(steps(n) for _ in range(self.repeats))
            val = min(validation() for _ in range(max(2, self.repeats)))
            return step * scale, val * scale

        get = self.cached(f"{key} · stack of {n_models} (timed at {m})", measure,
                          ("per step", "per validation pass"))
        return (lambda: get()[0]), (lambda: get()[1])

    def per_row(self, key: str, call: Callable[[int], object], max_rows: int) -> Callable[[int], float]:
        """``cost(chunk)``: seconds per row of ``call`` when one call handles ``chunk`` rows.

        ``call(1)`` warms up, then is timed ``--repeats`` times (fastest kept: ``t1``); the batch then grows until
        one call lasts ``--min-seconds`` and twice ``t1`` (or holds ``max_rows``) and is timed the same way
        (``tR``). The line through the two points splits the time into a per-row part and a per-call part (e.g.
        the GCN builds its normalised adjacency once per forward pass, IG its quadrature nodes once per call), so
        that a small measured batch does not charge the per-call cost to every row of a large real one.
        """
        def timed(rows: int) -> float:
            t0 = time.perf_counter()
            call(rows)
            self.sync()
            return time.perf_counter() - t0

        def measure() -> tuple[float, float]:
            timed(1)
            t1 = min(timed(1) for _ in range(self.repeats))
            rows, t = 1, t1
            while (t < self.min_seconds or t < 2 * t1) and rows < max_rows:
                grow = max(self.min_seconds, 2 * t1) / max(t, 1e-6) * 1.2
                rows = int(min(max_rows, max(2 * rows, rows * grow)))
                t = timed(rows)
            if rows == 1:
                return t1, 0.0
            t_r = min([t] + [timed(rows) for _ in range(self.repeats - 1)])
            slope = max((t_r - t1) / (rows - 1), 0.0)
            return slope, max(t1 - slope, 0.0)

        get = self.cached(key, measure)
        return lambda chunk: get()[0] + get()[1] / max(1, int(chunk))

    def forward_rows(self, key: str, model_fn: Callable[[], torch.nn.Module], shape: tuple, kind: str,
                     max_rows: int = PREDICT_BATCH) -> Callable[[int], float]:
        """``cost(rows per call)``: seconds per row of :func:`attrpriors.training.predict` (eval mode, batches of
        4,096, host → device)."""
        state = self._model_and_inputs(key, model_fn, max_rows, shape, kind)

        def call(rows: int):
            model, X = state()
            return predict(model, X[:rows], device=str(self.device))
        return self.per_row(f"{key} · predict row", call, max_rows)

    def _model_and_inputs(self, key: str, model_fn: Callable[[], torch.nn.Module], rows: int, shape: tuple,
                          kind: str) -> Callable[[], tuple[torch.nn.Module, torch.Tensor]]:
        """The seeded model (eval mode, on the device) and ``rows`` random inputs, built on first use."""
        built: list = []

        def get():
            if not built:
                seed_everything(derive_seed(self.seed, key))
                built.extend([model_fn().to(self.device).eval(), self.inputs(rows, shape, kind, key)])
            return built[0], built[1]
        return get

    def attribution_rows(self, key: str, model_fn: Callable[[], torch.nn.Module], shape: tuple, kind: str,
                         attribute: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor],
                         max_rows: int, points_per_row: int, max_batch: int = A.DEFAULT_MAX_BATCH
                         ) -> Callable[[], float]:
        """Seconds per explained row of ``attribute(model, x)`` (a real attribution call of the library) when a job
        explains ``max_rows`` rows: the library evaluates ``max_batch // points_per_row`` rows per forward pass."""
        chunk = max(1, min(max_rows, max_batch // max(1, points_per_row)))
        state = self._model_and_inputs(key, model_fn, max_rows, shape, kind)

        def call(rows: int):
            model, X = state()
            return attribute(model, X[:rows].to(self.device)).detach()
        cost = self.per_row(f"{key} · explained row", call, max_rows)
        return lambda: cost(chunk)

    def once(self, key: str, fn: Callable[[], object]) -> Callable[[], float]:
        """Seconds of one call of ``fn`` (e.g. building a dense graph Laplacian)."""
        def measure() -> float:
            t0 = time.perf_counter()
            fn()
            self.sync()
            return time.perf_counter() - t0
        return self.cached(key, measure)


def fmt_seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s" if s < 100 else f"{s:,.0f} s"


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return math.ceil(n_train / batch_size)


def fit_parts(label: str, fits: float, epochs: int, n_train: int, batch_size: int, n_val: int,
              step: Callable[[], float], forward: Callable[[int], float] | None) -> list[Part]:
    """Optimisation steps of ``fits`` fits and (when ``n_val``) one validation pass per epoch."""
    parts = [Part(f"{label} steps", fits * epochs * steps_per_epoch(n_train, batch_size), "step", step)]
    if n_val and forward is not None:
        parts.append(Part(f"{label} validation rows", fits * epochs * n_val, "predict row",
                          per_call(forward, n_val)))
    return parts


def per_call(forward: Callable[[int], float], rows_per_call: int) -> Callable[[], float]:
    """Seconds per predicted row when each call predicts ``rows_per_call`` rows (in batches of 4,096)."""
    return lambda: forward(min(PREDICT_BATCH, rows_per_call))


def mlp_words(n_in: int, hidden, n_out: int) -> str:
    return "MLP " + "-".join(str(int(v)) for v in [n_in, *hidden, n_out])


# ------------------------------------------------------------------------------------------------ workloads
def rules_benchmark(c: Config, b: Bench) -> list[Workload]:
    """A1 (Erion et al. Table 1): :func:`attrpriors.experiments.benchmark.workload`, timed."""
    w = bm_exp.workload(c.data)
    p, rows_ = w["n_features"], w["rows"]
    n_train, n_val = rows_["train"], rows_["val"]
    job = w["train_mlp"]
    spec, tr = job["model"], job["training"]
    model = lambda: build_model(spec, p, w["n_outputs"])  # noqa: E731
    words_model = mlp_words(p, spec.get("hidden", []), w["n_outputs"])
    step = b.fit_step("benchmark MLP", model, (p,), "normal", w["task"], w["n_outputs"], tr)
    fwd = b.forward_rows("benchmark MLP", model, (p,), "normal")
    out = [Workload("benchmark_train_mlp", "", job["jobs"],
                    f"{words_model}, regression; {n_train} train rows, batch {tr['batch_size']} → "
                    f"{steps_per_epoch(n_train, tr['batch_size'])} steps/epoch × {tr['epochs']} epochs (max); "
                    f"{n_val} validation rows/epoch",
                    fit_parts("fit", job["jobs"] * job["fits_per_job"], tr["epochs"], n_train, tr["batch_size"],
                              n_val, step, fwd))]
    bg = b.inputs(min(n_train, 4096), (p,), "normal", "benchmark background").to(b.device)
    for method, att in w["attributions"].items():
        opts = dict(att["options"])
        baseline = opts.pop("baseline", "zero")
        if method == "integrated_gradients" and baseline != "zero":
            raise ValueError(f"benchmark.method_options.integrated_gradients.baseline={baseline!r}: only 'zero' is "
                             "modelled here")

        def attribute(net, x, method=method, opts=opts, bg=bg):
            kw = dict(opts)
            if method in ("expected_gradients", "random"):
                kw["generator"] = b.generator("benchmark", method)
            return A.attribute(method, net, x, None, bg if method == "expected_gradients" else None, **kw)

        rows = att["rows"]
        what = {"expected_gradients": f"EG, {opts.get('n_samples')} references from the training rows",
                "integrated_gradients": f"IG, {opts.get('n_steps')} steps, zero baseline"}.get(method, method)
        out.append(Workload("benchmark_attributions", method, att["jobs"],
                            f"{what} on {rows} test rows of the {words_model}",
                            [Part(f"{method} rows", att["jobs"] * rows, "explained row",
                                  b.attribution_rows(f"benchmark {method}", model, (p,), "normal", attribute,
                                                     rows, int(opts.get("n_samples", opts.get("n_steps", 1)))))]))
    conv = w["eg_convergence"]
    k_meas = 200  # EG cost grows linearly with the references: timed at 200, charged per row × reference
    rows_c, refs = conv["rows"], conv["references_per_row"]
    eg_row = b.attribution_rows(
        f"benchmark EG k={k_meas}", model, (p,), "normal",
        lambda net, x: A.expected_gradients(net, x, None, bg, n_samples=k_meas, generator=b.generator("conv")),
        rows_c, k_meas)
    out.append(Workload("benchmark_eg_convergence", "", conv["jobs"],
                        f"EG with {conv['truth']} references (truth) + {conv['repeats']} repeats × "
                        f"{conv['n_references']} references = {refs} references per row, {rows_c} test rows",
                        [Part("EG row-references", conv["jobs"] * rows_c * refs, "row × reference",
                              lambda: eg_row() / k_meas)]))
    return out


def rules_pixel_prior(c: Config, b: Bench) -> list[Workload]:
    """A2 (Erion et al. Fig. 1): :func:`attrpriors.experiments.pixel_prior.workload` on MNIST, timed."""
    if c("pixel_prior.data.source") != "download":
        raise ValueError("pixel_prior.data.source is not 'download': this projection models MNIST (paper scale)")
    m = DATA["mnist"]
    w = pp_exp.workload(c.data, m["pool"], m["test"], m["image_size"], m["channels"], m["classes"])
    n_train, n_val, n_test = w["rows"]["train"], w["rows"]["val"], w["rows"]["test"]
    size, classes, channels = w["image_size"], w["n_classes"], w["n_channels"]
    base, reg = w["train_cnn"]["baseline"], w["train_cnn"]["prior"]
    spec, tr, k = base["model"], base["training"], reg["n_references"]
    shape = (channels, size, size)
    model = lambda: build_model(spec, channels, classes)  # noqa: E731
    words = (f"image CNN {list(spec['channels'])} k{spec['kernel_size']} dense {spec['hidden']} on "
             f"{size}×{size}; {n_train} train images, batch {tr['batch_size']} → "
             f"{steps_per_epoch(n_train, tr['batch_size'])} steps/epoch × {tr['epochs']} epochs; {n_val} validation "
             "images/epoch")
    fwd = b.forward_rows("pixel CNN", model, shape, "unit")
    base_step = b.fit_step("pixel CNN, no prior", model, shape, "unit", "classification", classes, tr)
    prior_step = b.fit_step(
        "pixel CNN + TV prior", model, shape, "unit", "classification", classes, reg["training"],
        overrides={"prior_weight": reg["strength"]},
        prior=lambda: EvalModeAttributionPrior(total_variation_penalty, n_references=k, seed=b.seed))
    out = [
        Workload("pixel_prior_train_cnn", "λ = 0 (baseline)", base["jobs"], words,
                 fit_parts("fit", base["jobs"] * base["fits_per_job"], tr["epochs"], n_train, tr["batch_size"],
                           n_val, base_step, fwd)),
        Workload("pixel_prior_train_cnn", "λ > 0 (TV prior on EG)", reg["jobs"],
                 words + f"; + TV of EG (k = {k}, eval mode, double backprop) every batch",
                 fit_parts("fit", reg["jobs"] * reg["fits_per_job"], reg["training"]["epochs"], n_train,
                           reg["training"]["batch_size"], n_val, prior_step, fwd)),
    ]
    ev = w["evaluate_cnn"]
    k_eval, n_tv, n_maps, n_pred, jobs = (ev["n_references"], ev["tv_rows"], ev["map_rows"], ev["predicted_rows"],
                                          ev["jobs"])
    bg = b.inputs(min(n_train, 4096), shape, "unit", "pixel background").to(b.device)
    eg = b.attribution_rows(
        f"pixel CNN EG k={k_eval}", model, shape, "unit",
        lambda net, x: A.expected_gradients(net, x, torch.randint(0, classes, (len(x),), device=b.device), bg,
                                            n_samples=k_eval, generator=b.generator("pixel eg")),
        min(n_tv, ev["rows_per_call"]), k_eval)
    out.append(Workload("pixel_prior_evaluate_cnn", "", jobs,
                        f"EG ({k_eval} references) on {n_tv} test images + {n_maps} example maps "
                        f"({ev['example_images']} images × {classes} classes); {n_pred} predicted images "
                        f"(test, validation, {ev['noise_levels']} noise levels × {ev['noise_repeats']})",
                        [Part("EG rows", jobs * (n_tv + n_maps), "explained row", eg),
                         Part("predicted images", jobs * n_pred, "predict row", per_call(fwd, n_test))]))
    return out


def rules_sparsity_prior(c: Config, b: Bench) -> list[Workload]:
    """A4 (Erion et al. Fig. 3): :func:`attrpriors.experiments.sparsity_prior.workload` of NHANES I, timed: per
    penalty one job that trains every (strength, seed) of its sweep; small data: one job per block of subsamples."""
    if "nhanes" not in c("sparsity_prior.datasets") or c("sparsity_prior.cohorts.nhanes.source") != "download":
        raise ValueError("sparsity_prior.datasets has no downloaded 'nhanes' cohort: this projection models NHANES I")
    d = DATA["nhanes"]
    w = sp_exp.workload(c.data, {"nhanes": {"n_samples": d["n_samples"], "n_features": d["n_features"]}})
    cohort = w["cohorts"]["nhanes"]
    p = cohort["n_features"]
    n_train, n_val, n_test = cohort["rows"]["train"], cohort["rows"]["val"], cohort["rows"]["test"]

    sweep = w["train_mlp"].get("nhanes", {})
    small = w["small_data"]["nhanes"]
    spec = small["model"]
    model = lambda: build_model(spec, p, 1)  # noqa: E731  (the single-logit MLP a stack unstacks to)
    fwd = b.forward_rows("NHANES single-logit MLP", model, (p,), "normal")
    bg = b.inputs(min(n_train, 4096), (p,), "normal", "nhanes background").to(b.device)

    eg_by_k: dict[int, Callable[[], float]] = {}

    def eg_rows(k_eval: int) -> Callable[[], float]:
        if k_eval not in eg_by_k:
            eg_by_k[k_eval] = b.attribution_rows(  # phibar_of: EG of the logit, mean |φ| over the rows
                f"NHANES single-logit MLP EG k={k_eval}", model, (p,), "normal",
                lambda net, x: torch.from_numpy(mean_abs_expected_gradients(
                    net, x.cpu().numpy(), bg.cpu().numpy(), k_eval, b.seed, device=str(b.device))),
                n_test, k_eval)
        return eg_by_k[k_eval]

    out = []
    for penalty, job in sweep.items():
        tr, k, k_eval = job["training"], job["n_references"], job["eval_references"]
        eg = eg_rows(k_eval)
        base = (f"{mlp_words(p, job['model']['hidden'], 1)}; {n_train} train rows, batch {tr['batch_size']} → "
                f"{steps_per_epoch(n_train, tr['batch_size'])} steps × {tr['epochs']} epochs (fixed)")
        score = f"; scored: EG ({k_eval} references) on {n_val} validation + {n_test} test rows"
        what = {"none": f"{job['seeds']} seeds in the one job", "dropout": "dropout after every hidden layer",
                "attribution": f"EG prior (k = {k}, double backprop)"}.get(job["kind"], "weight penalty")
        if job["kind"] != "none":
            what += f"; {job['strengths']} strengths in the one job"
        fits = job["jobs"] * job["fits_per_job"]
        stack = job["fits_per_job"]  # every (strength, seed) of the job in one stack (train_sweep)
        step, val_pass = b.stacked_epoch(f"NHANES stacked MLP {penalty} (batch {tr['batch_size']})", penalty,
                                         job["first_strength"], stack, p, tr["batch_size"], n_val, job["model"], tr,
                                         k)
        n_steps = job["jobs"] * tr["epochs"] * steps_per_epoch(n_train, tr["batch_size"])
        out.append(Workload("sparsity_prior_train_mlp", penalty, job["jobs"], f"{base}; {what}{score}",
                            [Part(f"stack steps ({stack} models)", n_steps, "stack step", step),
                             Part(f"stack validation passes ({n_val} rows)", job["jobs"] * tr["epochs"],
                                  "validation pass", val_pass),
                             Part("EG score rows", fits * job["scored_rows"], "explained row", eg),
                             Part("predicted rows", fits * job["scored_rows"], "predict row",
                                  per_call(fwd, n_val))]))
    jobs, subsamples = small["jobs"], small["subsamples"]
    st, n_tr_s, n_va_s = small["training"], small["n_train"], small["n_val"]
    eg = eg_rows(small["eval_references"])
    parts, words = [], []
    bs_s = min(int(st["batch_size"]), n_tr_s)  # full batch when the batch is the subsample
    for penalty, pen in small["penalties"].items():
        fits = pen["fits"]
        # per subsample: one stack of the grid's models, then one of the restarts (small_data_replicate)
        for what, m in (("grid", pen["grid_fits"]), ("restarts", pen["restarts"])):
            if not m:
                continue
            step, val_pass = b.stacked_epoch(f"NHANES small-data stacked MLP {penalty} {what}", penalty,
                                             pen["first_strength"], m, p, bs_s, n_va_s, spec, st,
                                             small["n_references"])
            parts += [Part(f"{penalty} {what} stack steps ({m} models)",
                           subsamples * st["epochs"] * steps_per_epoch(n_tr_s, bs_s), "stack step", step),
                      Part(f"{penalty} {what} validation passes ({n_va_s} rows)", subsamples * st["epochs"],
                           "validation pass", val_pass)]
        parts.append(Part(f"{penalty} EG test rows", subsamples * pen["top"] * small["explained_rows"],
                          "explained row", eg))
        words.append(f"{penalty} {fits} fits")
    out.append(Workload("sparsity_prior_small_data", "", jobs,
                        f"per subsample ({small['subsamples_per_job']} per job): {', '.join(words)} "
                        f"({small['grid_points']} strengths + {small['restarts']} restarts; the unregularized model "
                        f"has no strengths) of {n_tr_s} rows, batch {st['batch_size']}, {st['epochs']} epochs; top "
                        f"{small['top']} scored with EG ({small['eval_references']} references) on "
                        f"{small['explained_rows']} test rows", parts))
    return out


def beat_aml_graph(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random undirected graph of the Beat AML size (each pair once, as ``graph_prior.graph_edges`` returns)."""
    d = DATA["beat_aml"]
    rng = np.random.default_rng(derive_seed(seed, "graph edges"))
    edges = np.sort(rng.integers(0, d["n_genes"], (d["n_edges"], 2)), axis=1)
    edges = np.unique(edges[edges[:, 0] != edges[:, 1]], axis=0)
    return edges, rng.uniform(0.1, 1.0, len(edges))


def graph_prior_workload(c: Config, n_edges: int) -> dict:
    """The experiment's own account of its paper-scale jobs (:func:`attrpriors.experiments.graph_prior.workload`)."""
    if c("rnaseq.source") != "download":
        raise ValueError("rnaseq.source is not 'download': this projection models Beat AML (paper scale)")
    d = DATA["beat_aml"]
    return gp_exp.workload(c.data, d["n_genes"], d["n_drugs"], d["n_rows"], n_edges)


def gcn_model(w: dict, edges: np.ndarray, weights: np.ndarray) -> Callable[[], torch.nn.Module]:
    return lambda: build_model(w["train"]["gcn"]["model"], w["n_inputs"], 1).set_graph(edges, weights)


def rules_graph_prior(c: Config, b: Bench) -> list[Workload]:
    """A3 (Erion et al. Fig. 2): network fits, fine-tuning with / without the graph prior, EG explanations."""
    edges, weights = beat_aml_graph(b.seed)
    w = graph_prior_workload(c, len(edges))
    G, D, n_in = w["n_genes"], w["n_drugs"], w["n_inputs"]
    n_train, n_val, n_test = w["rows"]["train"], w["rows"]["val"], w["rows"]["test"]
    shape = (n_in,)
    rows_words = f"{n_train} train rows, {n_val} validation rows/epoch"
    out: list[Workload] = []

    def net_model(name: str):
        if name in ("lasso", "graph_lasso"):
            return lambda: build_model({"type": "mlp", "hidden": []}, n_in, 1)
        if name == "gcn":
            return gcn_model(w, edges, weights)
        return lambda: build_model(dict(c("graph_prior.mlp.model")), n_in, 1)

    fwd = {name: b.forward_rows(f"graph-prior {name}", net_model(name), shape, "normal")
           for name in ("graph_lasso", "mlp", "gcn")}
    for name, job in w["train"].items():
        tr = job["training"]
        if name == "graph_lasso":
            wp = gp_exp.GraphLassoPenalty(1e-3, float(job["nus"][0]), edges, weights)  # λ' = 2α: no effect on cost
            words = f"linear model + L1 + ν'·wᵀLw ({len(edges)} edges), {len(job['nus'])} ν' values"
        else:
            l1, spec = job["l1"], job["model"]
            wp = gp_exp.WeightL1(l1) if l1 > 0 else None
            words = (f"GCN ({spec['channels']} channels per gene, {len(edges)} edges) + dense {list(spec['hidden'])}"
                     if name == "gcn" else mlp_words(n_in, spec["hidden"], 1)) + (f" + L1 {l1:g}" if l1 else "")
        step = b.fit_step(f"graph-prior {name}", net_model(name), shape, "normal", "regression", 1, tr,
                          weight_penalty=wp)
        out.append(Workload("graph_prior_train_network", name, job["jobs"],
                            f"{words}; {n_in} inputs ({G} genes + {D} drugs); {rows_words}; batch "
                            f"{tr['batch_size']} × {tr['epochs']} epochs (max)",
                            fit_parts("fit", job["jobs"] * job["fits_per_job"], tr["epochs"], n_train,
                                      tr["batch_size"], n_val, step, fwd[name])))
    prior_built: dict = {}

    def graph_prior(k: int):
        if "prior" not in prior_built:
            prior_built["prior"] = GraphPrior(edges, weights, n_nodes=G, n_references=k, input_slice=slice(0, G),
                                              seed=b.seed)
        return prior_built["prior"]

    build = b.once("graph prior: edge-list build",
                   lambda: GraphPrior(edges, weights, n_nodes=G, input_slice=slice(0, G)).to(b.device))
    for variant, job in w["finetune"].items():
        tr, jobs = job["training"], job["jobs"]
        wp = gp_exp.WeightL1(job["l1"]) if job["l1"] > 0 else None
        if not job["prior"]:
            step = b.fit_step("graph-prior finetune, no prior", net_model("mlp"), shape, "normal", "regression", 1,
                              tr, weight_penalty=wp)
            parts = fit_parts("fit", jobs, tr["epochs"], n_train, tr["batch_size"], n_val, step, fwd["mlp"])
            words = "the converged MLP, extra epochs without a prior"
        else:
            step = b.fit_step("graph-prior finetune + graph prior", net_model("mlp"), shape, "normal", "regression",
                              1, tr, overrides={"schedule": "joint", "prior_weight": 1.0},
                              prior=lambda k=job["n_references"]: graph_prior(k), weight_penalty=wp)
            parts = fit_parts("fit", jobs * job.get("fits_per_job", 1), tr["epochs"], n_train, tr["batch_size"],
                              n_val, step, fwd["mlp"])
            parts += [Part("ν balance batches (counted as steps)", jobs * job["balance_batches"], "step", step),
                      Part("graph build (edge list)", jobs, "build", build)]
            words = (f"the converged MLP + graph prior φ̄ᵀLφ̄ (sparse: {len(edges)} edges of {G} genes, EG k = "
                     f"{job['n_references']}, alternating task / prior steps), ν from {job['balance_batches']} "
                     "batches")
        out.append(Workload("graph_prior_finetune", variant, jobs,
                            f"{words}; {rows_words}; batch {tr['batch_size']} × {tr['epochs']} epochs", parts))
    ex = w["explain"]
    k, rows = ex["n_references"], ex["rows"]
    bg = b.inputs(min(n_train, 4096), shape, "normal", "graph background").to(b.device)
    models = list(ex["jobs"])
    groups = {"linear (lasso, graph_lasso)": [m for m in models if m in ("lasso", "graph_lasso")],
              "MLP (mlp and its fine-tuned variants)": [m for m in models if m in ("mlp",) + gp_exp.FINETUNED],
              "GCN": [m for m in models if m == "gcn"]}
    for (label, members), name in zip(groups.items(), ("graph_lasso", "mlp", "gcn")):
        if not members:
            continue
        eg = b.attribution_rows(
            f"graph-prior {name} EG k={k}", net_model(name), shape, "normal",
            lambda net, x: A.expected_gradients(net, x, None, bg, n_samples=k, generator=b.generator("gp eg")),
            rows, k)
        jobs = sum(ex["jobs"][m] for m in members)
        out.append(Workload("graph_prior_explain", label, jobs,
                            f"EG ({k} references from the training rows) on {rows} test rows of {', '.join(members)}; "
                            "GSEA prerank (CPU) not timed",
                            [Part("EG rows", jobs * rows, "explained row", eg)]))
    return out


def gcn_profile(c: Config, b: Bench) -> pd.DataFrame:
    """Where one paper-scale GCN training step spends its time: the graph convolution vs the dense layers after it.

    Times (fastest of ``--repeats`` after a warm-up, device-synchronised) the pieces of one batch of
    ``graph_prior.gcn.training.batch_size`` rows: building the normalised adjacency (once per model: cached),
    the graph convolution ``Â x``, the dense layers' forward pass, the whole forward pass, forward + backward, the
    optimiser step, and the whole step.
    """
    from attrpriors.graph import normalized_adjacency, symmetric_spmm

    edges, weights = beat_aml_graph(b.seed)
    w = graph_prior_workload(c, len(edges))
    tr, G = w["train"]["gcn"]["training"], w["n_genes"]
    seed_everything(derive_seed(b.seed, "gcn profile"))
    model = gcn_model(w, edges, weights)().to(b.device).train()
    bs = int(tr["batch_size"])
    x = b.inputs(bs, (w["n_inputs"],), "normal", "gcn profile").to(b.device)
    y = b.targets(bs, "regression", 1, "gcn profile").to(b.device)
    # the fit loop's optimiser for these settings (Optimizers.for_fit: Adam, fused kernel when fused_adam is set)
    opt = Optimizers.for_fit(model, None, FitConfig.from_mapping(tr, device=str(b.device), progress=False)).model
    kernel = "fused" if tr.get("fused_adam") else "default"
    coo, csr = model._adjacency()
    genes = x[:, :G]
    with torch.no_grad():
        z = symmetric_spmm(csr, genes.T).T
        h = model.act(z[:, :, None] * model.graph_weight + model.graph_bias).reshape(bs, -1)
        head_in = torch.cat([h, x[:, G:]], dim=1)

    def loss():
        return torch.nn.functional.mse_loss(model(x).reshape(-1), y)

    def fwd_bwd():
        opt.zero_grad()
        loss().backward()

    def step():
        fwd_bwd()
        opt.step()

    def grad_free(fn):
        def run():
            with torch.no_grad():
                fn()
        return run

    pieces = [
        ("normalised adjacency Â (built once per model, cached)",
         lambda: normalized_adjacency(model.edge_index, model.edge_weight, G)),
        ("graph convolution Â x (forward)", grad_free(lambda: symmetric_spmm(csr, genes.T))),
        (f"dense layers forward ({G * model.channels + w['n_drugs']} → {list(w['train']['gcn']['model']['hidden'])} "
         "→ 1)", grad_free(lambda: model.head(head_in))),
        ("whole forward", grad_free(lambda: model(x))),
        ("forward + backward", fwd_bwd),
        (f"optimiser step (Adam, {kernel} kernel, {sum(p.numel() for p in model.parameters()):,} parameters)",
         step),
        ("whole training step (forward + backward + Adam)", step),
    ]
    rows = []
    for label, fn in pieces:
        fn()
        b.sync()
        best = math.inf
        for _ in range(b.repeats + 1):
            t0 = time.perf_counter()
            fn()
            b.sync()
            best = min(best, time.perf_counter() - t0)
        rows.append({"piece": label, "seconds": best})
    df = pd.DataFrame(rows)
    full = float(df["seconds"].iloc[-1])
    # the optimiser's own share: step minus forward + backward
    df.loc[df["piece"].str.startswith("optimiser"), "seconds"] = max(full - float(df["seconds"].iloc[4]), 0.0)
    df["share of a step"] = df["seconds"] / full
    df.loc[0, "share of a step"] = np.nan  # once per model, not per step
    return df


def rules_dapr(c: Config, b: Bench) -> list[Workload]:
    """B (Weinberger et al.): :func:`attrpriors.experiments.dapr.workload`, timed. Two moons: one job per
    (nuisance count, model) over its data sets; Table 1: one per (data set, model) over its splits."""
    t1 = c("dapr.table1")
    datasets = list(t1["datasets"])
    if datasets != ["drug_response"] or c("dapr.table1.drug_response.source") != "download":
        raise ValueError("dapr.table1: this projection models datasets [drug_response] with source: download "
                         f"(Beat AML Dasatinib); got {datasets}")
    d = DATA["beat_aml_dasatinib"]
    w = dapr_exp.workload(c.data, {"drug_response": {"n_samples": d["n_samples"], "n_genes": d["n_genes"]}})
    tm = w["two_moons"]
    n, n_data, n_out = tm["n_samples"], tm["n_datasets"], tm["n_outputs"]
    n_train, n_val = tm["rows"]["train"], tm["rows"]["val"]
    nuisance = list(tm["nuisance"])
    out: list[Workload] = []
    for model, job in tm["train"].items():
        tr, pc = job["training"], job["prior"]
        parts = []
        for q, shape_ in tm["nuisance"].items():
            p, hidden = shape_["n_inputs"], shape_["hidden"]
            make = lambda p=p, hidden=hidden: MLP(p, hidden, n_outputs=n_out,  # noqa: E731
                                                  activation=tm["activation"])
            prior, over = None, {}
            if pc is not None:
                # the prior's meta-features M = [mean, std] of each column of a real two-moons training split
                X, _ = make_two_moons_nuisance(n, q, tm["noise"], seed=derive_seed(b.seed, "moons", q))
                meta = mean_std_meta_features(X[:n_train])
                prior = lambda meta=meta, pc=pc: DAPrPrior(meta, pc["model"], absolute=pc["absolute"],  # noqa: E731
                                                           n_references=pc["n_references"], seed=b.seed)
                over = pc["overrides"]
            step = b.fit_step(f"two moons p={p} {model}", make, (p,), "normal", "classification", n_out, tr,
                              overrides=over, prior=prior)
            fwd = b.forward_rows(f"two moons p={p}", make, (p,), "normal")
            parts += fit_parts(f"p={p}", job["fits_per_job"], tr["epochs"], n_train, tr["batch_size"], n_val, step,
                               fwd)
        words = (f"{n_data} datasets per job; MLP p-p/4-p/8-2 with p = 2 + {nuisance[0]}..{nuisance[-1]} nuisance "
                 f"features; {n_train} train rows, batch {tr['batch_size']} × {tr['epochs']} epochs (max); {n_val} "
                 "validation rows/epoch")
        if pc is not None:
            words += f"; + DAPr prior (EG k = {pc['n_references']}, joint, double backprop)"
        out.append(Workload("dapr_train_two_moons", model, job["jobs"], words, parts))

    t1w = w["table1"]
    ds = t1w["datasets"]["drug_response"]
    G, k_meta = ds["n_genes"], ds["n_meta"]
    n_train, n_val, n_test = ds["rows"]["train"], ds["rows"]["val"], ds["rows"]["test"]
    n_splits = t1w["n_splits"]
    meta = torch.randn(G, k_meta, generator=b.generator("dapr meta")).numpy()
    bg = b.inputs(n_train, (G,), "normal", "dapr background").to(b.device)
    for model, job in t1w["models"].items():
        rule = "dapr_train_table1_prior" if model.startswith("dapr_") else "dapr_train_table1"
        hidden, tr, k_eg = job["hidden"], job["training"], job["n_references"]
        n_in = G * (1 + k_meta) if job["meta_inputs"] else G
        wp, prior = None, None
        if job["weight_penalty"] is not None:
            lam, norm = job["weight_penalty"]["strength"], {"l1": weight_l1, "l2": weight_l2}[
                job["weight_penalty"]["type"]]
            wp = lambda m, lam=lam, norm=norm: lam * norm(m)  # noqa: E731
        if job["prior"] is not None and job["prior"]["type"] == "merge":
            prior = lambda: MetaWeightPrior(meta, {"type": "linear"})  # noqa: E731
        elif job["prior"] is not None:
            pc = job["prior"]
            prior = lambda pc=pc: DAPrPrior(meta, pc["model"], absolute=pc["absolute"],  # noqa: E731
                                            n_references=pc["n_references"], seed=b.seed)
        make = lambda n_in=n_in, hidden=hidden, job=job: MLP(n_in, hidden, t1w["n_outputs"],  # noqa: E731
                                                             activation=job["activation"], dropout=job["dropout"])
        if job["meta_inputs"]:
            explained = lambda make=make: GeneInteractionInputs(make(), meta)  # noqa: E731
        elif model == "lasso":
            explained = lambda: MLP(G, [], 1)  # noqa: E731
        else:
            explained = make
        eg = b.attribution_rows(
            f"DAPr table 1 {model} EG k={k_eg}", explained, (G,), "normal",
            lambda net, x: A.expected_gradients(net, x, None, bg, n_samples=k_eg, generator=b.generator("t1")),
            n_test, k_eg)
        parts = [Part("EG test rows", job["jobs"] * job["explained_splits"] * n_test, "explained row", eg)]
        if model == "lasso":
            words = "LASSO (scikit-learn, not timed) per split"
        else:
            key = "dapr_*" if model.startswith("dapr_") else model  # informative and noise priors cost the same
            step = b.fit_step(f"DAPr table 1 {key}", make, (n_in,), "normal", "regression", 1, tr,
                              overrides=job["overrides"], prior=prior, weight_penalty=wp)
            fwd = b.forward_rows(f"DAPr table 1 {key}", make, (n_in,), "normal")
            parts = fit_parts("fit", job["jobs"] * job["fits_per_job"], tr["epochs"], n_train, tr["batch_size"],
                              n_val, step, fwd) + parts
            words = (f"{mlp_words(n_in, hidden, 1)}; {n_train} train rows, batch {tr['batch_size']} × "
                     f"{tr['epochs']} epochs (max), {n_val} validation rows/epoch")
            if prior is not None:
                words += "; + " + ("MERGE weight prior" if model == "merge" else
                                   f"DAPr prior g = MLP {list(job['prior']['model'].get('hidden', []))} on {k_meta} "
                                   "meta-features (EG k = 1, double backprop)")
        out.append(Workload(rule, model, job["jobs"],
                            f"{n_splits} splits per job; {words}; EG ({k_eg} references) on {n_test} test rows per "
                            "split", parts))
    return out


def rules_dna(c: Config, b: Bench) -> list[Workload]:
    """C (Majdandzic et al.): :func:`attrpriors.experiments.dna_consistency.workload`, timed."""
    if c("dna_consistency.data.source") != "simulated":
        raise ValueError("dna_consistency.data.source is not 'simulated': the ATAC shapes are not modelled here")
    w = dna_exp.workload(c.data)
    L, n_out = w["seq_length"], w["n_outputs"]
    n_train, n_val = w["rows"]["train"], w["rows"]["val"]
    tc = w["train_cnn"]
    tr, names, trials = tc["training"], list(tc["variants"]), tc["trials"]
    shape = (4, L)
    parts = []
    for name, job in tc["variants"].items():
        make = lambda spec=job["model"]: build_model(spec, L, n_out)  # noqa: E731
        step = b.fit_step(f"DNA CNN {name}", make, shape, "onehot", w["task"], n_out, tr,
                          batch_transform=make_batch_transform(job["regularizer"], job["regularizer_params"]))
        fwd = b.forward_rows(f"DNA CNN {name}", make, shape, "onehot")
        parts += fit_parts(name, job["jobs"] * job["fits_per_job"], tr["epochs"], n_train, tr["batch_size"], n_val,
                           step, fwd)
    out = [Workload("dna_consistency_train_cnn", "", tc["jobs"],
                    f"{len(names)} variants × {trials} trials; DNA CNN on {L} nt one-hot; {n_train} train "
                    f"sequences, batch {tr['batch_size']} → {steps_per_epoch(n_train, tr['batch_size'])} steps/epoch × "
                    f"{tr['epochs']} epochs (max); {n_val} validation sequences/epoch", parts)]
    rep = names[0]  # every variant explains the same sequences: the attributions are timed on the first
    make = lambda: build_model(tc["variants"][rep]["model"], L, n_out)  # noqa: E731
    for method, att in w["attributions"].items():
        opts, rows, jobs = dict(att["options"]), att["rows"], att["jobs"]
        if opts.pop("baseline", "zero") != "zero":
            raise ValueError(f"dna_consistency.attribution.method_options.{method}.baseline: only 'zero' is modelled")

        def attribute(net, x, method=method, opts=opts):
            kw = dict(opts)
            if method == "smoothgrad":
                kw["generator"] = b.generator("dna smoothgrad")
            return A.attribute(method, net, x, 1, None, **kw)

        what = {"smoothgrad": f"SmoothGrad ({opts.get('n_samples')} samples)",
                "integrated_gradients": f"IG ({opts.get('n_steps')} steps)"}.get(method, "saliency (gradients)")
        out.append(Workload("dna_consistency_attributions", method, jobs,
                            f"{what} of {rows} positive test sequences (timed on {rep}); consistency / "
                            "interpretability scores (CPU) not timed",
                            [Part(f"{method} rows", jobs * rows, "explained row",
                                  b.attribution_rows(f"DNA CNN {method}", make, shape, "onehot", attribute, rows,
                                                     int(opts.get("n_samples", opts.get("n_steps", 1)))))]))
    return out


def rules_ig_limits(c: Config, b: Bench) -> list[Workload]:
    """D (arXiv 2303.11336): :func:`attrpriors.experiments.ig_limits.workload`, timed."""
    w = igl_exp.workload(c.data, DATA["tcga"])
    out: list[Workload] = []
    for ds, d in w["datasets"].items():
        p, C = d["n_genes"], d["n_classes"]
        n_train, n_val, n_test = d["rows"]["train"], d["rows"]["val"], d["rows"]["test"]
        key = "TCGA" if ds == "TCGA" else "SIMU"  # SIMU1 and SIMU2 have the same shapes: measured once
        for model, job in w["train"][ds].items():
            spec, tr = job["model"], job["training"]
            make = lambda spec=spec, p=p, C=C: build_model(spec, p, C)  # noqa: E731
            step = b.fit_step(f"IG-limits {key} {model}", make, (p,), "normal", "classification", C, tr)
            fwd = b.forward_rows(f"IG-limits {key} {model}", make, (p,), "normal")
            out.append(Workload("ig_limits_train", f"{ds} · {model}", job["jobs"],
                                f"{mlp_words(p, spec.get('hidden', []), C)}; {n_train} train rows, batch "
                                f"{tr['batch_size']} → {steps_per_epoch(n_train, tr['batch_size'])} steps/epoch × "
                                f"{tr['epochs']} epochs (max); {n_val} validation rows/epoch",
                                fit_parts("fit", job["jobs"] * job["fits_per_job"], tr["epochs"], n_train,
                                          tr["batch_size"], n_val, step, fwd)))
            ex = w["explain"][ds][model]
            steps_tried, rows, seeds = ex["ig_steps"], ex["rows"], ex["jobs"]
            soft = lambda make=make: igl_exp.softmax_model(make())  # noqa: E731
            n0 = steps_tried[0]
            ig_row = b.attribution_rows(
                f"IG-limits {key} {model} IG {n0} steps", soft, (p,), "normal",
                lambda net, x, C=C, n0=n0, ex=ex: A.integrated_gradients(
                    net, x, torch.randint(0, C, (len(x),), device=b.device), None, n_steps=n0,
                    method=ex["method"], max_batch=ex["max_batch"]),
                rows, n0, ex["max_batch"])
            pfwd = b.forward_rows(f"IG-limits {key} {model} softmax", soft, (p,), "normal")
            pg = ex["prediction_gaps"]
            n_pg, pg_rows, pred_rows = pg["rows"], pg["predicted_rows"], ex["predicted_rows"]
            out.append(Workload("ig_limits_explain", f"{ds} · {model}", seeds,
                                f"IG on {rows} test rows, steps {steps_tried[0]}→{steps_tried[-1]} doubling (upper "
                                f"bound: all {len(steps_tried)} rounds = {sum(steps_tried)} steps per row); "
                                f"{pred_rows:,} predicted rows (prediction gaps: {n_pg} rows × "
                                f"{pg['removals']} removals × {pg['orders']} orders; top-k curves)",
                                [Part("IG row-steps", seeds * rows * sum(steps_tried), "row × step",
                                      lambda ig_row=ig_row, n0=n0: ig_row() / n0),
                                 Part("prediction-gap rows", seeds * pg_rows, "predict row", per_call(pfwd, n_pg)),
                                 Part("other predicted rows", seeds * (pred_rows - pg_rows), "predict row",
                                      per_call(pfwd, rows))]))
    return out


# ------------------------------------------------------------------------------------------------ peak memory
#: The largest paper-scale jobs by memory (rule: variant); each runs alone in a fresh process on inputs of the
#: paper's shapes (the whole design matrix, as the job loads it) and reports its peak resident memory. The sparsity
#: sweep job holds a whole grid (130 models) in one stack with double back-propagation through EG.
MEMORY_JOBS = ("graph_prior_train_lasso", "graph_prior_train_network:gcn", "graph_prior_finetune:mlp_graph",
               "graph_prior_explain:gcn", "ig_limits_explain:TCGA MLP", "sparsity_prior_train_mlp:l2_eg",
               "sparsity_prior_small_data:gini")
#: Rows explained in the memory measurement of the attribution jobs (the attributions of all rows are then held
#: as one rows × inputs float32 array: added exactly, see memory_job).
MEMORY_EXPLAIN_ROWS = 64


def _design(rows: Mapping[str, int], n_in: int, seed: int) -> tuple[dict, dict]:
    """Random float32 design matrices and targets of the given split sizes (every page written, as a loaded one)."""
    rng = np.random.default_rng(seed)
    X = {k: rng.random((n, n_in), dtype=np.float32) for k, n in rows.items()}
    y = {k: rng.standard_normal(n).astype(np.float32) for k, n in rows.items()}
    return X, y


def memory_job(name: str, c: Config, seed: int) -> dict:
    """Run the core of paper-scale job ``name`` (see :data:`MEMORY_JOBS`) in this process; return what it did.

    Training jobs: the design matrix of every split, the model, one epoch of a few batches with the *whole*
    validation split predicted (in the fit loop's 4,096-row batches). LASSO: scikit-learn on the whole training
    matrix (one coordinate-descent pass). Attribution jobs: EG / IG on :data:`MEMORY_EXPLAIN_ROWS` test rows with
    the job's references / steps and background, plus the ``rows × inputs`` float32 array of all rows'
    attributions (allocated and written, as the job's result is).
    """
    warnings.filterwarnings("ignore")
    rule, _, variant = name.partition(":")
    if rule.startswith("graph_prior_"):
        edges, weights = beat_aml_graph(seed)
        w = graph_prior_workload(c, len(edges))
        X, y = _design(w["rows"], w["n_inputs"], seed)
        G = w["n_genes"]
        if rule == "graph_prior_train_lasso":
            from sklearn.linear_model import Lasso

            Lasso(alpha=float(w["lasso"]["alphas"][0]), max_iter=1, tol=0.0).fit(X["train"], y["train"])
            return {"did": f"scikit-learn Lasso, 1 pass over {X['train'].shape} float32 (+ val/test splits held)"}
        if rule == "graph_prior_train_network":
            job = w["train"][variant]
            tr = job["training"]
            bs = int(tr["batch_size"])
            seed_everything(seed)
            net = gcn_model(w, edges, weights)() if variant == "gcn" else build_model(job["model"], w["n_inputs"], 1)
            cfg = FitConfig.from_mapping(tr, epochs=1, patience=10, seed=seed, device="cpu", progress=False)
            fit(net, X["train"][: 4 * bs], y["train"][: 4 * bs], X["val"], y["val"], task="regression", config=cfg)
            return {"did": f"{variant}: 4 batches of {bs} + validation on all {len(X['val'])} rows"}
        if rule == "graph_prior_finetune":
            job = w["finetune"][variant]
            tr = job["training"]
            bs = int(tr["batch_size"])
            seed_everything(seed)
            net = build_model(job["model"], w["n_inputs"], 1)
            prior = GraphPrior(edges, weights, n_nodes=G, n_references=job["n_references"], input_slice=slice(0, G))
            cfg = FitConfig.from_mapping(tr, epochs=1, patience=10, seed=seed, device="cpu", progress=False,
                                         schedule="alternating", prior_weight=1.0)
            fit(net, X["train"][: 4 * bs], y["train"][: 4 * bs], X["val"], y["val"], task="regression", config=cfg,
                prior=prior)
            return {"did": f"MLP + graph prior ({len(edges)} edges, k = {job['n_references']}): 4 alternating "
                           f"batches of {bs} + validation on all {len(X['val'])} rows"}
        if rule == "graph_prior_explain":
            from attrpriors.evaluation import mean_abs_expected_gradients

            seed_everything(seed)
            net = gcn_model(w, edges, weights)() if variant == "gcn" else build_model(
                dict(c("graph_prior.mlp.model")), w["n_inputs"], 1)
            rows = w["explain"]["rows"]
            mean_abs_expected_gradients(net.eval(), X["test"][:MEMORY_EXPLAIN_ROWS], X["train"],
                                        w["explain"]["n_references"], seed)
            np.ones((rows, w["n_inputs"]), np.float32)  # the attributions of every explained row
            return {"did": f"{variant}: EG ({w['explain']['n_references']} references, background = the "
                           f"{len(X['train'])} training rows) on {MEMORY_EXPLAIN_ROWS} rows + a {rows} × "
                           f"{w['n_inputs']} float32 result"}
    if rule == "ig_limits_explain":
        tcga = igl_exp.workload(c.data, DATA["tcga"])["datasets"]["TCGA"]
        p, C, n_test = tcga["n_genes"], tcga["n_classes"], tcga["rows"]["test"]
        X, _ = _design(tcga["rows"], p, seed)
        model = variant.split()[-1]
        seed_everything(seed)
        net = igl_exp.softmax_model(build_model(dict(c(f"ig_limits.models.{model}")), p, C)).eval()
        ig = c("ig_limits.ig")
        x = torch.as_tensor(X["test"][:MEMORY_EXPLAIN_ROWS])
        A.integrated_gradients(net, x, torch.zeros(len(x), dtype=torch.long), None, n_steps=int(ig["max_steps"]),
                               method=ig.get("method", "gausslegendre"), max_batch=int(ig.get("max_batch", 8192)))
        np.ones((n_test, p), np.float32)
        return {"did": f"TCGA {model}: IG with {ig['max_steps']} steps (max_batch {ig.get('max_batch')}) on "
                       f"{MEMORY_EXPLAIN_ROWS} rows + a {n_test} × {p} float32 result"}
    if rule == "sparsity_prior_train_mlp":
        d = DATA["nhanes"]
        w = sp_exp.workload(c.data, {"nhanes": {"n_samples": d["n_samples"], "n_features": d["n_features"]}})
        cohort, job = w["cohorts"]["nhanes"], w["train_mlp"]["nhanes"][variant]
        tr, p = job["training"], cohort["n_features"]
        bs = int(tr["batch_size"])
        rows = cohort["rows"]
        X, _ = _design(rows, p, seed)
        y = {k: (np.arange(n) % 2).astype(np.float32) for k, n in rows.items()}
        M = int(job["fits_per_job"])
        sp_exp.train_models(variant, [float(job["first_strength"])] * M, list(range(M)), X["train"][: 4 * bs],
                            y["train"][: 4 * bs], X["val"], y["val"], job["model"],
                            {k: tr[k] for k in ("lr", "weight_decay") if k in tr} | {"epochs": 1, "batch_size": bs},
                            int(job["n_references"]), retries=0)
        return {"did": f"{variant}: a stack of {M} single-logit MLPs, 4 batches of {bs} (EG k = "
                       f"{job['n_references']}) + validation on all {rows['val']} rows"}
    if rule == "sparsity_prior_small_data":  # the grid step of one subsample: the larger of its two stacks
        d = DATA["nhanes"]
        w = sp_exp.workload(c.data, {"nhanes": {"n_samples": d["n_samples"], "n_features": d["n_features"]}})
        small, p = w["small_data"]["nhanes"], w["cohorts"]["nhanes"]["n_features"]
        pen, st = small["penalties"][variant], small["training"]
        M = max(int(pen["grid_fits"]), int(pen["restarts"]))
        X, _ = _design({"train": small["n_train"], "val": small["n_val"]}, p, seed)
        y = {k: (np.arange(len(v)) % 2).astype(np.float32) for k, v in X.items()}
        bs = min(int(st["batch_size"]), small["n_train"])
        sp_exp.train_models(variant, [float(pen["first_strength"])] * M, list(range(M)), X["train"], y["train"],
                            X["val"], y["val"], small["model"],
                            {k: st[k] for k in ("lr", "weight_decay") if k in st} | {"epochs": 1, "batch_size": bs},
                            int(small["n_references"]), retries=0)
        return {"did": f"{variant}: a stack of {M} single-logit MLPs, one full batch of {small['n_train']} (EG k = "
                       f"{small['n_references']}) + validation on {small['n_val']} rows"}
    raise KeyError(f"no memory job {name!r}; known: {MEMORY_JOBS}")


def measure_memory(overlay: Path, seed: int, threads: int | None) -> pd.DataFrame:
    """Each job of :data:`MEMORY_JOBS` in its own fresh process; its peak resident set size (ru_maxrss)."""
    rows = []
    for name in MEMORY_JOBS:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-job", name, "--configfile", str(overlay),
               "--seed", str(seed)] + (["--threads", str(threads)] if threads else [])
        print(f"peak memory: {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            rows.append({"job": name, "peak_mb": np.nan, "seconds": time.perf_counter() - t0,
                         "did": f"failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}"})
            continue
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append({"job": name, "peak_mb": out["peak_mb"], "seconds": time.perf_counter() - t0, "did": out["did"]})
        print(f"  {out['peak_mb']:,.0f} MB", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


BUILDERS: dict[str, tuple[Callable[[Config, Bench], list[Workload]], tuple[str, ...]]] = {
    "benchmark": (rules_benchmark, ("benchmark_train_mlp", "benchmark_attributions", "benchmark_eg_convergence")),
    "pixel_prior": (rules_pixel_prior, ("pixel_prior_train_cnn", "pixel_prior_evaluate_cnn")),
    "sparsity_prior": (rules_sparsity_prior, ("sparsity_prior_train_mlp", "sparsity_prior_small_data")),
    "graph_prior": (rules_graph_prior, ("graph_prior_train_network", "graph_prior_finetune", "graph_prior_explain")),
    "dapr": (rules_dapr, ("dapr_train_two_moons", "dapr_train_table1", "dapr_train_table1_prior")),
    "dna_consistency": (rules_dna, ("dna_consistency_train_cnn", "dna_consistency_attributions")),
    "ig_limits": (rules_ig_limits, ("ig_limits_train", "ig_limits_explain")),
}
MODELLED = [r for _, rules in BUILDERS.values() for r in rules]


# ------------------------------------------------------------------------------------------------ output
def device_label(dev: torch.device) -> tuple[str, str]:
    """(words, file-name part): ``cpu`` or the CUDA device name."""
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev)
        return name, re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return "cpu", "cpu"


def number(v: float) -> str:
    """A table cell: thousands separators for large values, two significant digits for small ones."""
    if pd.isna(v):
        return ""
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2g}"


def markdown(df: pd.DataFrame, numeric: tuple[str, ...] = ("jobs", "per-job s", "total device-h")) -> str:
    """A Markdown table of preformatted strings (numbers right-aligned, not re-parsed by tabulate)."""
    return df.to_markdown(index=False, disable_numparse=True,
                          colalign=["right" if c in numeric else "left" for c in df.columns])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", nargs="+", metavar="RULE", help=f"only these rules (default: all modelled: "
                    f"{', '.join(MODELLED)})")
    ap.add_argument("--steps", type=int, default=4, help="optimisation steps per timed epoch (default 4)")
    ap.add_argument("--repeats", type=int, default=2,
                    help="timed repeats of each measurement; the fastest is kept (default 2)")
    ap.add_argument("--min-seconds", type=float, default=0.25,
                    help="grow attribution / prediction batches until one call lasts this long (default 0.25)")
    ap.add_argument("--configfile", type=Path, default=ROOT / "config/paper.yaml",
                    help="the overlay merged over config.yaml (default config/paper.yaml)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME.KEY=VALUE",
                    help=f"override a dataset size of DATA ({', '.join(DATA)}), e.g. beat_aml.n_genes=17000")
    ap.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random inputs and initial weights")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall (default) or cpu: every timing, the fit loop's own epoch clock included, reads the "
                         "process's CPU time (all threads; use with --threads 1 for CPU-hours) instead of the wall "
                         "clock, so that other load on a shared machine does not inflate it (CPU device only)")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "timings/results")
    ap.add_argument("--memory", action="store_true",
                    help=f"also measure the peak memory of {', '.join(MEMORY_JOBS)} (each in a fresh process, "
                         "paper-shaped inputs; needs about 8 GB free)")
    ap.add_argument("--memory-job", metavar="NAME", help=argparse.SUPPRESS)  # one memory measurement (child)
    args = ap.parse_args()
    if args.memory_job:
        import resource

        if args.threads:
            torch.set_num_threads(args.threads)
        apply_overrides(args.overrides)
        overlay = args.configfile if args.configfile.is_absolute() else ROOT / args.configfile
        did = memory_job(args.memory_job, Config(load_config(overlay), str(overlay)), args.seed)
        print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **did}))
        return
    if args.steps < 1 or args.repeats < 1:
        ap.error("--steps and --repeats must be >= 1")
    wall = time.perf_counter  # kept: --clock cpu replaces time.perf_counter below
    t_start = wall()
    if args.clock == "cpu":
        time.perf_counter = time.process_time  # noqa: the fit loop's clock too (it calls time.perf_counter)
    warnings.filterwarnings("ignore", message=".*deterministic.*")
    if args.threads:
        torch.set_num_threads(args.threads)
    apply_overrides(args.overrides)
    selected = list(MODELLED) if not args.rules else [r for arg in args.rules for r in arg.split(",") if r]
    unknown = sorted(set(selected) - set(MODELLED))
    if unknown:
        ap.error(f"unknown or unmodelled rule(s) {unknown}; modelled: {MODELLED}")

    overlay = args.configfile if args.configfile.is_absolute() else ROOT / args.configfile
    shown = overlay.relative_to(ROOT) if overlay.is_relative_to(ROOT) else overlay
    cfg = Config(load_config(overlay), f"config.yaml + {shown}")
    print(f"job counts: snakemake dry run of the whole paper-scale DAG ({cfg.source}) ...", file=sys.stderr)
    try:
        counts, count_note = snakemake_job_counts(overlay), "snakemake -n --forceall"
    except Exception as err:  # noqa: BLE001 - a broken DAG still leaves the config-derived counts
        print(f"WARNING: {err}\nfalling back to job counts derived from the config", file=sys.stderr)
        counts, count_note = {}, "config only (the snakemake dry run failed)"

    dev = select_device(args.device)
    dev_words, dev_file = device_label(dev)
    bench = Bench(dev, args.steps, args.repeats, args.min_seconds, args.seed)
    workloads: list[Workload] = []
    for name, (builder, rules) in BUILDERS.items():
        if not set(rules) & set(selected):
            continue
        print(f"{name}: building workloads", file=sys.stderr, flush=True)
        workloads += [w for w in builder(cfg, bench) if w.rule in selected]

    profile = None
    if "graph_prior_train_network" in selected and "gcn" in list(cfg("graph_prior.models")):
        print("graph_prior: profiling one GCN training step", file=sys.stderr, flush=True)
        profile = gcn_profile(cfg, bench)
    memory = measure_memory(overlay, args.seed, args.threads) if args.memory else None

    rows = []
    for w in workloads:
        total = 0.0
        units: dict[str, list[float]] = {}
        for part in w.parts:
            sec = part.seconds()
            total += part.count * sec
            units.setdefault(part.unit, []).append(sec)
        spans = {u: sorted({fmt_seconds(min(v)), fmt_seconds(max(v))}, key=lambda f: f != fmt_seconds(min(v)))
                 for u, v in units.items()}
        measured = "; ".join(f"{u} {'–'.join(span)}" for u, span in spans.items())
        rows.append({"rule": w.rule, "variant": w.variant, "jobs": w.jobs, "per_job_s": total / max(w.jobs, 1),
                     "total_h": total / 3600, "measured": measured, "workload": w.words})
    detail = pd.DataFrame(rows, columns=["rule", "variant", "jobs", "per_job_s", "total_h", "measured", "workload"])

    summary_rows, notes = [], []
    for rule in [r for r in MODELLED if r in selected]:
        sub = detail[detail["rule"] == rule]
        jobs = int(sub["jobs"].sum())
        snk = counts.get(rule)
        if snk is not None and snk != jobs:
            notes.append(f"{rule}: {jobs} jobs derived from the config, {snk} in the snakemake dry run")
        if counts and snk is None:
            notes.append(f"{rule}: not in the snakemake dry run (0 jobs there)")
        hours = float(sub["total_h"].sum())
        if len(sub) > 1:  # the variants, each detailed in the second table
            words = " | ".join(f"{v}: {j} job{'s' * (j != 1)} × {fmt_seconds(t)}"
                               for v, j, t in zip(sub["variant"], sub["jobs"], sub["per_job_s"]))
        else:
            words = sub["workload"].iloc[0] if len(sub) else ""
        summary_rows.append({"rule": rule, "jobs": snk if snk is not None else jobs,
                             "per_job_s": hours * 3600 / max(jobs, 1), "total_h": hours, "workload": words})
    full = not args.rules
    if full:
        for rule, n in counts.items():
            if rule not in MODELLED:
                summary_rows.append({"rule": rule, "jobs": n, "per_job_s": np.nan, "total_h": np.nan,
                                     "workload": NOT_TIMED_NOTES.get(rule, "not timed (downloads once)" if
                                                                     "download" in rule else
                                                                     "not timed (seconds each)")})
    summary = pd.DataFrame(summary_rows, columns=["rule", "jobs", "per_job_s", "total_h", "workload"])
    grand = float(detail["total_h"].sum())
    n_jobs_all = sum(counts.values()) if counts else None

    header = [
        f"# Paper-scale compute projection ({cfg.source})",
        "",
        f"- device: **{dev_words}** (select_device({args.device!r}) → {dev}); torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads",
        f"- clock: {'process CPU time (all threads), not wall time' if args.clock == 'cpu' else 'wall time'}",
        f"- measured: fastest of {args.repeats} epochs of {args.steps} fit steps per training workload, after a "
        f"2-batch warm-up; attribution / prediction batches grown until one call lasts {args.min_seconds} s, "
        f"fastest of {args.repeats}, split into per-row and per-call parts from two batch sizes; seed {args.seed}; "
        f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- job counts: {count_note}" + (f" ({n_jobs_all} jobs in all)" if n_jobs_all else ""),
        "- per job = Σ units × measured seconds per unit; training at the configured maximum epochs (early stopping "
        "makes it an upper bound); start-up, data loading and CPU-side scoring not included",
        f"- **grand total of the timed rules: {number(grand)} device-hours** on {dev_words}"
        + ("" if full else f" (rules: {', '.join(selected)})"),
        "",
        "Data sizes not in the config:",
        "",
        *[f"- {k}: {', '.join(f'{f}={v:,}' for f, v in d.items() if f != 'source')} — {d['source']}"
          for k, d in DATA.items()],
    ]
    if notes:
        header += ["", "Job-count checks:", "", *[f"- {n}" for n in notes]]

    def show(df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        out["per_job_s"] = out["per_job_s"].map(number)
        out["total_h"] = out["total_h"].map(number)
        out["jobs"] = out["jobs"].map(str)
        return out.rename(columns={"per_job_s": "per-job s", "total_h": "total device-h"})

    md = "\n".join(header + ["", "## Per rule", "", markdown(show(summary)),
                             "", f"**Total (timed rules): {number(grand)} device-hours**", "",
                             "## Per variant (what one job does, and the measured unit times)", "",
                             markdown(show(detail))]
                   + ([] if profile is None else [
                       "", f"## Where one GCN training step spends its time ({dev_words})", "",
                       markdown(profile.assign(seconds=profile["seconds"].map(fmt_seconds),
                                               **{"share of a step": profile["share of a step"].map(
                                                   lambda v: "" if pd.isna(v) else f"{v:.0%}")}),
                                numeric=("seconds", "share of a step"))])
                   + ([] if memory is None else [
                       "", "## Peak memory of the largest jobs (measured: fresh process, paper-shaped inputs)", "",
                       markdown(memory.assign(peak_mb=memory["peak_mb"].map(lambda v: f"{v:,.0f}"),
                                              seconds=memory["seconds"].map(lambda v: f"{v:.0f}"))
                                .rename(columns={"peak_mb": "peak MB (ru_maxrss)", "seconds": "s"}),
                                numeric=("peak MB (ru_maxrss)", "s"))])) + "\n"
    print(md)
    stem = f"paper_scale_{dev_file}" + ("" if full else "_partial")
    out_dir = args.out_dir if args.out_dir.is_absolute() else ROOT / args.out_dir
    total = pd.DataFrame([{"level": "total", "rule": "all timed rules", "variant": "",
                           "jobs": int(summary.loc[summary["total_h"].notna(), "jobs"].sum()),
                           "per_job_s": np.nan, "total_h": grand, "measured": "", "workload": ""}])
    csv = pd.concat([detail.assign(level="variant"),
                     summary.assign(level="rule", variant="", measured=""), total], ignore_index=True)
    csv = csv.assign(device=dev_words, torch_threads=torch.get_num_threads(), steps=args.steps, repeats=args.repeats)
    save_table(csv[["level", "rule", "variant", "jobs", "per_job_s", "total_h", "measured", "workload", "device",
                    "torch_threads", "steps", "repeats"]], out_dir / f"{stem}.csv")
    with atomic_path(out_dir / f"{stem}.md") as tmp:
        tmp.write_text(md)
    if profile is not None:
        save_table(profile, out_dir / f"{stem}_gcn_profile.csv")
    if memory is not None:
        save_table(memory, out_dir / f"{stem}_peak_memory.csv")
    print(f"wrote {out_dir / stem}.csv and .md in {wall() - t_start:.0f} s (wall)", file=sys.stderr)


if __name__ == "__main__":
    main()
