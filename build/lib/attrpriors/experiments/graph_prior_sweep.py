"""When does a graph prior help? (beyond Erion et al.): a sweep over gene-level noise × graph edge precision,
for each of two gene-loading scenarios.

Loading scenarios (``loadings``: a name → ``simulate_drug_response`` overrides, one grid each):

* ``calibrated`` — the simulator's own loadings: each gene of a pathway loads on its activity with ±U(0.2, 1.0)
  (20 % negative) and its noise depends on its expression (the calibrated dispersion trend), so the genes of a
  pathway are *unequal* proxies and the best linear predictor weights them unequally;
* ``positive`` — the same magnitudes, none negative: separates the two ways the calibrated loadings depart from
  the Laplacian's assumption (signs that an unsigned Laplacian pulls together, and unequal magnitudes);
* ``equal`` — every gene loads +1 on its pathway: the assumption under which a Laplacian penalty (equal
  coefficients of linked genes) is right. This is the positive control's data: Graph LASSO must beat LASSO here
  when genes are noisy and the graph precise, or the implementation is wrong.

Each cell of the grid simulates one drug-response data set (:func:`attrpriors.data.simulate_rnaseq.
simulate_drug_response`, every cell with the same seed, so cells differ only in the two knobs): ``gene_noise``
multiplies the calibrated negative-binomial dispersion (how poor a proxy of its pathway's activity a single gene
is) and the edge precision is the fraction of the gene graph's edges that link two genes of one pathway (the rest
are placed at random: ``noise_edge_frac = 1 − precision``). The counts go through the experiment's
preprocessing (FPKM → coding → zeros → log2 → standardize; one batch, so no ComBat).

Per retraining (a new patient split and new seeds) the cell trains, with the protocol of
:mod:`attrpriors.experiments.graph_prior`:

* ``lasso`` (α on validation) and ``graph_lasso`` (the LASSO's α, ν' on validation, solved exactly) — the positive control: averaging
  over a precise graph must help a linear model when single genes are noisy (a known statistical result);
* ``mlp`` (learning rate, L1 and hidden sizes chosen over ``mlp.grid`` on the validation MSE of retraining 0, as
  :func:`graph_prior.tune_mlp`, and kept for the cell's other retrainings; L1, early stopping; its Adam state kept);
* ``mlp_graph`` — the MLP fine-tuned on the joint loss with the graph prior over the simulator's graph, ν from
  ``ν₀ ×`` a grid and the extra epochs (0 included) chosen on validation (:func:`graph_prior.finetune_candidates`);
* ``mlp_random_graph`` — the same over a random graph with as many edges (the negative control);
* ``mlp_extra`` — the same extra epochs without a prior (ν = 0);
* ``pathway_mean`` — a diagnostic oracle, test R² only: least squares on each driving pathway's equal-weight
  (loading-signed) gene mean, the best a model with equal coefficients within a pathway can do;
* ``mlp_graph_joint`` / ``mlp_random_graph_joint`` — beyond the paper's protocol: the MLP trained with the (real /
  random) graph prior from the start (the MLP's initial weights, settings and batch order; joint loss
  MSE + L1 + ν Ω; the MLP's early stopping), ν from the same grid ν₀ × ``finetune.nu_scales`` chosen on
  validation. The fine-tuned arms only get the epochs after the MLP's validation optimum; these give the prior
  the whole training.

Scores per model: test R² and feature agreement (the fraction of the top-K genes by mean |EG| on the test rows
that truly drive the response, K = number of true genes). The summary is Δ = model − baseline per retraining
(each arm − mlp, graph_lasso − lasso) with its mean and 95 % t
confidence interval over retrainings.
"""

from __future__ import annotations

import copy
import logging
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import plots
from ..io import read_table, save_table
from ..seeds import derive_seed

log = logging.getLogger("attrpriors.graph_prior_sweep")

