"""Experiment A3: the graph attribution prior on drug response (Erion et al. 2019, Fig. 2, supplement Figs. 10–12).

A sample is a (patient, drug) pair: the patient's preprocessed expression (genes) plus a one-hot drug; the label
is the drug response (standardised with the training mean and s.d.). Splits are by patient
(``results/rnaseq/splits``). Models, each trained by :func:`attrpriors.training.fit` except the LASSO:

* ``lasso`` — scikit-learn LASSO, α chosen on validation MSE over a grid;
* ``graph_lasso`` — a linear model with ``(1/2n)‖y − Xw‖² + α‖w‖₁ + ν' wᵀ L w`` (``L`` over the gene weights), α of
  the LASSO, ν' chosen on validation MSE over a grid, solved exactly by the LASSO's solver on augmented data
  (:func:`fit_graph_lasso`; the paper used Adam);
* ``mlp`` — MLP with L1 on all weights and early stopping; learning rate, L1 strength and hidden sizes chosen on
  the validation MSE of one tuning split over a small grid (:func:`tune_mlp`); its checkpoint keeps its Adam state;
* ``mlp_graph`` — the converged MLP fine-tuned on the joint loss ``MSE + L1 + ν φ̄ᵀ L φ̄`` (EG with k batch-rolled
  references, genes only), continuing the MLP's Adam; ν₀ makes the prior equal the task loss on the converged
  MLP's first batches (the paper's rule), ν from ``ν₀ ×`` a grid and the number of extra epochs (0 included)
  chosen on validation (:func:`finetune`);
* ``mlp_extra`` — the same without the prior (its own number of extra epochs, 0 included, same batch order);
* ``mlp_random_graph`` — the prior on a random graph with as many edges among the model's genes (drawn anew
  for each retraining), its own ν and epochs chosen the same way;
* ``gcn`` — one Kipf & Welling graph convolution over genes, then dense layers.

Every (model, retraining) is one job; retraining ``s`` uses split ``s mod n_splits`` and seeds derived from ``s``.
Explaining a model: EG (references from the training rows) on the test rows, ``φ̄`` = mean |EG| per gene; the
graph penalty ``φ̄ᵀ L φ̄`` on the real graph (raw and divided by ``‖φ̄‖²``); GSEA prerank of genes by ``φ̄``
(BH-FDR); on simulated data, driving pathways recovered and precision of the top genes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..display import MODEL_LABELS as DISPLAY_LABELS
from ..evaluation import mean_abs_expected_gradients
from ..graph import laplacian
from ..io import load_npz, load_torch, read_json, read_table, save_json, save_table
from ..seeds import derive_seed, seed_everything
from ..stats import auroc, r2

if TYPE_CHECKING:  # for annotations only; at run time the functions that use these import them
    import torch
    from ..training import FitConfig
    from torch import nn

log = logging.getLogger("attrpriors.graph_prior")

EXPERIMENT = "graph_prior"
#: Display order and labels of the models.
MODEL_LABELS = DISPLAY_LABELS[EXPERIMENT]
#: Models fine-tuned from the converged MLP.
FINETUNED = ("mlp_extra", "mlp_graph", "mlp_random_graph")
#: The `paper` protocol's arms (the original code's: ORIGINAL_PROTOCOLS.md §1) → the `strict` arm they mirror.
PAPER_ARMS = {"mlp_paper": "mlp", "mlp_extra_paper": "mlp_extra", "mlp_graph_paper": "mlp_graph",
              "mlp_random_graph_paper": "mlp_random_graph"}
PAPER_FINETUNED = ("mlp_extra_paper", "mlp_graph_paper", "mlp_random_graph_paper")
#: The paper's comparisons (Fig. 2, supplement Fig. 10, section 7.4), as (model, baseline) pairs.
PAIRS = (
    ("mlp_graph", "mlp"),
    ("mlp_extra", "mlp"),
    ("mlp_random_graph", "mlp"),
    ("mlp_graph", "mlp_random_graph"),
    ("mlp_graph", "mlp_extra"),
    ("mlp_graph", "gcn"),
    ("graph_lasso", "lasso"),
    ("mlp", "lasso"),
    ("mlp_graph_paper", "mlp_paper"),
    ("mlp_extra_paper", "mlp_paper"),
    ("mlp_random_graph_paper", "mlp_paper"),
    ("mlp_graph_paper", "mlp_random_graph_paper"),
    ("mlp_graph_paper", "mlp_extra_paper"),
    ("mlp_graph_paper", "gcn"),
    ("mlp_paper", "lasso"),
)


def protocol_of(model: str) -> str:
    """``paper`` (the original code's protocol), ``strict`` (restored optimum, per-retraining choice with 0 extra
    epochs a candidate) or ``both`` (the linear models and the GCN, which both protocols share)."""
    if model in PAPER_ARMS:
        return "paper"
    return "strict" if model == "mlp" or model in FINETUNED else "both"


# ------------------------------------------------------------------------------------------------- data
@dataclass
class Design:
    """Model inputs of one split: ``X[s]`` = [genes | drug one-hot], ``y[s]`` standardised, ``rows[s]`` ids."""

    X: dict
    y: dict
    rows: dict
    genes: np.ndarray
    drugs: list
    y_mean: float
    y_sd: float

    @property
    def n_genes(self) -> int:
        return len(self.genes)

    @property
    def n_inputs(self) -> int:
        return self.X["train"].shape[1]


def load_design(expression: str, response: str, split: str) -> Design:
    """Join expression, response and a patient split into model inputs (one row per patient × drug)."""
    e = load_npz(expression, ("X", "genes", "patients"))
    resp = read_table(response, ("patient", "drug", "response"))
    sp = read_json(split)
    patients = e["patients"].astype(str)
    pidx = {p: i for i, p in enumerate(patients)}
    resp = resp.assign(patient=resp["patient"].astype(str), drug=resp["drug"].astype(str))
    resp = resp[resp["patient"].isin(pidx) & np.isfinite(resp["response"])]
    drugs = sorted(resp["drug"].unique())
    didx = {d: i for i, d in enumerate(drugs)}
    X, y, rows = {}, {}, {}
    for name in ("train", "val", "test"):
        if name not in sp:
            raise KeyError(f"{split}: no {name!r} list of patients")
        r = resp[resp["patient"].isin(set(map(str, sp[name])))].sort_values(["patient", "drug"], kind="stable")
        if r.empty:
            raise ValueError(f"{split}: no response rows for the {name} patients in {response}")
        onehot = np.zeros((len(r), len(drugs)), np.float32)
        onehot[np.arange(len(r)), r["drug"].map(didx).to_numpy()] = 1.0
        X[name] = np.hstack([e["X"][r["patient"].map(pidx).to_numpy()].astype(np.float32), onehot])
        y[name] = r["response"].to_numpy(np.float64)
        rows[name] = r[["patient", "drug"]].reset_index(drop=True)
    mu, sd = float(y["train"].mean()), float(y["train"].std()) or 1.0
    y = {k: ((v - mu) / sd).astype(np.float32) for k, v in y.items()}
    return Design(X, y, rows, e["genes"].astype(str), drugs, mu, sd)


def graph_edges(path: str, genes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Edges (E × 2 indices into ``genes``) and weights of a ``gene_a, gene_b, weight`` table, restricted to
    ``genes`` (genes dropped by preprocessing lose their edges); self-loops and repeats removed."""
    df = read_table(path, ("gene_a", "gene_b"))
    idx = {g: i for i, g in enumerate(map(str, genes))}
    a, b = df["gene_a"].astype(str).map(idx), df["gene_b"].astype(str).map(idx)
    w = df["weight"].to_numpy(float) if "weight" in df else np.ones(len(df))
    ok = (a.notna() & b.notna()).to_numpy()
    a, b, w = a[ok].to_numpy(np.int64), b[ok].to_numpy(np.int64), w[ok]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    e = pd.DataFrame({"a": lo[keep], "b": hi[keep], "w": w[keep]}).groupby(["a", "b"], as_index=False)["w"].max()
    return e[["a", "b"]].to_numpy(np.int64).reshape(-1, 2), e["w"].to_numpy(np.float64)


def quadratic_form(phibar: np.ndarray, lap) -> float:
    """``φ̄ᵀ L φ̄`` with ``L`` from :func:`attrpriors.graph.laplacian`."""
    return float(phibar @ (lap @ phibar))


# ---------------------------------------------------------------------------------------------- penalties
class WeightL1:
    """``λ Σ|w|`` over every weight matrix (the paper's L1 on all weights); ``biases=True``: over every trainable
    parameter, biases included (the original notebook's ``l1_regularizer`` on all trainable variables)."""

    def __init__(self, strength: float, biases: bool = False) -> None:
        self.strength, self.biases = float(strength), bool(biases)

    def __call__(self, model: nn.Module) -> torch.Tensor:
        from ..priors import weight_l1

        return self.strength * weight_l1(model, biases=self.biases)


class GraphLassoPenalty:
    """``λ' Σ|w| + ν' wᵀ L w`` for a linear model; the quadratic form over the gene weights from the edge list."""

    def __init__(self, l1: float, nu: float, edges: np.ndarray, weights: np.ndarray) -> None:
        import torch

        self.l1, self.nu = float(l1), float(nu)
        self.edges = torch.as_tensor(edges, dtype=torch.long).reshape(-1, 2)
        self.w = torch.as_tensor(weights, dtype=torch.float32)

    def __call__(self, model: nn.Module) -> torch.Tensor:
        from ..priors import weight_l1
        from ..graph import quadratic_form

        weight = model.first_layer().weight[0]
        smooth = quadratic_form(weight, self.edges.to(weight.device), self.w.to(weight.device))  # = wᵀ L w
        return self.l1 * weight_l1(model) + self.nu * smooth