EXPERIMENT = "graph_prior_sweep"
#: (model, baseline) differences summarised per cell.
CONTRASTS = (("mlp_graph", "mlp"), ("mlp_random_graph", "mlp"), ("mlp_extra", "mlp"), ("mlp_graph_joint", "mlp"),
             ("mlp_random_graph_joint", "mlp"), ("graph_lasso", "lasso"), ("pathway_mean", "lasso"),
             ("mlp_graph_paper", "mlp_paper"), ("mlp_random_graph_paper", "mlp_paper"),
             ("mlp_extra_paper", "mlp_paper"), ("mlp_graph_paper", "mlp_random_graph_paper"),
             ("mlp_graph_paper", "mlp_extra_paper"))
LABELS = {"mlp_graph": "MLP + graph prior − MLP", "mlp_random_graph": "MLP + random-graph prior − MLP",
          "mlp_extra": "MLP + extra epochs − MLP",
          "mlp_graph_joint": "MLP trained with the graph prior from the start − MLP",
          "mlp_random_graph_joint": "MLP trained with a random-graph prior from the start − MLP",
          "graph_lasso": "Graph LASSO − LASSO (positive control)",
          "pathway_mean": "oracle equal-weight pathway means − LASSO (can equal coefficients win?)",
          "mlp_graph_paper": "MLP + graph prior − MLP (paper protocol)",
          "mlp_random_graph_paper": "MLP + random-graph prior − MLP (paper protocol)",
          "mlp_extra_paper": "MLP + extra epochs − MLP (paper protocol)"}
#: labels of contrasts whose baseline is not the arm's own MLP (model, baseline) → label
PAIR_LABELS = {("mlp_graph_paper", "mlp_random_graph_paper"): "MLP + graph − random-graph prior (paper protocol)",
               ("mlp_graph_paper", "mlp_extra_paper"): "MLP + graph prior − extra epochs (paper protocol)"}
#: figure labels of the loading scenarios (graph_prior.sweep.loadings); other names are shown as they are.
SCENARIOS = {"calibrated": "CALIBRATED loadings ±U(0.2, 1)", "positive": "POSITIVE loadings +U(0.2, 1)",
             "equal": "EQUAL loadings (positive control)"}
METRICS = {"test_r2": "ΔR² (test)", "feature_agreement": "Δ feature agreement"}


def simulate_cell(simulation: Mapping, gene_noise: float, edge_precision: float, seed: int, preprocess: Mapping):
    """Simulate one cell and preprocess it. Returns ``(X, genes, patients, response, edges, true_genes, drivers)``:
    ``X`` patients × kept genes (standardised log2 FPKM), ``response`` the long (patient, drug, response) table,
    ``edges`` (E × 2 indices into the kept genes) of the simulator's graph, ``true_genes`` the driver genes kept,
    ``drivers`` {driving pathway: (indices of its kept genes, the signs of their loadings)} (simulator truth)."""
    from ..data.simulate_rnaseq import simulate_drug_response
    from ..preprocess import preprocess_counts

    if not 0 < edge_precision <= 1:
        raise ValueError(f"graph_prior.sweep: edge precision must be in (0, 1], got {edge_precision}")
    base = {k: v for k, v in dict(simulation).items() if k not in ("gene_noise", "noise_edge_frac", "n_batches", "seed")}
    sim = simulate_drug_response(**base, gene_noise=float(gene_noise), noise_edge_frac=1.0 - float(edge_precision),
                                 n_batches=1, seed=seed)
    counts = sim.counts_frame()
    res = preprocess_counts(counts, pd.Series(sim.gene_lengths, index=sim.genes), pd.Series(sim.is_coding,
                            index=sim.genes), None,
                            max_zero_frac=float(preprocess.get("max_zero_frac", 0.7)),
                            pseudocount=float(preprocess.get("pseudocount", 1.0)))
    x = res.expression
    genes = np.asarray(x.columns, dtype=str)
    idx = {g: i for i, g in enumerate(genes)}
    e = [(idx.get(sim.genes[a]), idx.get(sim.genes[b])) for a, b in sim.graph_edges]
    e = np.array([p for p in e if p[0] is not None and p[1] is not None], dtype=np.int64).reshape(-1, 2)
    true = set(np.asarray(sim.genes)[sim.gene_importance > 0]) & set(genes)
    drivers = {}
    for p in sim.driving_pathways:
        kept = [(idx[g], float(np.sign(w))) for g, w in zip(sim.pathways[p], sim.pathway_loadings[p]) if g in idx]
        drivers[p] = (np.array([k for k, _ in kept], dtype=np.int64), np.array([w for _, w in kept]))
    return (x.to_numpy(np.float32), genes, np.asarray(x.index, dtype=str), sim.response, np.sort(e, axis=1),
            sorted(true), drivers)