def fit_graph_lasso(X: np.ndarray, y: np.ndarray, n_genes: int, edges: np.ndarray, weights: np.ndarray,
                    alpha: float, nu: float, max_iter: int = 5000, tol: float = 1e-4):
    """Graph LASSO solved exactly: ``min_w (1/2n)‖y − b − Xw‖² + α‖w‖₁ + ν' Σ_edges w_ij (w_i − w_j)²`` over the
    first ``n_genes`` columns' weights, by scikit-learn's coordinate-descent LASSO on augmented data.

    ``wᵀLw = ‖Γw‖²`` with Γ the weighted incidence matrix (one row √w_ij (e_i − e_j) per edge), so the problem is a
    LASSO on ``[X_c; √(2nν')Γ]``, ``[y_c; 0]`` (X and y centred, the intercept recovered after), with α scaled by
    ``n / (n + E)`` for the extra rows. ν' = 0 gives scikit-learn's LASSO exactly, so Graph LASSO − LASSO measures
    the graph term, not a different optimiser (the paper minimised ``‖Xw − y‖² + λ'‖w‖₁ + ν' wᵀLw`` with Adam).
    Returns the fitted ``sklearn.linear_model.Lasso`` (``coef_``, ``intercept_`` on the original scale).
    """
    from scipy import sparse as sp
    from sklearn.linear_model import Lasso

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, p = X.shape
    xm, ym = X.mean(axis=0), y.mean()
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    rows = np.repeat(np.arange(len(e)), 2)
    vals = (np.sqrt(np.asarray(weights, float))[:, None] * np.array([1.0, -1.0])).ravel()
    gamma = sp.csr_matrix((vals, (rows, e.ravel())), shape=(len(e), p)).toarray()
    xa = np.vstack([X - xm, np.sqrt(2.0 * n * float(nu)) * gamma]) if nu > 0 and len(e) else X - xm
    ya = np.r_[y - ym, np.zeros(len(xa) - n)]
    m = Lasso(alpha=float(alpha) * n / len(xa), fit_intercept=False, max_iter=max_iter, tol=tol,
              selection="cyclic").fit(xa, ya)
    m.intercept_ = float(ym - xm @ m.coef_)
    return m


def balance_prior_weight(model: nn.Module, prior: nn.Module, X: np.ndarray, y: np.ndarray, batch_size: int,
                         n_batches: int, weight_penalty, seed: int) -> dict:
    """ν such that ``ν Ω`` equals the task loss (MSE + weight penalty) on the first ``n_batches`` batches.

    The batches are the first ones of a permutation seeded by ``seed`` (the fine-tuning's own data order).
    Returns ``{"prior_weight", "task_loss", "prior_value", "n_batches"}``.
    """
    import torch
    from ..training import task_loss

    dev = next(model.parameters()).device
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    task, omega = [], []
    model.eval()
    for b in range(n_batches):
        idx = perm[b * batch_size : (b + 1) * batch_size]
        if len(idx) < 2:
            break
        xb = torch.as_tensor(X[idx.numpy()]).to(dev)
        yb = torch.as_tensor(y[idx.numpy()]).to(dev)
        with torch.no_grad():
            t = task_loss(model(xb), yb, "regression") + (weight_penalty(model) if weight_penalty else 0.0)
        task.append(float(t))
        omega.append(float(prior(model, xb, yb, "regression").detach()))
    model.train()
    t, o = float(np.mean(task)), float(np.mean(omega))
    if not o > 0:
        raise FloatingPointError(f"the prior is {o} on the converged model; cannot balance it against the task loss")
    return {"prior_weight": t / o, "task_loss": t, "prior_value": o, "n_batches": len(task)}


# ----------------------------------------------------------------------------------------------- metrics
def _rows(model: str, seed: int, values: Mapping[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"experiment": EXPERIMENT, "model": model, "seed": int(seed), "metric": k, "value": float(v)}
         for k, v in values.items()]
    )


def _fit_metrics(net: nn.Module, d: Design) -> dict:
    from ..training import predict

    return {f"{s}_r2": r2(d.y[s], predict(net, d.X[s])) for s in ("train", "val", "test")} | {
        "test_mse": float(np.mean((predict(net, d.X["test"]) - d.y["test"]) ** 2))
    }


def _save_model(net: nn.Module, spec: Mapping, d: Design, path: str, extra: Mapping | None = None) -> None:
    from ..models import model_checkpoint_info
    from ..io import save_torch

    save_torch({"state_dict": net.state_dict(), **model_checkpoint_info(spec, d.n_inputs, 1), **(extra or {})}, path)


# ------------------------------------------------------------------------------------------------ training
def train_lasso(expression: str, response: str, split: str, params: Mapping, seed: int, retraining: int,
                out_model: str, out_metrics: str) -> None:
    """scikit-learn LASSO; α chosen on validation MSE over ``params["alphas"]``."""
    from sklearn.linear_model import Lasso

    d = load_design(expression, response, split)
    job_seed = derive_seed(seed, EXPERIMENT, "lasso", retraining)
    best = None
    for alpha in params["alphas"]:
        m = Lasso(alpha=float(alpha), max_iter=int(params.get("max_iter", 5000)), tol=float(params.get("tol", 1e-4)),
                  random_state=job_seed % 2**32, selection="cyclic").fit(d.X["train"], d.y["train"])
        val = float(np.mean((m.predict(d.X["val"]) - d.y["val"]) ** 2))
        log.info("lasso α=%g: validation MSE %.4f, %d non-zero weights", alpha, val, int((m.coef_ != 0).sum()))
        if best is None or val < best[0]:
            best = (val, float(alpha), m)
    _, alpha, m = best
    spec = {"type": "mlp", "hidden": []}
    net = _linear_model(m.coef_, m.intercept_, d.n_inputs)
    _save_model(net, spec, d, out_model, {"alpha": alpha})
    values = _fit_metrics(net, d) | {"alpha": alpha, "n_nonzero": int((m.coef_[: d.n_genes] != 0).sum())}
    save_table(_rows("lasso", retraining, values), out_metrics)
    log.info("lasso: α=%g, test R² %.4f", alpha, values["test_r2"])


def _linear_model(coef: np.ndarray, intercept: float, n_inputs: int) -> nn.Module:
    """A one-layer network holding a fitted linear model (so EG, the checkpoint format and ``predict`` are shared)."""
    import torch

    from ..models import build_model

    net = build_model({"type": "mlp", "hidden": []}, n_inputs, 1)
    with torch.no_grad():
        net.first_layer().weight.copy_(torch.as_tensor(np.asarray(coef), dtype=torch.float32)[None, :])
        net.first_layer().bias.fill_(float(intercept))
    return net.eval()


def _fit_config(training: Mapping, job_seed: int, device: str, progress: bool) -> FitConfig:
    from ..training import FitConfig

    return FitConfig.from_mapping(training, seed=job_seed, device=device, progress=progress)


def mlp_grid(params: Mapping) -> list[dict]:
    """The MLP settings to choose from: every combination of ``params["grid"]``'s ``lr``, ``l1`` and ``hidden``."""
    grid = params["grid"]
    return [{"lr": float(lr), "l1": float(l1), "hidden": [int(h) for h in hidden]}
            for hidden in grid["hidden"] for lr in grid["lr"] for l1 in grid["l1"]]


def mlp_penalty(params: Mapping, l1: float) -> WeightL1 | None:
    """The MLP's L1 penalty of strength ``l1``: over the weight matrices, or every parameter with
    ``params["l1_biases"]`` (the original code's L1 on all trainable variables); ``None`` at 0."""
    return WeightL1(l1, biases=bool(params.get("l1_biases", False))) if l1 > 0 else None


def mlp_settings(params: Mapping, choice: Mapping) -> tuple[dict, float, dict]:
    """(model spec, L1 strength, training mapping) of the MLP with ``choice`` = ``{"lr", "l1", "hidden"}``."""
    spec = {**dict(params["model"]), "hidden": list(choice["hidden"])}
    return spec, float(choice["l1"]), {**dict(params["training"]), "lr": float(choice["lr"])}


def training_length(fits: Sequence) -> int:
    """The number of epochs early stopping found: the mean over fits (:class:`~attrpriors.training.FitResult`) of
    the best epoch + 1, rounded (at least 1) — the `paper` protocol trains its MLP this long, unrestored."""
    return max(1, int(round(float(np.mean([f.best_epoch + 1 for f in fits])))))


def fixed_length(training: Mapping, epochs: int) -> dict:
    """``training`` for exactly ``epochs`` epochs, the last one kept (no early stopping, no restoring)."""
    return {**dict(training), "epochs": int(epochs), "patience": int(epochs) + 1, "restore_best": False}


def choose_on_validation(settings: Sequence[Mapping], train: Callable[[Mapping, int], object], n_inits: int
                         ) -> tuple[int, list[list]]:
    """The paper's selection of MLP settings: every setting trained from ``n_inits`` initialisations
    (``train(setting, k)`` returns a :class:`~attrpriors.training.FitResult`; use the same initialisation seeds for
    every setting), the one with the lowest mean validation MSE (``best_val_loss``) chosen, the first among equals.
    Returns the chosen index and every setting's fits. Used by :func:`tune_mlp` and by each sweep cell."""
    if not settings or n_inits < 1:
        raise ValueError(f"need at least one setting and one initialisation, got {len(settings)} and {n_inits}")
    fits = [[train(s, k) for k in range(int(n_inits))] for s in settings]
    means = [float(np.mean([f.best_val_loss for f in fs])) for fs in fits]
    return int(np.argmin(means)), fits


def tune_mlp(expression: str, response: str, split: str, params: Mapping, seed: int, device: str, progress: bool,
             out_choice: str, out_grid: str) -> None:
    """Choose the MLP's learning rate, L1 strength and hidden sizes on validation (the paper's protocol).

    Every setting of :func:`mlp_grid` is trained with early stopping on one split (the tuning split), from
    ``params["tuning_seeds"]`` (default 1) initialisations; the seeds are the same for every setting (common random
    numbers) and the setting with the lowest mean validation MSE over them is written to ``out_choice`` (JSON), the
    whole grid (mean and s.d. over seeds) to ``out_grid``. One seed per setting lets the initialisation decide: on
    the quick default one setting's validation MSE spans 0.32–0.49 across seeds, more than the settings differ.
    """
    from ..models import build_model
    from ..training import fit

    d = load_design(expression, response, split)
    n_seeds = int(params.get("tuning_seeds", 1))

    def train(choice, k):
        spec, l1, training = mlp_settings(params, choice)
        job_seed = derive_seed(seed, EXPERIMENT, "mlp_tuning", k)
        seed_everything(job_seed)
        res = fit(build_model(spec, d.n_inputs, 1), d.X["train"], d.y["train"], d.X["val"], d.y["val"],
                  task="regression", config=_fit_config(training, job_seed, device, progress),
                  weight_penalty=mlp_penalty(params, l1), description=f"mlp tuning {choice} seed {k}")
        log.info("mlp %s seed %d: validation MSE %.4f (best epoch %d)", choice, k, res.best_val_loss, res.best_epoch)
        return res

    best, fits = choose_on_validation(mlp_grid(params), train, n_seeds)
    rows = []
    for choice, fs in zip(mlp_grid(params), fits):
        vals = [f.best_val_loss for f in fs]
        rows.append({**choice, "hidden": "-".join(map(str, choice["hidden"])), "val_mse": float(np.mean(vals)),
                     "val_mse_sd": float(np.std(vals, ddof=1)) if n_seeds > 1 else float("nan"),
                     "n_seeds": n_seeds, "best_epoch": float(np.mean([f.best_epoch for f in fs]))})
    grid = pd.DataFrame(rows)
    save_table(grid.assign(experiment=EXPERIMENT, chosen=np.arange(len(grid)) == best), out_grid)
    # the number of epochs early stopping found (mean over the initialisations): the training length of the
    # `paper` protocol's MLP, which is trained that long and not restored (the original: "120 was the optimal
    # number of training epochs")
    epochs = training_length(fits[best])
    choice = mlp_grid(params)[best] | {"val_mse": float(grid["val_mse"].iloc[best]), "epochs": epochs}
    save_json(choice, out_choice)
    log.info("chosen MLP settings: %s", choice)


def train_network(model: str, expression: str, response: str, split: str, edges: str, lasso_metrics: str | None,
                  params: Mapping, seed: int, retraining: int, device: str, progress: bool, out_model: str,
                  out_history: str, out_metrics: str, mlp_choice: str | None = None) -> None:
    """Train ``mlp`` (L1 + early stopping, settings from ``mlp_choice`` written by :func:`tune_mlp`), ``gcn`` or
    ``graph_lasso`` (ν' chosen on validation) with the fit loop. The MLP's checkpoint keeps its Adam state at the
    best epoch (``optimizer_state``), its L1 strength and training settings, for :func:`finetune`."""
    from ..models import build_model
    from ..training import fit

    d = load_design(expression, response, split)
    job_seed = derive_seed(seed, EXPERIMENT, model, retraining)
    e, w = graph_edges(edges, d.genes)
    p = params[model]
    extra_values: dict = {}
    extra_ckpt: dict = {}
    if model == "graph_lasso":
        alpha = float(read_table(lasso_metrics, ("metric", "value")).set_index("metric")["value"]["alpha"])
        spec = {"type": "mlp", "hidden": []}
        best = None
        for nu in p["nus"]:
            m = fit_graph_lasso(d.X["train"], d.y["train"], d.n_genes, e, w, alpha, float(nu),
                                int(p.get("max_iter", 5000)), float(p.get("tol", 1e-4)))
            val = float(np.mean((m.predict(d.X["val"]) - d.y["val"]) ** 2))
            log.info("graph lasso ν'=%g: validation MSE %.4f, %d non-zero weights", nu, val, int((m.coef_ != 0).sum()))
            if best is None or val < best[0]:
                best = (val, float(nu), m)
        _, nu, m = best
        net = _linear_model(m.coef_, m.intercept_, d.n_inputs)
        extra_values = {"alpha": alpha, "nu_prime": nu, "n_nonzero": int((m.coef_[: d.n_genes] != 0).sum())}
        _save_model(net, spec, d, out_model, {"nu_prime": nu})
        save_table(pd.DataFrame({"nu_prime": [float(v) for v in p["nus"]]}).assign(experiment=EXPERIMENT,
                                                                                      model=model, seed=retraining),
                   out_history)
        values = _fit_metrics(net, d) | extra_values
        save_table(_rows(model, retraining, values), out_metrics)
        log.info("graph_lasso retraining %d: ν'=%g, test R² %.4f", retraining, nu, values["test_r2"])
        return
    else:
        seed_everything(job_seed)
        penalty = None
        if model in ("mlp", "mlp_paper"):
            if mlp_choice is None:
                raise ValueError(f"train_network({model!r}) needs mlp_choice, the settings chosen by tune_mlp")
            choice = read_json(mlp_choice)
            spec, l1, training = mlp_settings(p, choice)
            penalty = mlp_penalty(p, l1)
            if model == "mlp_paper":  # the original's fixed training length, not restored (ORIGINAL_PROTOCOLS §1)
                if "epochs" not in choice:
                    raise KeyError(f"{mlp_choice}: no 'epochs' (the training length early stopping found; "
                                   "written by tune_mlp)")
                training = fixed_length(training, int(choice["epochs"]))
            extra_values = {"lr": training["lr"], "l1": l1}
        else:
            spec, l1, training = dict(p["model"]), float(p.get("l1", 0.0)), dict(p["training"])
            penalty = WeightL1(l1) if l1 > 0 else None
        if spec.get("type") == "gcn":
            spec.update(n_genes=d.n_genes, n_edges=len(e))
        net = build_model(spec, d.n_inputs, 1)
        if spec.get("type") == "gcn":
            net.set_graph(e, w)
        if model == "mlp_paper":
            extra_values |= loss_shares(net, d.X["train"], d.y["train"], penalty)
        res = fit(net, d.X["train"], d.y["train"], d.X["val"], d.y["val"], task="regression",
                  config=_fit_config(training, job_seed, device, progress), weight_penalty=penalty,
                  description=f"{model} retraining {retraining}")
        if model == "mlp_paper":
            extra_values |= {"val_slope_at_end": validation_slope(res.history, int(p.get("slope_epochs", 10)))}
        if model in ("mlp", "mlp_paper"):
            extra_ckpt = {"optimizer_state": res.optimizer_state, "l1": l1, "training": training,
                          "l1_biases": bool(p.get("l1_biases", False))}
    net = res.model.cpu().eval()
    _save_model(net, spec, d, out_model, {"best_epoch": res.best_epoch, **extra_ckpt})
    save_table(res.history.assign(experiment=EXPERIMENT, model=model, seed=retraining), out_history)
    values = _fit_metrics(net, d) | {"best_epoch": res.best_epoch, "epochs_run": len(res.history)} | extra_values
    save_table(_rows(model, retraining, values), out_metrics)
    log.info("%s retraining %d: best epoch %d, test R² %.4f", model, retraining, res.best_epoch, values["test_r2"])


def loss_shares(net: nn.Module, X: np.ndarray, y: np.ndarray, penalty) -> dict:
    """The L1 share of the training loss of ``net`` as given (before training): ``L1 / (MSE + L1)`` on the training
    rows, with the two terms (the original notebook's loss is ≈ 98 % L1 at the start: 68.9 vs MSE 1.15)."""
    import torch
    from ..training import predict

    mse = float(np.mean((predict(net, X).reshape(-1) - y) ** 2))
    with torch.no_grad():
        l1 = float(penalty(net)) if penalty is not None else 0.0
    return {"initial_mse": mse, "initial_l1": l1, "l1_share_at_start": l1 / (mse + l1) if mse + l1 > 0 else np.nan}


def validation_slope(history: pd.DataFrame, n_epochs: int) -> float:
    """Least-squares slope of the validation MSE over the last ``n_epochs`` epochs of a fit, per epoch (< 0: the
    model was still improving when training stopped, the regime in which the original fine-tunes)."""
    h = history.dropna(subset=["val_loss"]).tail(max(2, int(n_epochs)))
    if len(h) < 2:
        return float("nan")
    return float(np.polyfit(h["epoch"].to_numpy(float), h["val_loss"].to_numpy(float), 1)[0])