def _design(X: np.ndarray, patients: np.ndarray, response: pd.DataFrame, split: Mapping):
    """Rows = patient × drug: [genes | drug one-hot] and the standardised response, per part of ``split``."""
    from .graph_prior import Design

    pidx = {p: i for i, p in enumerate(patients)}
    drugs = sorted(response["drug"].astype(str).unique())
    didx = {d: i for i, d in enumerate(drugs)}
    Xs, ys, rows = {}, {}, {}
    for name, members in split.items():
        r = response[response["patient"].isin(set(members))].sort_values(["patient", "drug"], kind="stable")
        onehot = np.zeros((len(r), len(drugs)), np.float32)
        onehot[np.arange(len(r)), r["drug"].map(didx).to_numpy()] = 1.0
        Xs[name] = np.hstack([X[r["patient"].map(pidx).to_numpy()], onehot])
        ys[name] = r["response"].to_numpy(np.float64)
        rows[name] = r[["patient", "drug"]].reset_index(drop=True)
    mu, sd = float(ys["train"].mean()), float(ys["train"].std()) or 1.0
    ys = {k: ((v - mu) / sd).astype(np.float32) for k, v in ys.items()}
    return Design(Xs, ys, rows, np.asarray([]), drugs, mu, sd)


def cell_simulation(simulation: Mapping, loadings: Mapping, scenario: str) -> dict:
    """The simulation arguments of one loading scenario: ``simulation`` with ``loadings[scenario]`` on top."""
    if scenario not in loadings:
        raise KeyError(f"graph_prior.sweep.loadings has no scenario {scenario!r} (it has {sorted(loadings)})")
    return {**dict(simulation), **dict(loadings[scenario] or {})}