def random_graph(edges: np.ndarray, weights: np.ndarray, n_nodes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The random-graph control: as many edges as ``edges`` (same weights, shuffled), placed uniformly at random
    among the ``n_nodes`` model genes (:func:`attrpriors.data.beataml.random_graph_like`)."""
    from ..data.beataml import random_graph_like

    names = np.arange(n_nodes).astype(str)
    df = pd.DataFrame({"gene_a": names[edges[:, 0]], "gene_b": names[edges[:, 1]], "weight": weights})
    rnd = random_graph_like(df, names, seed)
    e = np.c_[rnd["gene_a"].astype(int).to_numpy(), rnd["gene_b"].astype(int).to_numpy()].astype(np.int64)
    return e.reshape(-1, 2), rnd["weight"].to_numpy(np.float64)


def finetune_graphs(variant: str, edges: np.ndarray, weights: np.ndarray, n_genes: int, seed: int,
                    retraining: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The graph a fine-tuning variant regularises over: the real graph (``mlp_graph``), a random graph with the
    same number of edges drawn anew for each retraining (``mlp_random_graph``), or none (``mlp_extra``)."""
    if variant not in FINETUNED:
        raise ValueError(f"unknown fine-tuning variant {variant!r}; known: {FINETUNED}")
    if variant == "mlp_extra":
        return None
    if variant == "mlp_random_graph":
        return random_graph(edges, weights, n_genes, derive_seed(seed, EXPERIMENT, "random_graph", retraining))
    return edges, weights


def finetune_candidates(net: nn.Module, optimizer_state: Mapping, X: Mapping, y: Mapping, prior_factory,
                        nus: Sequence[float], training: Mapping, penalty, order_seed: int, device: str,
                        progress: bool, description: str) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Fine-tune a converged model once per ν in ``nus`` (ν = 0: no prior) and choose (ν, number of extra
    epochs) on the validation MSE, with the model as given (0 extra epochs) a candidate of every run.

    Each run starts from the same weights and continues the same Adam (``optimizer_state``: moments, step count
    and learning rate of the converged model), on the joint loss ``MSE + L1 + ν Ω`` (one backward pass, one
    optimiser — under which ν sets the balance of the two gradients, unlike a prior step with a fresh Adam,
    whose update does not depend on ν), with the same batch order (``order_seed``). Ties go to fewer epochs.
    Returns ``(choice, candidates, history)``: ``choice`` has ``nu`` (0 when no extra epoch is chosen),
    ``extra_epochs``, ``val_mse``, ``model``.
    """
    import copy

    from ..training import fit

    initial_state = copy.deepcopy(net.state_dict())
    best, rows, hist = None, [], []
    for nu in nus:
        cand = copy.deepcopy(net)
        cand.load_state_dict(initial_state)
        prior = prior_factory() if nu > 0 else None
        cfg = {**dict(training), "schedule": "joint", "prior_weight": float(nu)}
        res = fit(cand, X["train"], y["train"], X["val"], y["val"], task="regression",
                  config=_fit_config(cfg, order_seed, device, progress), prior=prior, weight_penalty=penalty,
                  optimizer_state=optimizer_state, initial_candidate=True, description=f"{description} ν={nu:.3g}")
        extra = res.best_epoch + 1
        rows.append({"nu": float(nu), "extra_epochs": extra, "val_mse": res.best_val_loss,
                     "epochs_run": len(res.history)})
        hist.append(res.history.assign(nu=float(nu)))
        log.info("%s ν=%.4g: validation MSE %.5f after %d extra epochs", description, nu, res.best_val_loss, extra)
        if best is None or (res.best_val_loss, extra) < (best["val_mse"], best["extra_epochs"]):
            best = {"nu": float(nu) if extra else 0.0, "extra_epochs": extra, "val_mse": res.best_val_loss,
                    "model": res.model}
    return best, pd.DataFrame(rows), pd.concat(hist, ignore_index=True)


def load_converged_mlp(mlp_model: str, device: str, writer: str):
    """A fine-tuning's start: the MLP checkpoint (it must hold the keys :func:`train_network` writes), the model on
    ``device`` in training mode and its L1 penalty (over every parameter when it was trained so)."""
    from ..models import load_model
    from ..training import select_device

    ckpt = load_torch(mlp_model)
    for key in ("optimizer_state", "l1", "training"):
        if key not in ckpt:
            raise KeyError(f"{mlp_model}: the MLP checkpoint lacks {key!r} (written by train_network({writer!r}))")
    net = load_model(mlp_model).to(select_device(device)).train()
    l1 = float(ckpt["l1"])
    penalty = WeightL1(l1, biases=bool(ckpt.get("l1_biases", False))) if l1 > 0 else None
    return ckpt, net, penalty


def finetune(variant: str, mlp_model: str, expression: str, response: str, split: str, edges: str,
             params: Mapping, seed: int, retraining: int, device: str, progress: bool, out_model: str,
             out_history: str, out_metrics: str) -> None:
    """Extra epochs from the converged MLP: with the graph prior, the random-graph prior, or without a prior.

    The paper's protocol (supplement section on the graph experiment) with the choices it leaves open stated:
    fine-tuning continues the MLP's Adam state at its learning rate (saved in the MLP checkpoint) with the same
    L1 penalty; ν₀ is set so that ``ν₀ Ω`` equals the task loss on the converged MLP's first batches
    (:func:`balance_prior_weight`, the paper's rule), the ν grid is ``ν₀ × params["nu_scales"]``; ν and the
    number of extra epochs (0 included) are chosen on the validation MSE (:func:`finetune_candidates`). The
    extra-epochs control (ν = 0) chooses its own number of epochs the same way. All variants of a retraining see
    the same batch order.
    """
    from ..priors import GraphPrior

    d = load_design(expression, response, split)
    ckpt, net, penalty = load_converged_mlp(mlp_model, device, "mlp")
    order_seed = derive_seed(seed, EXPERIMENT, "finetune", retraining)
    seed_everything(derive_seed(seed, EXPERIMENT, variant, retraining))
    training = {**dict(params["training"]), "lr": float(ckpt["training"]["lr"]),
                "batch_size": int(params["training"].get("batch_size", ckpt["training"]["batch_size"]))}
    e, w = graph_edges(edges, d.genes)
    graph = finetune_graphs(variant, e, w, d.n_genes, seed, retraining)
    eg_seed = derive_seed(seed, EXPERIMENT, variant, "eg", retraining)
    dev = next(net.parameters()).device

    def prior_factory():
        return GraphPrior(graph[0], graph[1], n_nodes=d.n_genes, n_references=int(params["n_references"]),
                          input_slice=slice(0, d.n_genes), seed=eg_seed).to(dev)

    balance, nus = {}, [0.0]
    if graph is not None:
        balance = balance_prior_weight(net, prior_factory(), d.X["train"], d.y["train"], int(training["batch_size"]),
                                       int(params["balance_batches"]), penalty, order_seed)
        nus = [balance["prior_weight"] * float(k) for k in params["nu_scales"]]
        log.info("%s: task loss %.4g, Ω %.4g on %d batches → ν₀ = %.4g; grid %s", variant, balance["task_loss"],
                 balance["prior_value"], balance["n_batches"], balance["prior_weight"], [f"{v:.3g}" for v in nus])
    choice, cands, hist = finetune_candidates(net, ckpt["optimizer_state"], d.X, d.y, prior_factory, nus, training,
                                              penalty, order_seed, device, progress,
                                              f"{variant} retraining {retraining}")
    net = choice["model"].cpu().eval()
    extra_ckpt = {"extra_epochs": choice["extra_epochs"], "prior_weight": choice["nu"],
                  "n_graph_edges": 0 if graph is None else len(graph[0]), **balance}
    _save_model(net, ckpt["model_spec"], d, out_model, extra_ckpt)
    save_table(hist.assign(experiment=EXPERIMENT, model=variant, seed=retraining), out_history)
    values = _fit_metrics(net, d) | {"extra_epochs": choice["extra_epochs"], "prior_weight": choice["nu"],
                                     "best_val_mse": choice["val_mse"]}
    if balance:
        values |= {"nu0": balance["prior_weight"], "nu_scale": choice["nu"] / balance["prior_weight"],
                   "initial_task_loss": balance["task_loss"], "initial_prior": balance["prior_value"],
                   "n_graph_edges": len(graph[0])}
    save_table(_rows(variant, retraining, values), out_metrics)
    log.info("%s retraining %d: ν=%.4g, %d extra epochs, test R² %.4f", variant, retraining, choice["nu"],
             choice["extra_epochs"], values["test_r2"])


# ------------------------------------------------------------------------------------- the `paper` protocol
def paper_finetune_run(net: nn.Module, optimizer_state: Mapping, X: Mapping, y: Mapping, prior, nu: float,
                       training: Mapping, penalty, order_seed: int, device: str, progress: bool,
                       description: str) -> tuple[list[dict], pd.DataFrame]:
    """The original code's fine-tuning of one model: ``training["epochs"]`` extra epochs, every one kept.

    Per batch a task step (MSE + L1) that continues the converged model's Adam (``optimizer_state``), then, with
    a prior, a step on ``ν Ω`` alone with a second Adam at the same learning rate, fresh at the start of
    fine-tuning (the notebook's ``train_eg_op``, whose slots ordinary training never touched); no early stopping
    and no restoring. Without a prior only the task steps run (the extra-epochs control), in the same batch order
    (``order_seed``). Returns the weights after each extra epoch (``states[e - 1]`` after ``e`` epochs, on the
    CPU) and the history (``extra_epoch`` = 1, 2, …, ``val_loss``, ``train_loss``, ``train_prior``).
    """
    import copy

    from ..training import fit

    states: list[dict] = []
    n = int(training["epochs"])
    cfg = {**dict(training), "schedule": "alternating", "prior_weight": float(nu) if prior is not None else 0.0,
           "prior_lr": float(training["lr"]), "patience": n + 1, "restore_best": False}
    res = fit(copy.deepcopy(net), X["train"], y["train"], X["val"], y["val"], task="regression",
              config=_fit_config(cfg, order_seed, device, progress), prior=prior, weight_penalty=penalty,
              optimizer_state=optimizer_state, description=description,
              epoch_callback=lambda e, m: states.append({k: v.detach().cpu().clone() for k, v in
                                                         m.state_dict().items()}))
    hist = res.history.assign(extra_epoch=res.history["epoch"] + 1, nu=float(cfg["prior_weight"]))
    return states, hist


def choose_extra_epochs(history: pd.DataFrame) -> tuple[int, pd.DataFrame]:
    """The number of extra epochs, chosen once on validation: the ``extra_epoch`` with the lowest validation MSE
    averaged over retrainings (``seed``) — the original chose 5 this way and used it for every retraining and for
    the extra-epochs control. Only epochs every retraining reached count; ties go to fewer epochs. Returns the
    choice and the curve (``extra_epoch``, ``mean_val_mse``, ``sd``, ``n``, ``chosen``)."""
    h = history.dropna(subset=["val_loss"])
    if h.empty:
        raise ValueError("no validation MSE in the fine-tuning histories; cannot choose the extra epochs")
    n_runs = h["seed"].nunique()
    g = h.groupby("extra_epoch")["val_loss"]
    curve = pd.DataFrame({"mean_val_mse": g.mean(), "sd": g.std(), "n": g.size()}).reset_index()
    curve = curve[curve["n"] == n_runs].sort_values("extra_epoch", kind="stable")
    best = int(curve.loc[curve["mean_val_mse"].idxmin(), "extra_epoch"])
    return best, curve.assign(chosen=curve["extra_epoch"] == best).reset_index(drop=True)


def paper_prior_factory(variant: str, edges: np.ndarray, weights: np.ndarray, n_genes: int, X_train: np.ndarray,
                        params: Mapping, seed: int, retraining: int, device):
    """The `paper` fine-tuning's prior of ``variant`` (``mlp_graph_paper``, ``mlp_random_graph_paper``): the
    graph over the first ``n_genes`` columns (real, or random with as many edges, :func:`finetune_graphs`) and EG
    with ``params["n_references"]`` references per row drawn from the training rows ``X_train`` (a stream separate
    from the batch, as the original's ``reference_dataset``); ``None`` for ``mlp_extra_paper``."""
    import torch
    from ..priors import GraphPrior

    graph = finetune_graphs(PAPER_ARMS[variant], edges, weights, n_genes, seed, retraining)
    if graph is None:
        return None
    background = torch.as_tensor(X_train, dtype=torch.float32, device=device)
    return GraphPrior(graph[0], graph[1], n_nodes=n_genes, n_references=int(params["n_references"]),
                      background=background, input_slice=slice(0, n_genes),
                      seed=derive_seed(seed, EXPERIMENT, variant, "eg", retraining)).to(device)


def paper_finetune_arms(net: nn.Module, optimizer_state: Mapping, X: Mapping, y: Mapping, n_genes: int,
                        edges: np.ndarray, weights: np.ndarray, variants: Sequence[str], params: Mapping, penalty,
                        lr: float, seed: int, retraining: int, device: str, progress: bool) -> dict:
    """Every `paper` fine-tuning arm of one retraining from the fixed-length MLP ``net`` (one implementation for
    the main experiment and the sweep): per arm the weights after each extra epoch and the history
    (:func:`paper_finetune_run`), with ν fixed by the balance rule (``ν Ω`` = the task loss on the MLP's first
    ``params["balance_batches"]`` batches, :func:`balance_prior_weight`; the original's ν = 100 came from the same
    rule). All arms see the same batch order. Returns ``{arm: {"states", "history", prior_weight, …}}``."""
    from ..training import select_device

    dev = select_device(device)
    training = {**dict(params["training"]), "lr": float(lr)}
    order_seed = derive_seed(seed, EXPERIMENT, "finetune_paper", retraining)
    out = {}
    for variant in variants:
        if variant not in PAPER_FINETUNED:
            raise ValueError(f"unknown paper fine-tuning arm {variant!r}; known: {PAPER_FINETUNED}")
        seed_everything(derive_seed(seed, EXPERIMENT, variant, retraining))
        prior = paper_prior_factory(variant, edges, weights, n_genes, X["train"], params, seed, retraining, dev)
        balance = {}
        if prior is not None:
            balance = balance_prior_weight(net, prior, X["train"], y["train"], int(training["batch_size"]),
                                           int(params["balance_batches"]), penalty, order_seed)
            log.info("%s: task loss %.4g, Ω %.4g on %d batches → ν = %.4g", variant, balance["task_loss"],
                     balance["prior_value"], balance["n_batches"], balance["prior_weight"])
        states, hist = paper_finetune_run(net, optimizer_state, X, y, prior, balance.get("prior_weight", 0.0),
                                          training, penalty, order_seed, device, progress,
                                          f"{variant} retraining {retraining}")
        out[variant] = {"states": states, "history": hist.assign(model=variant, seed=retraining), **balance,
                        "n_graph_edges": 0 if prior is None else int(prior.edges.shape[0])}
        log.info("%s retraining %d: validation MSE by extra epoch %s", variant, retraining,
                 [round(v, 4) for v in hist["val_loss"]])
    return out


def finetune_paper(mlp_model: str, expression: str, response: str, split: str, edges: str, params: Mapping,
                   variants: Sequence[str], seed: int, retraining: int, device: str, progress: bool, out_states: str,
                   out_history: str) -> None:
    """Every `paper` fine-tuning arm of one retraining (:func:`paper_finetune_arms`) from the fixed-length MLP
    (``mlp_paper``): the weights after each extra epoch (``out_states``) and the histories, for the number of
    extra epochs to be chosen once over retrainings (:func:`select_paper`)."""
    from ..io import save_torch

    d = load_design(expression, response, split)
    ckpt, net, penalty = load_converged_mlp(mlp_model, device, "mlp_paper")
    e, w = graph_edges(edges, d.genes)
    arms = paper_finetune_arms(net, ckpt["optimizer_state"], d.X, d.y, d.n_genes, e, w, variants, params, penalty,
                               float(ckpt["training"]["lr"]), seed, retraining, device, progress)
    save_torch({"extra_epochs_max": int(params["training"]["epochs"]),
                **{a: {k: v for k, v in r.items() if k != "history"} for a, r in arms.items()}}, out_states)
    save_table(pd.concat([r["history"] for r in arms.values()], ignore_index=True).assign(experiment=EXPERIMENT),
               out_history)


def select_paper(states: Sequence[str], histories: Sequence[str], mlp_models: Sequence[str], expression: str,
                 response: str, splits: Sequence[str], retrainings: Sequence[int], out_choice: str, out_curve: str,
                 out_models: Sequence[str], out_metrics: Sequence[str]) -> None:
    """The `paper` protocol's one choice of the number of extra epochs, and its models.

    ``e*`` = :func:`choose_extra_epochs` on the graph arm's (``mlp_graph_paper``) validation curves pooled over
    the retrainings (the extra-epochs control alone when there is no graph arm); every arm of every retraining
    (``states[i]``, ``histories[i]``, ``mlp_models[i]``, ``splits[i]`` of ``retrainings[i]``) is then taken after
    ``e*`` epochs — the controls after the graph arm's number, as the original (supplement l.484). Writes
    ``out_models``/``out_metrics`` in the order arm × retraining (arms in :data:`PAPER_FINETUNED` order, those
    present), the choice (JSON) and the pooled curve of every arm (``out_curve``)."""
    from ..models import load_model

    hist = pd.concat([read_table(p, ("model", "seed", "extra_epoch", "val_loss")) for p in histories],
                     ignore_index=True)
    arms = [a for a in PAPER_FINETUNED if a in set(hist["model"])]
    chooser = "mlp_graph_paper" if "mlp_graph_paper" in arms else arms[0]
    e_star, _ = choose_extra_epochs(hist[hist["model"] == chooser])
    curves = pd.concat([choose_extra_epochs(hist[hist["model"] == a])[1].assign(model=a) for a in arms],
                       ignore_index=True)
    curves["chosen"] = curves["extra_epoch"] == e_star
    save_table(curves.assign(experiment=EXPERIMENT, chosen_on=chooser), out_curve)
    save_json({"extra_epochs": e_star, "chosen_on": chooser, "retrainings": [int(r) for r in retrainings]},
              out_choice)
    log.info("paper protocol: %d extra epochs (lowest mean validation MSE of %s over %d retrainings)", e_star,
             chooser, len(retrainings))
    if len(out_models) != len(arms) * len(retrainings) or len(out_metrics) != len(out_models):
        raise ValueError(f"{len(out_models)} model and {len(out_metrics)} metric paths for {len(arms)} arms × "
                         f"{len(retrainings)} retrainings")
    for i, r in enumerate(retrainings):  # each retraining's data, states and MLP loaded once
        d = load_design(expression, response, splits[i])
        blob = load_torch(states[i])
        spec = load_torch(mlp_models[i])["model_spec"]
        for a, arm in enumerate(arms):
            k = a * len(retrainings) + i  # outputs are in the order arm × retraining
            net = load_model(mlp_models[i])
            net.load_state_dict(blob[arm]["states"][e_star - 1])
            net.eval()
            info = {key: v for key, v in blob[arm].items() if key != "states"}
            _save_model(net, spec, d, out_models[k], {"extra_epochs": e_star, **info})
            h = hist[(hist["model"] == arm) & (hist["seed"] == r)].set_index("extra_epoch")["val_loss"]
            values = _fit_metrics(net, d) | {"extra_epochs": e_star, "best_val_mse": float(h.loc[e_star]),
                                             "prior_weight": float(info.get("prior_weight", 0.0))}
            if "prior_weight" in info:
                values |= {"nu0": info["prior_weight"], "initial_task_loss": info["task_loss"],
                           "initial_prior": info["prior_value"], "n_graph_edges": info["n_graph_edges"]}
            save_table(_rows(arm, r, values), out_metrics[k])


# ----------------------------------------------------------------------------------------------- explain
def explain(models: Sequence[str], model_paths: Sequence[str], expression: str, response: str, split: str,
            edges: str, gene_sets: str, truth_dir: str | None, params: Mapping, seed: int, retraining: int,
            device: str, out_attributions: Sequence[str], out_gsea: Sequence[str], out_metrics: Sequence[str]) -> None:
    """Every model of one retraining in one pass (``models[i]`` from ``model_paths[i]`` → the i-th outputs): mean
    |EG| per gene on the test rows, the graph penalty, GSEA prerank and (simulation) truth recovery.

    The data, graph, gene sets and explained rows are loaded once, and every model is explained with the same EG
    references (common random numbers: a paired difference between two models — e.g. a fine-tuned arm that kept
    0 extra epochs, i.e. the MLP itself — is the models' difference, not the noise of two reference draws)."""
    from ..models import load_model
    from ..enrichment import gsea_prerank, load_gene_sets

    lengths = {len(models), len(model_paths), len(out_attributions), len(out_gsea), len(out_metrics)}
    if len(lengths) != 1:
        raise ValueError(f"explain: {len(models)} models, {len(model_paths)} model files and "
                         f"{len(out_attributions)}/{len(out_gsea)}/{len(out_metrics)} outputs; they must match")
    d = load_design(expression, response, split)
    X = d.X["test"]
    if params.get("n_explain") and len(X) > int(params["n_explain"]):
        X = X[np.sort(np.random.default_rng(derive_seed(seed, EXPERIMENT, "explain_rows", retraining))
                      .choice(len(X), int(params["n_explain"]), replace=False))]
    e, w = graph_edges(edges, d.genes)
    lap = laplacian(e, w, d.n_genes)
    sets = load_gene_sets(source=gene_sets)
    g = params["gsea"]
    fdr = float(g["fdr"])
    truth = None
    if truth_dir:
        t = read_json(Path(truth_dir) / "truth.json")
        gt = read_table(Path(truth_dir) / "genes.tsv", ("gene", "importance")).set_index("gene")["importance"]
        truth = (set(t.get("driving_pathways", [])), gt.reindex(d.genes).fillna(0.0).to_numpy() > 0)
    for model, path, out_a, out_g, out_m in zip(models, model_paths, out_attributions, out_gsea, out_metrics):
        net = load_model(path)
        phibar = mean_abs_expected_gradients(net, X, d.X["train"], int(params["n_references"]),
                                             derive_seed(seed, EXPERIMENT, "explain", retraining),
                                             device)[: d.n_genes]  # the genes, not the drug indicator columns
        save_table(pd.DataFrame({"gene": d.genes, "model": model, "seed": retraining, "mean_abs_eg": phibar}), out_a)
        pen = quadratic_form(phibar, lap)
        norm2 = float(phibar @ phibar)
        values = {"graph_penalty": pen, "graph_penalty_normalized": pen / norm2 if norm2 > 0 else np.nan,
                  "mean_abs_eg": float(phibar.mean())}
        scores = pd.Series(phibar, index=d.genes)
        # a tiny deterministic tie-break so genes with equal (e.g. zero LASSO) attribution are ranked reproducibly
        scores = scores + 1e-12 * np.arange(len(scores))[::-1] / len(scores)
        gsea = gsea_prerank(scores, sets, permutations=int(g["permutations"]),
                            seed=derive_seed(seed, EXPERIMENT, "gsea"), min_size=int(g["min_size"]),
                            max_size=int(g["max_size"]), threads=1)
        sig = gsea[(gsea["fdr_bh"] < fdr) & (gsea["nes"] > 0)]
        values |= {"n_significant_pathways": len(sig), "n_tested_pathways": len(gsea)}
        if truth is not None:
            driving, imp = truth
            k = int(imp.sum())
            top = np.argsort(-phibar, kind="stable")[:k]
            values |= {
                "n_driving_pathways": len(driving),
                "n_driving_tested": len(driving & set(gsea["term"])),
                "n_driving_recovered": len(driving & set(sig["term"])),
                "n_nondriving_significant": len(set(sig["term"]) - driving),
                "precision_top_genes": float(imp[top].mean()) if k else np.nan,
                "auroc_truth": auroc(imp, phibar),
            }
            gsea["driving"] = gsea["term"].isin(driving)
        save_table(gsea.assign(experiment=EXPERIMENT, model=model, seed=retraining), out_g)
        save_table(_rows(model, retraining, values), out_m)
        log.info("%s retraining %d: %s", model, retraining, {k: round(v, 4) for k, v in values.items()})


# --------------------------------------------------------------------------------------------- aggregate
def paired_tests(metrics: pd.DataFrame, metric: str = "test_r2", pairs=PAIRS) -> pd.DataFrame:
    """Paired t-test of ``metric`` between each (model, baseline) pair over retrainings.

    Retraining s of every model uses the same split (and the fine-tuned models start from the same MLP), so the
    pairs are matched by ``seed`` (retrainings missing from either model are left out). Reports the mean
    difference, its 95 % t confidence interval and the two-sided p-value; where the differences have no variance
    (e.g. an arm that validation kept at 0 extra epochs in every retraining equals its MLP) there is no test:
    CI and p are NaN and ``note`` says why (empty otherwise).
    """
    from scipy import stats

    out = []
    for a, b in pairs:
        va = metrics.query("model == @a and metric == @metric").set_index("seed")["value"].astype(float)
        vb = metrics.query("model == @b and metric == @metric").set_index("seed")["value"].astype(float)
        common = va.index.intersection(vb.index).sort_values()
        if len(common) == 0:
            continue
        diff = (va.loc[common] - vb.loc[common]).to_numpy()
        n = len(diff)
        note = ""
        if n > 1 and np.std(diff) > 0:
            t, p = stats.ttest_rel(va.loc[common], vb.loc[common])
            half = stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n)
        else:
            t = p = half = np.nan
            note = (f"identical in all {n} pairs, no test" if not np.any(diff) else
                    "one pair, no test" if n == 1 else f"the same difference in all {n} pairs, no test")
        protocols = {protocol_of(a), protocol_of(b)}
        protocol = "paper" if "paper" in protocols else "strict" if "strict" in protocols else "both"
        out.append({"experiment": EXPERIMENT, "protocol": protocol, "metric": metric, "model": a, "baseline": b,
                    "n_pairs": n,
                    "mean_model": float(va.loc[common].mean()), "mean_baseline": float(vb.loc[common].mean()),
                    "difference": float(diff.mean()), "ci95_low": float(diff.mean() - half),
                    "ci95_high": float(diff.mean() + half), "n_model_better": int((diff > 0).sum()), "t": float(t),
                    "p_paired": float(p), "note": note})
    return pd.DataFrame(out)


def _order(models) -> list[str]:
    return [m for m in MODEL_LABELS if m in set(models)]


def _summary(metrics: pd.DataFrame) -> pd.DataFrame:
    g = metrics.groupby(["model", "metric"])["value"]
    s = pd.DataFrame({"mean": g.mean(), "sd": g.std(), "n": g.size()}).reset_index()
    s["se"] = s["sd"] / np.sqrt(s["n"])
    return s


def _fmt_p(p: float) -> str:
    return "n/a" if not np.isfinite(p) else (f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}")


def r2_figure(metrics: pd.DataFrame, tests: pd.DataFrame, path: str) -> None:
    """Fig. 2 (left and top right): test R² per model (dots = retrainings, bar = mean ± s.e.) and the number of
    significant GSEA pathways per model, with paired t-tests of the paper's pairs."""
    from .. import plots

    models = _order(metrics["model"])
    labels = [MODEL_LABELS[m] for m in models]
    with plots.figure(path, 1, 2, figsize=(10.5, 4.2), gridspec_kw={"width_ratios": [1.4, 1]}) as (fig, axes):
        for ax, metric, ylabel in ((axes[0], "test_r2", "test R²"),
                                   (axes[1], "n_significant_pathways", "significant KEGG pathways (BH-FDR)")):
            sub = metrics[metrics["metric"] == metric]
            for i, m in enumerate(models):
                v = sub.loc[sub["model"] == m, "value"].to_numpy(float)
                if not len(v):
                    continue
                colour = "C3" if m in ("mlp_graph", "mlp_graph_paper") else ("C7" if m in ("lasso", "graph_lasso") else "C0")
                se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0
                ax.bar(i, v.mean(), yerr=se, color=colour, alpha=0.45, capsize=3)
                jitter = (np.arange(len(v)) - (len(v) - 1) / 2) * 0.08
                ax.scatter(i + jitter, v, s=12, color=colour, zorder=3)
            ax.set_xticks(range(len(models)), labels, rotation=35, ha="right")
            ax.set_ylabel(ylabel)
        r2v = metrics.loc[metrics["metric"] == "test_r2", "value"]
        if len(r2v):
            lo, hi = float(r2v.min()), float(r2v.max())
            axes[0].set_ylim(max(lo - 0.15 * (hi - lo + 1e-3), -1.0), hi + 0.1 * (hi - lo + 1e-3))
        n = metrics.query("metric == 'test_r2'").groupby("model").size()
        axes[0].set_title(f"Drug response, test R² ({int(n.max()) if len(n) else 0} retrainings)")
        axes[1].set_title("GSEA on genes ranked by mean |EG|")
        def line(r) -> str:
            head = f"{MODEL_LABELS[r.model]} vs {MODEL_LABELS[r.baseline]}: "
            if getattr(r, "note", ""):  # no variance of the differences: no test (paired_tests says why)
                return head + (r.note if r.difference == 0 else f"Δ={r.difference:+.4f}, {r.note}")
            return (head + f"Δ={r.difference:+.4f} [{r.ci95_low:+.4f}, {r.ci95_high:+.4f}], better in "
                    f"{r.n_model_better}/{r.n_pairs}, p={_fmt_p(r.p_paired)}")

        lines = [line(r) for r in tests.itertuples() if r.metric == "test_r2"]
        fig.canvas.draw()  # place the t-test text below the rotated tick labels
        inv = fig.transFigure.inverted()
        bottom = min(inv.transform(ax.get_tightbbox(fig.canvas.get_renderer()))[0][1] for ax in axes)
        fig.text(0.01, bottom - 0.03, "Paired t-tests over retrainings (test R², Δ [95 % CI]):\n" + "\n".join(lines), va="top", fontsize=7.5,
                 family="monospace")


def penalty_figure(metrics: pd.DataFrame, path: str) -> None:
    """Supplement Fig. 12: the explanation graph penalty φ̄ᵀLφ̄ per model (log scale), raw and scale-free."""
    from .. import plots

    models = [m for m in _order(metrics["model"])]
    labels = [MODEL_LABELS[m] for m in models]
    with plots.figure(path, 1, 2, figsize=(10, 3.8)) as (fig, axes):
        for ax, metric, title in ((axes[0], "graph_penalty", "graph penalty φ̄ᵀLφ̄"),
                                  (axes[1], "graph_penalty_normalized", "φ̄ᵀLφ̄ / ‖φ̄‖² (scale-free)")):
            sub = metrics[metrics["metric"] == metric]
            for i, m in enumerate(models):
                v = sub.loc[sub["model"] == m, "value"].to_numpy(float)
                v = v[v > 0]
                if not len(v):
                    continue
                colour = "C3" if m in ("mlp_graph", "mlp_graph_paper", "graph_lasso") else "C0"
                ax.scatter(np.full(len(v), i), v, s=14, color=colour, zorder=3)
                ax.hlines(np.exp(np.log(v).mean()), i - 0.3, i + 0.3, color=colour)
            ax.set_yscale("log")
            ax.set_xticks(range(len(models)), labels, rotation=35, ha="right")
            ax.set_title(title + " (line: geometric mean)")


def truth_figure(metrics: pd.DataFrame, path: str) -> None:
    """Simulated data: driving pathways recovered by GSEA and precision of the top genes, per model."""
    from .. import plots

    models = _order(metrics["model"])
    labels = [MODEL_LABELS[m] for m in models]
    panels = [("n_driving_recovered", "driving pathways recovered (of {k})"),
              ("precision_top_genes", "precision of the top-K genes (K = true genes)"),
              ("n_nondriving_significant", "significant non-driving pathways")]
    k = metrics.loc[metrics["metric"] == "n_driving_pathways", "value"]
    with plots.figure(path, 1, 3, figsize=(13, 3.8)) as (fig, axes):
        for ax, (metric, title) in zip(axes, panels):
            sub = metrics[metrics["metric"] == metric]
            for i, m in enumerate(models):
                v = sub.loc[sub["model"] == m, "value"].to_numpy(float)
                if not len(v):
                    continue
                se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0
                colour = "C3" if m in ("mlp_graph", "mlp_graph_paper") else "C0"
                ax.bar(i, v.mean(), yerr=se, color=colour, alpha=0.45, capsize=3)
                ax.scatter(i + (np.arange(len(v)) - (len(v) - 1) / 2) * 0.08, v, s=12, color=colour, zorder=3)
            ax.set_xticks(range(len(models)), labels, rotation=35, ha="right")
            ax.set_title(title.format(k=int(k.max()) if len(k) else "?"))


def top_pathways(gsea: pd.DataFrame, fdr: float, n_top: int) -> pd.DataFrame:
    """Supplement Fig. 11: per model, the pathways significant (BH-FDR < ``fdr``, NES > 0) in the most
    retrainings, with their median BH q-value; at most ``n_top`` per model."""
    n_runs = gsea.groupby("model")["seed"].nunique()
    gsea = gsea.assign(significant=(gsea["fdr_bh"] < fdr) & (gsea["nes"] > 0))
    agg = gsea.groupby(["model", "term"]).agg(
        n_significant=("significant", "sum"), median_fdr_bh=("fdr_bh", "median"), median_nes=("nes", "median"),
        **({"driving": ("driving", "first")} if "driving" in gsea else {}),
    ).reset_index()
    agg["n_retrainings"] = agg["model"].map(n_runs)
    keys, ascending = ["model", "n_significant", "median_fdr_bh", "median_nes"], [True, False, True, False]
    agg = agg[agg["n_significant"] > 0].sort_values(keys, ascending=ascending, kind="stable")
    agg = agg.groupby("model", sort=False).head(n_top)
    agg["model"] = pd.Categorical(agg["model"], _order(agg["model"]) or None, ordered=True)
    return agg.sort_values(keys, ascending=ascending, kind="stable").reset_index(drop=True)


def aggregate(metrics: Sequence[str], attributions: Sequence[str], gsea: Sequence[str], params: Mapping,
              simulated: bool, out_metrics: str, out_tests_csv: str, out_tests_md: str, out_attributions: str,
              out_fig2: str, out_penalty_fig: str, out_penalty_table: str, out_pathways_csv: str,
              out_pathways_md: str, out_truth_fig: str | None = None, out_truth_table: str | None = None,
              paper_histories: Sequence[str] = (), out_paper_fig: str | None = None,
              out_paper_table: str | None = None) -> None:
    """Tables and figures of the experiment from the per-job files (tidy long format throughout); with the
    `paper` protocol's histories (the fixed-length MLP's and the fine-tuning's), its figure and table."""
    m = pd.concat([read_table(p, ("experiment", "model", "seed", "metric", "value")) for p in metrics],
                  ignore_index=True).sort_values(["model", "seed", "metric"], kind="stable")
    save_table(m, out_metrics)
    tests = paired_tests(m)
    save_table(tests, out_tests_csv)
    md = tests.assign(model=tests["model"].map(MODEL_LABELS), baseline=tests["baseline"].map(MODEL_LABELS))
    save_table(md.drop(columns=["experiment"]).round(5), out_tests_md)
    att = pd.concat([read_table(p, ("gene", "model", "seed", "mean_abs_eg")) for p in attributions], ignore_index=True)
    save_table(att, out_attributions)

    summary = _summary(m)
    pen = summary[summary["metric"].isin(["graph_penalty", "graph_penalty_normalized"])].copy()
    geo = (m[m["metric"].isin(["graph_penalty", "graph_penalty_normalized"])]
           .assign(log=lambda f: np.log(f["value"].clip(lower=1e-300)))
           .groupby(["model", "metric"])["log"].mean().apply(np.exp).rename("geometric_mean").reset_index())
    pen = pen.merge(geo, on=["model", "metric"])
    for base in ("mlp", "mlp_extra"):
        ref = pen[pen["model"] == base].set_index("metric")["geometric_mean"]
        pen[f"ratio_{base}_over_model"] = ref.reindex(pen["metric"]).to_numpy() / pen["geometric_mean"].to_numpy()
    pen.insert(0, "experiment", EXPERIMENT)
    save_table(pen, out_penalty_table)

    g = pd.concat([read_table(p, ("model", "seed", "term", "nes", "fdr_bh")) for p in gsea], ignore_index=True)
    top = top_pathways(g, float(params["gsea"]["fdr"]), int(params.get("n_top_pathways", 10)))
    save_table(top, out_pathways_csv)
    top_md = top.assign(model=top["model"].astype(str).map(MODEL_LABELS))
    save_table(top_md.round(5) if len(top_md) else pd.DataFrame({"note": ["no pathway significant in any model"]}),
               out_pathways_md)

    r2_figure(m, tests, out_fig2)
    penalty_figure(m, out_penalty_fig)
    if simulated and out_truth_fig:
        truth_figure(m, out_truth_fig)
        keys = ["test_r2", "n_significant_pathways", "n_driving_recovered", "n_nondriving_significant",
                "precision_top_genes", "auroc_truth"]
        t = summary[summary["metric"].isin(keys)]
        wide = t.pivot_table(index="model", columns="metric", values="mean").reindex(_order(t["model"]))[keys]
        wide.insert(0, "n_driving_pathways", m.query("metric == 'n_driving_pathways'").groupby("model")["value"].max())
        save_table(wide.reset_index().assign(model=lambda f: f["model"].map(MODEL_LABELS)).round(4), out_truth_table)
    if out_paper_fig and paper_histories:
        paper_protocol_report(m, [read_table(p) for p in paper_histories], out_paper_fig, out_paper_table)
    r2s = summary[summary["metric"] == "test_r2"].set_index("model")[["mean", "se"]]
    log.info("test R² by model:\n%s", r2s.reindex(_order(r2s.index)).to_string())
    log.info("paired t-tests:\n%s", tests[["model", "baseline", "difference", "ci95_low", "ci95_high", "p_paired"]]
             .to_string(index=False))
    log.info("graph penalty:\n%s", pen.to_string(index=False))


def paper_protocol_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per retraining, what the `paper` protocol's regime was: the MLP's lr, L1, training length, the L1 share of
    the loss at the start, the validation curve's slope at the start of fine-tuning, ν (balance rule) of the
    prior arms, and the one number of extra epochs; with the mean over retrainings as the last row."""
    keys = {"mlp_paper": ["lr", "l1", "epochs_run", "l1_share_at_start", "val_slope_at_end", "val_r2", "test_r2"],
            "mlp_graph_paper": ["nu0", "extra_epochs"], "mlp_random_graph_paper": ["nu0"]}
    parts = []
    for model, cols in keys.items():
        sub = metrics[(metrics["model"] == model) & metrics["metric"].isin(cols)]
        if len(sub):
            w = sub.pivot_table(index="seed", columns="metric", values="value")[[c for c in cols if c in
                                                                                    set(sub["metric"])]]
            parts.append(w.rename(columns=lambda c: f"{model}.{c}" if model != "mlp_paper" else c))
    if not parts:
        return pd.DataFrame()
    t = pd.concat(parts, axis=1).reset_index().rename(columns={"seed": "retraining"})
    mean = t.drop(columns="retraining").mean().to_frame().T.assign(retraining="mean")
    return pd.concat([t.astype({"retraining": object}), mean], ignore_index=True)[t.columns]


def paper_protocol_report(metrics: pd.DataFrame, histories: Sequence[pd.DataFrame], path: str,
                          table_path: str | None) -> None:
    """The `paper` protocol's figure: (left) the fixed-length MLP's validation MSE over its last epochs, per
    retraining — still falling or flat where fine-tuning starts; (right) the change of validation MSE over the
    extra epochs per arm (mean ± s.e. over retrainings, 0 = the MLP where fine-tuning starts), with the one
    number of extra epochs chosen on the graph arm."""
    from .. import plots

    table = paper_protocol_table(metrics)
    if table_path:
        save_table(table.assign(experiment=EXPERIMENT, protocol="paper"), table_path)
    h = pd.concat(histories, ignore_index=True)
    mlp_h = h[h["model"] == "mlp_paper"] if "model" in h else h.iloc[:0]
    ft_h = h[h["model"].isin(PAPER_FINETUNED)] if "model" in h else h.iloc[:0]
    with plots.figure(path, 1, 2, figsize=(11, 4.0)) as (fig, axes):
        ax = axes[0]
        for seed, g in mlp_h.groupby("seed"):
            g = g.sort_values("epoch").tail(60)
            ax.plot(g["epoch"] + 1, g["val_loss"], lw=0.8, alpha=0.7)
        slope = table["val_slope_at_end"].iloc[-1] if "val_slope_at_end" in table else np.nan
        share = table["l1_share_at_start"].iloc[-1] if "l1_share_at_start" in table else np.nan
        lr = table["lr"].iloc[-1] if "lr" in table else np.nan
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation MSE")
        ax.set_title(f"MLP (paper): lr {lr:g}, L1 share of the loss at the start {share:.0%}\n"
                     f"slope of validation MSE at the end: {slope:+.2g} per epoch (mean)", fontsize=9)
        ax = axes[1]
        start = mlp_h.sort_values("epoch").groupby("seed")["val_loss"].last()
        chosen = metrics.query("model == 'mlp_graph_paper' and metric == 'extra_epochs'")["value"]
        for i, (arm, g) in enumerate(ft_h.groupby("model", sort=False)):
            g = g.assign(delta=g["val_loss"] - g["seed"].map(start))
            agg = g.groupby("extra_epoch")["delta"].agg(["mean", "std", "size"])
            se = agg["std"] / np.sqrt(agg["size"])
            x = np.r_[0, agg.index.to_numpy(float)]
            y = np.r_[0.0, agg["mean"].to_numpy()]
            e = np.r_[0.0, se.fillna(0).to_numpy()]
            ax.plot(x, y, marker="o", ms=3, label=MODEL_LABELS.get(arm, arm), color=f"C{i}")
            ax.fill_between(x, y - e, y + e, alpha=0.2, color=f"C{i}")
        if len(chosen):
            ax.axvline(float(chosen.iloc[0]), color="k", ls="--", lw=1, label=f"chosen: {int(chosen.iloc[0])} epochs")
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_xlabel("extra epochs of fine-tuning")
        ax.xaxis.set_major_locator(plots.plt.MaxNLocator(integer=True))
        ax.set_ylabel("Δ validation MSE vs the MLP")
        ax.set_title(f"fine-tuning (mean ± s.e. over {mlp_h['seed'].nunique()} retrainings)", fontsize=9)
        ax.legend(fontsize=7.5)


# ---------------------------------------------------------------------------------------------- workload
def workload(config: Mapping, n_genes: int, n_drugs: int, n_rows: int, n_edges: int) -> dict:
    """What the experiment's jobs do at a given data size, for compute projections (benchmarks/paper_scale.py).

    ``config`` is the whole workflow config; the data sizes are those the config cannot know (the genes, drugs,
    (patient, drug) rows and graph edges of the downloaded data). Returns the design's shape and split sizes and,
    per rule and variant, the jobs, fits per job, model spec, training settings (epochs at their maximum) and
    attributed rows / references — the numbers :func:`train_network`, :func:`finetune` and :func:`explain` use.
    """
    gp, splits = config["graph_prior"], config["rnaseq"]["splits"]
    n_test = int(round(n_rows * float(splits["test"])))
    n_val = int(round((n_rows - n_test) * float(splits["val"])))
    retrain = int(gp["retrainings"])
    models = list(gp["models"])
    train: dict = {}
    # the MLP's settings are chosen on validation over a grid: the workload of its largest architecture
    grid = mlp_grid(gp["mlp"])
    n_in = n_genes + n_drugs
    largest = max(grid, key=lambda g: sum(a * b for a, b in zip([n_in] + g["hidden"], g["hidden"] + [1])))
    mlp_spec, mlp_l1, mlp_training = mlp_settings(gp["mlp"], largest)
    # graph_lasso is scikit-learn coordinate descent (CPU, like the LASSO): no fit-loop workload
    for name in [m for m in models if m in ("mlp", "gcn")]:
        p = gp[name]
        spec = mlp_spec if name == "mlp" else dict(p["model"])
        if spec.get("type") == "gcn":
            spec.update(n_genes=n_genes, n_edges=n_edges)
        train[name] = {"jobs": retrain, "fits_per_job": 1, "model": spec,
                       "training": mlp_training if name == "mlp" else dict(p["training"]),
                       "l1": mlp_l1 if name == "mlp" else float(p.get("l1", 0.0)), "nus": []}
    tune = {"jobs": 1 if "mlp" in models else 0, "fits_per_job": len(grid) * int(gp["mlp"].get("tuning_seeds", 1)),
            "model": mlp_spec,
            "training": mlp_training, "l1": mlp_l1}
    ft = gp["finetune"]
    finetune = {v: {"jobs": retrain, "prior": v != "mlp_extra", "n_references": int(ft["n_references"]),
                    "balance_batches": int(ft["balance_batches"]) if v != "mlp_extra" else 0,
                    "fits_per_job": len(ft["nu_scales"]) if v != "mlp_extra" else 1,
                    "training": {**dict(ft["training"]), "lr": mlp_training["lr"]}, "model": mlp_spec, "l1": mlp_l1}
                for v in models if v in FINETUNED}
    ex = gp["explain"]
    rows = n_test if not ex.get("n_explain") else min(int(ex["n_explain"]), n_test)
    explain_jobs = {m: retrain for m in models}
    return {"n_genes": n_genes, "n_drugs": n_drugs, "n_inputs": n_genes + n_drugs, "n_edges": n_edges,
            "rows": {"train": n_rows - n_test - n_val, "val": n_val, "test": n_test}, "retrainings": retrain,
            "lasso": {"jobs": retrain if "lasso" in models else 0, "alphas": list(gp["lasso"]["alphas"])},
            "train": train, "tune_mlp": tune, "finetune": finetune,
            "explain": {"jobs": explain_jobs, "rows": rows, "n_references": int(ex["n_references"])}}


def randomization(model: str, model_path: str, expression: str, response: str, split: str, params: Mapping,
                  seed: int, retraining: int, device: str, out: str) -> None:
    """Model-randomization sanity check (Adebayo et al. 2018) of one trained model family: per-sample |EG| of
    the genes on ``params["n_explain"]`` test rows, trained model vs its cascading randomized copies
    (:func:`attrpriors.evaluation.randomization_sanity`, the same EG references for every copy); tidy output."""
    from ..models import load_model
    from ..evaluation import expected_gradients_explainer, randomization_sanity

    d = load_design(expression, response, split)
    net = load_model(model_path)
    X = d.X["test"]
    n = int(params["n_explain"])
    if len(X) < n:
        log.warning("cross_paper.randomization.n_explain = %d: the test split has only %d rows; explaining all of "
                    "them", n, len(X))
    elif len(X) > n:
        X = X[np.sort(np.random.default_rng(derive_seed(seed, EXPERIMENT, "randomization_rows", retraining))
                      .choice(len(X), n, replace=False))]
    explain = expected_gradients_explainer(X, d.X["train"], int(params["n_references"]),
                                           derive_seed(seed, EXPERIMENT, model, "randomization", retraining),
                                           n_columns=d.n_genes, device=device)
    table = randomization_sanity(explain, net, seed=derive_seed(seed, EXPERIMENT, model, "randomize", retraining))
    table.insert(0, "seed", int(retraining))
    table.insert(0, "model", model)
    table.insert(0, "source", EXPERIMENT)
    save_table(table, out)
    log.info("%s: Spearman rho of |EG| with the fully randomized model %.3f", model, table["spearman"].iloc[-1])