def run_cell(gene_noise: float, edge_precision: float, params: Mapping, simulation: Mapping, preprocess: Mapping,
             seed: int, device: str, out_metrics: str, loadings: str = "calibrated") -> None:
    """Train and score every model of one (gene noise, edge precision) cell over ``params["retrainings"]``
    retrainings; writes the tidy metrics (experiment, loadings, gene_noise, edge_precision, model, seed, metric,
    value). ``loadings`` names the loading scenario: its overrides (``params["loadings"]``) go on top of
    ``simulation`` (:func:`cell_simulation`)."""
    from sklearn.linear_model import Lasso, LinearRegression

    from ..evaluation import mean_abs_expected_gradients, ranking_feature_agreement
    from ..models import build_model
    from ..preprocess import split_by_group
    from ..priors import GraphPrior
    from ..seeds import seed_everything
    from ..stats import r2
    from ..training import fit, predict
    from . import graph_prior as gp

    simulation = cell_simulation(simulation, params.get("loadings", {"calibrated": {}}), loadings)
    X, genes, patients, response, edges, true, drivers = simulate_cell(simulation, gene_noise, edge_precision,
                                                              derive_seed(seed, EXPERIMENT, "data"), preprocess)
    n_genes = len(genes)
    weights = np.ones(len(edges))
    log.info("cell %s loadings, gene_noise=%g precision=%g: %d patients × %d genes, %d edges, %d true genes",
             loadings, gene_noise, edge_precision, len(patients), n_genes, len(edges), len(true))
    rows = []
    paper = params.get("paper") or {}
    paper_arms = [a for a in gp.PAPER_FINETUNED if a in params["models"]] \
        if loadings in (paper.get("loadings") or []) else []
    paper_runs: list = []

    def score(name, net, d, r, extra) -> list[dict]:
        """Test R² and feature agreement of one model of retraining r (tidy rows). Common random numbers: every
        model of retraining r is explained with the same EG references (paired contrasts)."""
        phibar = mean_abs_expected_gradients(net.cpu(), d.X["test"], d.X["train"], int(params["n_references"]),
                                             derive_seed(seed, EXPERIMENT, "explain", r))[:n_genes]
        fa = ranking_feature_agreement(pd.Series(phibar, index=genes), true)
        vals = {"test_r2": r2(d.y["test"], predict(net, d.X["test"])), "feature_agreement": fa, **extra}
        return [{"experiment": EXPERIMENT, "loadings": loadings, "gene_noise": float(gene_noise),
                 "edge_precision": float(edge_precision), "model": name, "seed": r, "metric": k, "value": float(v)}
                for k, v in vals.items()]

    for r in range(int(params["retrainings"])):
        sp = split_by_group(patients, float(params["split"]["test"]), float(params["split"]["val"]),
                            seed=derive_seed(seed, EXPERIMENT, "split", r))
        d = _design(X, patients, response, {k: patients[v] for k, v in sp.items()})
        n_in = d.X["train"].shape[1]
        values: dict[str, dict] = {}
        models: dict = {}
        # ---- LASSO and Graph LASSO
        best = None
        for alpha in params["lasso"]["alphas"]:
            m = Lasso(alpha=float(alpha), max_iter=5000).fit(d.X["train"], d.y["train"])
            val = float(np.mean((m.predict(d.X["val"]) - d.y["val"]) ** 2))
            if best is None or val < best[0]:
                best = (val, float(alpha), m)
        models["lasso"] = gp._linear_model(best[2].coef_, best[2].intercept_, n_in)
        values["lasso"] = {"alpha": best[1]}
        gl = None
        for nu in params["graph_lasso"]["nus"]:
            g = gp.fit_graph_lasso(d.X["train"], d.y["train"], n_genes, edges, weights, best[1], float(nu))
            val = float(np.mean((g.predict(d.X["val"]) - d.y["val"]) ** 2))
            if gl is None or val < gl[0]:
                gl = (val, float(nu), gp._linear_model(g.coef_, g.intercept_, n_in))
        models["graph_lasso"] = gl[2].eval()
        values["graph_lasso"] = {"nu_prime": gl[1]}
        if "pathway_mean" in params["models"]:
            # oracle diagnostic: least squares on each driving pathway's equal-weight (loading-signed) gene mean
            # and the drug columns: what equal coefficients within a pathway can reach at best
            def feats(Xp):
                return np.column_stack([(Xp[:, i] * w).mean(axis=1) for i, w in drivers.values()] + [Xp[:, n_genes:]])
            ols = LinearRegression().fit(feats(d.X["train"]), d.y["train"])
            rows += [{"experiment": EXPERIMENT, "loadings": loadings, "gene_noise": float(gene_noise),
                      "edge_precision": float(edge_precision), "model": "pathway_mean", "seed": r,
                      "metric": "test_r2", "value": float(r2(d.y["test"], ols.predict(feats(d.X["test"]))))}]
        # ---- MLP (settings chosen on validation) and its prior variants
        m = params["mlp"]
        job = derive_seed(seed, EXPERIMENT, "mlp", r)

        def train_mlp(prior=None, nu: float = 0.0, setting=None, init: int = 0):
            """The cell's MLP (its settings, initial weights and batch order); with a prior, trained on
            MSE + L1 + ν Ω from the start. ``init`` > 0: another initialisation (tuning only)."""
            spec, l1, training = gp.mlp_settings(m, setting if setting is not None else chosen)
            s_ = job if init == 0 else derive_seed(job, "tuning init", init)
            seed_everything(s_)
            cfg = {**training, "schedule": "joint", "prior_weight": float(nu)}
            return fit(build_model(spec, n_in, 1), d.X["train"], d.y["train"], d.X["val"], d.y["val"],
                       config=gp._fit_config(cfg, s_, device, False), prior=prior,
                       weight_penalty=gp.WeightL1(l1) if l1 > 0 else None)

        if r == 0:
            # the paper's protocol, as graph_prior.tune_mlp: lr, L1 and hidden sizes chosen on the (mean over
            # mlp.tuning_seeds initialisations) validation MSE of the tuning split (retraining 0), kept for every
            # retraining of the cell
            grid = gp.mlp_grid(m)
            best, fits = gp.choose_on_validation(grid, lambda s, k: train_mlp(setting=s, init=k),
                                                 int(m.get("tuning_seeds", 1)))
            res, chosen = fits[best][0], grid[best]  # initialisation 0 is the cell's own MLP of retraining 0
            means = [round(float(np.mean([f.best_val_loss for f in fs])), 4) for fs in fits]
            log.info("cell MLP settings %s (validation MSE %.4f; grid %s)", chosen, means[best], means)
        else:
            res = train_mlp()
        l1 = float(chosen["l1"])
        penalty = gp.WeightL1(l1) if l1 > 0 else None
        mlp, opt_state = res.model, res.optimizer_state
        models["mlp"] = mlp.eval()
        values["mlp"] = {"best_epoch": res.best_epoch, "lr": float(chosen["lr"]), "l1": l1}
        ft = params["finetune"]
        training = {**dict(ft["training"]), "lr": float(chosen["lr"])}
        order_seed = derive_seed(seed, EXPERIMENT, "finetune", r)
        for variant in ("mlp_extra", "mlp_graph", "mlp_random_graph"):
            joint = f"{variant}_joint"
            if variant not in params["models"] and joint not in params["models"]:
                continue
            graph = gp.finetune_graphs(variant, edges, weights, n_genes, derive_seed(seed, EXPERIMENT, r), r)
            nus, balance = [0.0], {}

            def factory(graph=graph, variant=variant):
                return GraphPrior(graph[0], graph[1], n_nodes=n_genes, n_references=int(ft["n_references"]),
                                  input_slice=slice(0, n_genes), seed=derive_seed(seed, EXPERIMENT, variant, "eg", r))

            base = copy.deepcopy(mlp).train()
            if graph is not None:
                balance = gp.balance_prior_weight(base, factory(), d.X["train"], d.y["train"],
                                                  int(training["batch_size"]), int(ft["balance_batches"]), penalty,
                                                  order_seed)
                nus = [balance["prior_weight"] * float(k) for k in ft["nu_scales"]]
            if variant in params["models"]:
                choice, _, _ = gp.finetune_candidates(base, opt_state, d.X, d.y, factory, nus, training, penalty,
                                                      order_seed, device, False, f"{variant} cell retraining {r}")
                models[variant] = choice["model"].eval()
                values[variant] = {"extra_epochs": choice["extra_epochs"], "prior_weight": choice["nu"],
                                   "nu_scale": choice["nu"] / balance["prior_weight"] if balance else 0.0}
            if joint in params["models"] and graph is not None:
                # from the start, ν on validation
                fits = [(train_mlp(factory(), nu), float(nu)) for nu in nus]
                res_j, nu_j = min(fits, key=lambda f: f[0].best_val_loss)
                models[joint] = res_j.model.eval()
                values[joint] = {"best_epoch": res_j.best_epoch, "prior_weight": nu_j,
                                 "nu_scale": nu_j / balance["prior_weight"]}
        # ---- the `paper` protocol (graph_prior.paper_finetune_arms, the main experiment's code) on this cell's
        # loading scenarios: the MLP trained for the epochs early stopping found on retraining 0 (not restored),
        # then every arm fine-tuned; the number of extra epochs is chosen after the last retraining
        if paper_arms:
            pm = paper["mlp"]
            if r == 0:
                pgrid = gp.mlp_grid(pm)

                def train_paper_tuning(setting, k):
                    spec, l1_, training_ = gp.mlp_settings(pm, setting)
                    s_ = derive_seed(seed, EXPERIMENT, "mlp_paper", "tuning", k)
                    seed_everything(s_)
                    return fit(build_model(spec, n_in, 1), d.X["train"], d.y["train"], d.X["val"], d.y["val"],
                               config=gp._fit_config(training_, s_, device, False),
                               weight_penalty=gp.mlp_penalty(pm, l1_))

                pbest, pfits = gp.choose_on_validation(pgrid, train_paper_tuning, int(pm.get("tuning_seeds", 1)))
                paper_choice, paper_epochs = pgrid[pbest], gp.training_length(pfits[pbest])
                log.info("cell paper-protocol MLP settings %s, %d epochs", paper_choice, paper_epochs)
            spec, pl1, ptraining = gp.mlp_settings(pm, paper_choice)
            ppen = gp.mlp_penalty(pm, pl1)
            s_ = derive_seed(seed, EXPERIMENT, "mlp_paper", r)
            seed_everything(s_)
            pres = fit(build_model(spec, n_in, 1), d.X["train"], d.y["train"], d.X["val"], d.y["val"],
                       config=gp._fit_config(gp.fixed_length(ptraining, paper_epochs), s_, device, False),
                       weight_penalty=ppen)
            models["mlp_paper"] = pres.model.eval()
            values["mlp_paper"] = {"epochs_run": len(pres.history), "lr": float(paper_choice["lr"]), "l1": pl1,
                                   "val_slope_at_end": gp.validation_slope(pres.history,
                                                                           int(pm.get("slope_epochs", 10)))}
            arms = gp.paper_finetune_arms(copy.deepcopy(pres.model).train(), pres.optimizer_state, d.X, d.y,
                                          n_genes, edges, weights, paper_arms, paper["finetune"], ppen,
                                          float(paper_choice["lr"]), seed, r, device, False)
            paper_runs.append((r, d, pres.model, arms))
        # ---- scores
        for name, net in models.items():
            if name in params["models"]:
                rows += score(name, net, d, r, values.get(name, {}))
        log.info("retraining %d: %s", r, {k: round(v["value"], 4) for k, v in
                                          pd.DataFrame(rows).query("seed == @r and metric == 'test_r2'")
                                          .set_index("model").iterrows()})
    if paper_runs:  # one number of extra epochs for the cell (the graph arm's mean validation MSE), every arm
        hist = pd.concat([a["history"] for _, _, _, arms in paper_runs for a in arms.values()], ignore_index=True)
        chooser = "mlp_graph_paper" if "mlp_graph_paper" in paper_arms else paper_arms[0]
        e_star, _ = gp.choose_extra_epochs(hist[hist["model"] == chooser])
        log.info("cell paper protocol: %d extra epochs", e_star)
        for r, d, base, arms in paper_runs:
            for arm, run in arms.items():
                net = copy.deepcopy(base)
                net.load_state_dict(run["states"][e_star - 1])
                rows += score(arm, net.eval(), d, r, {"extra_epochs": e_star,
                                                      "prior_weight": run.get("prior_weight", 0.0)})
    save_table(pd.DataFrame(rows), out_metrics)


def contrasts(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per cell and contrast (model − baseline, paired by retraining): mean Δ, 95 % t interval, n, wins."""
    from scipy import stats

    out = []
    keys = ["loadings", "gene_noise", "edge_precision"]
    for (scenario, noise, prec), cell in metrics.groupby(keys, sort=False):
        for metric in METRICS:
            wide = cell[cell["metric"] == metric].pivot_table(index="seed", columns="model", values="value")
            for a, b in CONTRASTS:
                if a not in wide or b not in wide:
                    continue
                diff = (wide[a] - wide[b]).dropna().to_numpy()
                n = len(diff)
                half = stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
                out.append({"experiment": EXPERIMENT, "loadings": scenario, "gene_noise": noise, "edge_precision": prec, "metric": metric,
                            "model": a, "baseline": b, "n": n, "mean_difference": diff.mean(),
                            "ci95_low": diff.mean() - half, "ci95_high": diff.mean() + half,
                            "n_model_better": int((diff > 0).sum())})
    return pd.DataFrame(out)


def heatmap_figure(table: pd.DataFrame, path: str) -> None:
    """``erion_graph_prior_when_it_helps``: one heatmap per (loading scenario, metric, contrast): a row of panels
    per scenario and metric; colour = mean Δ on the panel's own symmetric scale, text = mean and 95 % CI; a cell
    whose CI excludes 0 is outlined."""
    import matplotlib.colors as mcolors

    scenarios = list(dict.fromkeys(table["loadings"]))
    cols = [c for c in ("mlp_graph", "mlp_random_graph", "mlp_graph_joint", "mlp_random_graph_joint",
                        "mlp_graph_paper", "graph_lasso") if c in set(table["model"])]
    base = {}
    for a, b in CONTRASTS:  # each heatmap shows a model against its first baseline (its own MLP or the LASSO)
        base.setdefault(a, b)
    panels = [(sc, m, c) for sc in scenarios for m in METRICS for c in cols]
    noises = sorted(table["gene_noise"].unique())
    precs = sorted(table["edge_precision"].unique())
    nrows = 2 * len(scenarios)
    with plots.figure(path, nrows, len(cols), figsize=(5.2 * len(cols), 5.0 * nrows)) as (fig, axes):
        for k, (ax, (scenario, metric, model)) in enumerate(zip(np.ravel(axes), panels)):
            sub = table[(table["loadings"] == scenario) & (table["metric"] == metric) & (table["model"] == model)
                        & (table["baseline"] == base[model])]
            grid = np.full((len(noises), len(precs)), np.nan)
            lo, hi = grid.copy(), grid.copy()
            for r in sub.itertuples():
                i, j = noises.index(r.gene_noise), precs.index(r.edge_precision)
                grid[i, j], lo[i, j], hi[i, j] = r.mean_difference, r.ci95_low, r.ci95_high
            # each panel its own colour scale (symmetric around 0): the Graph LASSO's gains would otherwise wash out
            # the prior's and the random graph's smaller differences; the numbers in the cells stay comparable
            scale = np.nanmax(np.abs(sub[["ci95_low", "ci95_high"]].to_numpy())) if len(sub) else np.nan
            scale = float(scale) if np.isfinite(scale) and scale > 0 else 1.0
            im = ax.imshow(grid, cmap="RdBu", norm=mcolors.TwoSlopeNorm(0.0, -scale, scale), origin="lower",
                           aspect="auto")
            for i in range(len(noises)):
                for j in range(len(precs)):
                    if np.isnan(grid[i, j]):
                        continue
                    dark = abs(grid[i, j]) > 0.6 * scale
                    ax.text(j, i, f"{grid[i, j]:+.3f}\n[{lo[i, j]:+.3f}, {hi[i, j]:+.3f}]", ha="center",
                            va="center", fontsize=7.5, color="w" if dark else "k")
                    if lo[i, j] > 0 or hi[i, j] < 0:
                        ax.add_patch(plots.plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2, ec="k"))
            ax.grid(False)
            ax.set_xticks(range(len(precs)), [f"{p:g}" for p in precs])
            ax.set_yticks(range(len(noises)), [f"{g:g}" for g in noises])
            if k >= len(panels) - len(cols):
                ax.set_xlabel("edge precision (fraction of within-pathway edges)", fontsize=8.5)
            if k % len(cols) == 0:
                ax.set_ylabel(f"{SCENARIOS.get(scenario, scenario)}\ngene noise (× calibrated NB dispersion)",
                              fontsize=9)
            ax.set_title(f"{METRICS[metric]}:\n{LABELS[model]}", fontsize=9)
            fig.colorbar(im, ax=ax, shrink=0.8)
        n = int(table["n"].max()) if len(table) else 0
        fig.suptitle(f"When does a graph prior help? Mean Δ over {n} retrainings [95 % CI]; outlined: CI excludes 0")


def summarize(metrics: Sequence[str], out_metrics: str, out_table: str, out_md: str, out_png: str) -> None:
    """Join the cells' metrics, compute the contrasts and draw the heatmaps."""
    m = pd.concat([read_table(p, ("loadings", "gene_noise", "edge_precision", "model", "seed", "metric", "value"))
                   for p in metrics], ignore_index=True)
    save_table(m, out_metrics)
    t = contrasts(m)
    save_table(t, out_table)
    md = t.assign(contrast=[PAIR_LABELS.get((a, b), LABELS[a]) for a, b in zip(t["model"], t["baseline"])]
                  ).drop(columns=["experiment", "model", "baseline"])
    save_table(md.round(4), out_md)
    heatmap_figure(t, out_png)
    log.info("contrasts:\n%s", t.to_string(index=False))
