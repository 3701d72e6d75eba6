"""The claims registry and its verdicts: planted effects get the right verdict, the registry resolves on the tiny
run, and a verdict that differs between runs shows as unstable."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrpriors import claims as C

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "workflow" / "claims.yaml"


@pytest.fixture(scope="module")
def reg():
    return C.load_registry(REGISTRY)


def entry(reg, cid):
    return copy.deepcopy(next(c for c in reg["claims"] if c["id"] == cid))


# ------------------------------------------------------------------------------------------------ registry
def test_registry_covers_the_headline_claims_of_the_four_papers(reg):
    claims = [c for c in reg["claims"] if c.get("role", "claim") == "claim"]
    assert len(claims) >= 14
    papers = {c["paper"].split(" (")[0] for c in claims}
    assert {"Erion et al.", "Weinberger et al.", "Majdandzic et al.", "IG limits"} <= papers
    for c in reg["claims"]:  # every entry states the claim, the paper's number and where ours is read
        assert c["statement"] and c["paper_value"] and c["table"] and c["source"]
    # every experiment that tests a method has controls registered beside its claims
    roles = {(c["experiment"], c.get("role", "claim")) for c in reg["claims"]}
    for exp in ("graph_prior", "sparsity_prior", "dapr", "benchmark"):
        assert (exp, "positive_control") in roles and (exp, "negative_control") in roles, exp


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c.update(direction="bigger"), "direction must be one of"),
    (lambda c: c.update(direction="equivalent"), "needs a margin"),
    (lambda c: c["test"].update(kind="anova"), "test.kind must be one of"),
    (lambda c: c["test"].update(valeu="value"), "test.valeu is not a key"),
    (lambda c: c.pop("table"), "missing key 'table'"),
    (lambda c: c.update(contorls={}), "unknown key"),
    (lambda c: c.update(controls={"positive": "no_such_claim"}), "which is no claim id"),
])
def test_a_bad_registry_entry_is_named(reg, mutate, message):
    bad = copy.deepcopy(reg)
    mutate(bad["claims"][7])
    with pytest.raises(C.RegistryError, match=message) as err:
        C.check_registry(bad)
    assert bad["claims"][7]["id"] in str(err.value)


def test_duplicate_ids_are_refused(reg):
    bad = copy.deepcopy(reg)
    bad["claims"].append(copy.deepcopy(bad["claims"][0]))
    with pytest.raises(C.RegistryError, match="duplicate claim id"):
        C.check_registry(bad)


# ------------------------------------------------------------------------------------------------ planted effects
def planted_paired(effect: float, n: int = 10, noise: float = 0.02, seed: int = 0) -> pd.DataFrame:
    """A graph-prior metrics table (model, seed, metric, value) where mlp_graph = mlp + effect + noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.5, 0.05, n)
    rows = []
    for s in range(n):
        for model, v in (("mlp", base[s]), ("mlp_graph", base[s] + effect + rng.normal(0, noise)),
                         ("mlp_random_graph", base[s] + rng.normal(0, 0.001)), ("mlp_extra", base[s])):
            rows.append({"experiment": "graph_prior", "model": model, "seed": s, "metric": "test_r2", "value": v})
            rows.append({"experiment": "graph_prior", "model": model, "seed": s, "metric": "other", "value": 9.0})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("effect, verdict", [(0.10, "reproduced"), (-0.10, "contradicted"), (0.0, "inconclusive")])
def test_paired_claim_gets_the_planted_verdict(reg, effect, verdict):
    c = entry(reg, "erion_f2_graph_prior_r2")
    r = C.evaluate_claim(c, planted_paired(effect))
    assert r["verdict"] == verdict
    assert r["n"] == 10
    assert r["ci_low"] < effect < r["ci_high"] or verdict == "inconclusive"
    assert abs(r["estimate"] - effect) < 0.03


def test_paired_interval_is_the_t_interval_of_the_differences(reg):
    from scipy import stats

    df = planted_paired(0.05, n=7, noise=0.05, seed=3)
    r = C.evaluate_claim(entry(reg, "erion_f2_graph_prior_r2"), df)
    w = df[df.metric == "test_r2"].pivot(index="seed", columns="model", values="value")
    d = (w["mlp_graph"] - w["mlp"]).to_numpy()
    half = stats.t.ppf(0.975, 6) * d.std(ddof=1) / np.sqrt(7)
    assert r["estimate"] == pytest.approx(d.mean())
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert (stats.ttest_rel(w["mlp_graph"], w["mlp"]).pvalue < 0.05) == (r["ci_low"] > 0)


def test_equivalence_needs_the_whole_interval_inside_the_margin(reg):
    c = entry(reg, "erion_f2_random_graph")  # ±0.01
    assert C.evaluate_claim(c, planted_paired(0.0))["verdict"] == "reproduced"  # random graph = MLP ± 0.001
    df = planted_paired(0.0)
    df.loc[df.model == "mlp_random_graph", "value"] += 0.05
    assert C.evaluate_claim(c, df)["verdict"] == "contradicted"
    df = planted_paired(0.0)
    rng = np.random.default_rng(1)
    df.loc[df.model == "mlp_random_graph", "value"] += rng.normal(0, 0.03, (df.model == "mlp_random_graph").sum())
    assert C.evaluate_claim(c, df)["verdict"] == "inconclusive"


def test_identical_arms_give_a_point_interval_and_say_so(reg):
    r = C.evaluate_claim(entry(reg, "erion_f2_extra_epochs"), planted_paired(0.0))
    assert r["verdict"] == "reproduced" and r["ci_low"] == r["ci_high"] == 0
    assert "same value in all 10" in r["detail"]
    r = C.evaluate_claim(entry(reg, "erion_f2_graph_prior_r2"), planted_paired(0.1, n=1))
    assert r["verdict"] == "inconclusive" and "n = 1" in r["detail"]


def test_several_baselines_must_all_be_beaten(reg):
    c = entry(reg, "weinberger_t1_dapr_best_linear")
    rng = np.random.default_rng(0)
    rows = []
    for s in range(10):
        for m in ["lasso", "mlp", "mlp_l1", "mlp_l2", "mlp_meta_inputs", "dapr_noise", "merge", "dapr_informative"]:
            v = {"dapr_informative": 0.5, "mlp_meta_inputs": 0.52}.get(m, 0.8) + rng.normal(0, 0.005)
            rows.append({"dataset": "drug_response", "model": m, "seed": s, "metric": "test_mse", "value": v})
    df = pd.DataFrame(rows)
    r = C.evaluate_claim(c, df)
    assert r["verdict"] == "reproduced" and r["detail"] == "vs mlp_meta_inputs"  # the closest baseline is shown
    df.loc[df.model == "mlp_meta_inputs", "value"] -= 0.1  # one baseline beats it: contradicted
    assert C.evaluate_claim(c, df)["verdict"] == "contradicted"


@pytest.mark.parametrize("slope, verdict", [(1.0, "reproduced"), (-1.0, "contradicted"), (0.0, "inconclusive")])
def test_correlation_claim(reg, slope, verdict):
    rng = np.random.default_rng(0)
    snr = rng.uniform(0, 2, 30)
    df = pd.DataFrame({"method": "gradients", "generalization_auroc": 0.9, "snr": snr,
                       "kmer_kld": slope * snr + rng.normal(0, 0.3 if slope else 1.0, 30)})
    df.loc[0, "generalization_auroc"] = 0.5  # a model at chance is left out by the registry's filter
    r = C.evaluate_claim(entry(reg, "majdandzic_kmer_kld_vs_snr"), df)
    assert r["verdict"] == verdict and r["n"] == 29


@pytest.mark.parametrize("wins, verdict", [(17, "reproduced"), (0, "contradicted"), (4, "inconclusive")])
def test_proportion_claim_against_chance(reg, wins, verdict):
    best = ["expected_gradients"] * wins + ["integrated_gradients"] * (18 - wins)
    df = pd.DataFrame({"metric": [f"m{i}" for i in range(18)] + ["randomization_spearman"],
                       "best": best + [np.nan]})
    r = C.evaluate_claim(entry(reg, "erion_t1_eg_best_independent"), df)
    assert r["verdict"] == verdict and r["n"] == 18 and r["estimate"] == pytest.approx(wins / 18)


@pytest.mark.parametrize("gen_sd, verdict", [(0.005, "reproduced"), (0.2, "contradicted"), (0.05, "inconclusive")])
def test_bootstrap_sd_ratio_claim(reg, gen_sd, verdict):
    rng = np.random.default_rng(2)
    n = 40 if verdict != "inconclusive" else 8
    df = pd.DataFrame({"method": "gradients", "generalization_auroc": 0.9 + rng.normal(0, gen_sd, n).clip(-0.25, 0.09),
                       "interpretability_auroc": 0.8 + rng.normal(0, 0.05, n)})
    r = C.evaluate_claim(entry(reg, "majdandzic_generalization_varies_less"), df)
    assert r["verdict"] == verdict, r


def test_selection_gain_uses_the_dna_selection_rule(reg):
    # model 0 is best on generalization; model 1 is nearly as accurate and far more consistent and interpretable
    df = pd.DataFrame({"method": "gradients", "generalization_auroc": [0.91, 0.90, 0.85, 0.80],
                       "kmer_kld": [0.1, 0.9, 0.5, 0.3], "vector_kld": [0.1, 0.8, 0.5, 0.2],
                       "interpretability_auroc": [0.60, 0.90, 0.70, 0.65]})
    assert C._selection_gain(df, entry(reg, "majdandzic_selection_more_interpretable")["test"]["columns"]) == \
        pytest.approx(0.30)


def test_difference_claim_welch(reg):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"method": "gradients", "generalization_auroc": 0.9,
                       "activation": ["exponential"] * 10 + ["relu"] * 10,
                       "vector_kld": np.r_[rng.normal(0.4, 0.05, 10), rng.normal(0.1, 0.05, 10)]})
    r = C.evaluate_claim(entry(reg, "majdandzic_exponential_more_consistent"), df)
    assert r["verdict"] == "reproduced" and r["n"] == 20 and r["estimate"] == pytest.approx(0.3, abs=0.05)


def test_where_operators(reg):
    c = entry(reg, "weinberger_f2_nuisance")  # the largest nuisance count only
    rows = [{"model": m, "seed": s, "n_nuisance": k, "metric": "test_accuracy",
             "value": (0.8 if m == "dapr" else 0.5) if k == 500 else 0.9 + 0.001 * s}
            for m in ("dapr", "mlp") for s in range(5) for k in (50, 500)]
    r = C.evaluate_claim(c, pd.DataFrame(rows))
    assert r["verdict"] == "reproduced" and r["estimate"] == pytest.approx(0.3) and r["n"] == 5


def test_missing_table_is_not_run_and_a_missing_column_is_named(reg):
    c = entry(reg, "erion_f2_graph_prior_r2")
    assert C.evaluate_claim(c, None)["verdict"] == C.NOT_RUN
    with pytest.raises(C.RegistryError, match="has no column"):
        C.evaluate_claim(c, planted_paired(0.1).rename(columns={"seed": "retraining"}))


def test_n_needed_from_the_observed_sd():
    from scipy import stats

    # effect 0.05 with s.d. 0.1: the normal approximation (2.80 * 0.1 / 0.05)^2 = 31.4; the t quantile adds ~2
    n = C.n_needed(0.05, 0.1)
    assert 32 <= n <= 35
    assert (stats.t.ppf(0.975, n - 1) + stats.norm.ppf(0.8)) * 0.1 / np.sqrt(n) < 0.05
    assert (stats.t.ppf(0.975, n - 2) + stats.norm.ppf(0.8)) * 0.1 / np.sqrt(n - 1) >= 0.05
    assert C.n_needed(0.0, 0.1) == float("inf")
    # simulated power: at the returned n about 80 % of t intervals exclude 0
    rng = np.random.default_rng(0)
    x = rng.normal(0.05, 0.1, (4000, int(n)))
    half = stats.t.ppf(0.975, n - 1) * x.std(axis=1, ddof=1) / np.sqrt(n)
    assert 0.75 < np.mean(x.mean(axis=1) - half > 0) < 0.9
    # a correlation of 0.66: ((1.96 + 0.84) / atanh 0.66)^2 + 3 = 15.6 -> 16
    assert C.n_needed_correlation(0.66) == 16


# ------------------------------------------------------------------------------------------------ stability
def test_a_verdict_that_differs_between_runs_is_unstable(reg):
    ids = [c["id"] for c in reg["claims"]]
    base = pd.DataFrame({"id": ids, "verdict": "reproduced", "estimate": 0.1, "ci_low": 0.05, "ci_high": 0.15,
                         "n": 10, "sd": 0.05, "detail": ""})
    other = base.copy()
    other.loc[other.id == "erion_f2_graph_prior_r2", "verdict"] = "inconclusive"
    rec = C.stability({"seed0": base, "seed1": other, "threads2": base})
    st = rec.set_index("id")["stability"]
    assert st["erion_f2_graph_prior_r2"] == "unstable"
    assert (st.drop("erion_f2_graph_prior_r2") == "stable").all()
    flat = C.claims_table(reg, base, rec)
    table = flat.set_index("id")
    assert table.loc["erion_f2_graph_prior_r2", "verdict"] == "unstable"
    assert "seed1 inconclusive" in table.loc["erion_f2_graph_prior_r2", "stability"]
    assert "needs n ≈" in table.loc["erion_f2_graph_prior_r2", "needs"]
    assert table.loc["erion_f2_random_graph", "verdict"] == "reproduced"
    md = C.claims_markdown(flat)
    assert "**unstable**" in md and "## Positive controls" in md and "## Negative controls" in md


def test_run_claims_on_a_planted_run_folder(tmp_path, monkeypatch, reg):
    """The file layer: a folder holding only the graph-prior metrics table; other claims are 'not run'; a stability
    record of another configuration is not used."""
    from attrpriors.io import save_table

    monkeypatch.chdir(tmp_path)
    t = "results/tables/erion_fig2_graph_prior_metrics.csv"
    save_table(planted_paired(0.1), t)
    rec = pd.DataFrame({"id": ["erion_f2_graph_prior_r2"], "stability": ["unstable"], "n_runs": [2],
                        "seed0": ["reproduced"], "seed1": ["inconclusive"], "experiment": ["graph_prior"],
                        "config_key": ["abc"], "commit": ["x"]})
    save_table(rec, "stab.csv")
    table = C.run_claims(str(REGISTRY), [t], "out/claims.csv", "out/claims.md", stability_csv="stab.csv",
                         config_keys={"graph_prior": "other", "benchmark": "abc"})
    v = table.set_index("id")["verdict"]
    assert v["erion_f2_graph_prior_r2"] == "reproduced"
    assert v["erion_f1_pixel_prior_tv"] == C.NOT_RUN
    assert "another configuration" in (tmp_path / "out/claims.md").read_text()
    table = C.run_claims(str(REGISTRY), [t], "out/claims.csv", "out/claims.md", stability_csv="stab.csv",
                         config_keys={"graph_prior": "abc"})
    assert table.set_index("id").loc["erion_f2_graph_prior_r2", "verdict"] == "unstable"
    assert set(table.query("experiment == 'graph_prior'")["config_key"]) == {"abc"}
    # a plain results/tables path that is not a final output of this run is not read (e.g. a stale cohort's table)
    table = C.run_claims(str(REGISTRY), [], "out/claims.csv", "out/claims.md")
    assert table.set_index("id").loc["erion_f2_graph_prior_r2", "verdict"] == C.NOT_RUN


def test_only_the_declared_inputs_are_read_not_files_left_by_another_configuration(tmp_path, reg):
    """A glob of the registry (the IG-limits seeds) matches only the files the claims rule declares: a seed table
    left by an earlier, larger run in the same folder is not read; without a declared list (a stand-alone
    scoring) every file on disk is."""
    from attrpriors.io import save_table

    spec = next(c for c in reg["claims"] if "seed[0-9].csv" in str(c["table"]))["table"]
    key = C.table_key(spec)
    ours = ["results/ig_limits/metrics/SIMU1/MLP/seed0.csv", "results/ig_limits/metrics/SIMU1/MLP/seed1.csv"]
    for i, path in enumerate([*ours, "results/ig_limits/metrics/SIMU1/MLP/seed2.csv"]):
        save_table(pd.DataFrame({"metric": ["x"], "value": [float(i)]}), tmp_path / path)
    sub = {**reg, "claims": [c for c in reg["claims"] if c["table"] == spec][:1]}
    declared = C.read_run_tables(sub, tmp_path, ours)[key]
    assert sorted(declared["value"]) == [0.0, 1.0]
    assert sorted(C.read_run_tables(sub, tmp_path)[key]["value"]) == [0.0, 1.0, 2.0]
    assert C.read_run_tables(sub, tmp_path, ["results/ig_limits/metrics/SIMU1/MLP/seed0_ig_steps.csv"])[key] is None


# ------------------------------------------------------------------------------------------------ the tiny run
def test_claims_table_of_the_tiny_run(tiny_run, reg):
    """Every registry entry resolves on the tiny run's tables (no unknown column, arm or filter that matches
    nothing), and claims.{csv,md} are written with one row per entry."""
    from attrpriors.io import read_table

    table = read_table(tiny_run / "results/tables/claims.csv")
    assert list(table["id"]) == [c["id"] for c in reg["claims"]]
    assert set(table["verdict"]) <= {*C.VERDICTS, C.UNSTABLE, C.NOT_RUN}
    md = (tiny_run / "results/tables/claims.md").read_text()
    assert md.startswith("# Claims") and all(c["id"] in md for c in reg["claims"])
    # the tiny config leaves out some cohorts and datasets: those claims are 'not run'; every other one resolved
    not_run = set(table.loc[table["verdict"] == C.NOT_RUN, "id"])
    assert not_run <= {"erion_f3_sparsity_gini_flchain", "erion_f3_small_data_flchain",
                        "erion_f3_small_data_dense_signal", "erion_t1_eg_best_correlated",
                        "weinberger_t1_dapr_best_nonlinear", "weinberger_t1_dapr_vs_noise_nonlinear",
                        "weinberger_t1_noise_prior_no_gain_nonlinear"}, not_run
    # a filter that matches nothing (a misspelt metric or model) would read "no rows after the filter"; arms the
    # tiny config does not run (fewer models, one λ) are named instead
    resolved = table[table["verdict"] != C.NOT_RUN]
    empty = resolved["detail"].fillna("").str.contains("no rows after the filter")
    assert not empty.any(), resolved.loc[empty, ["id", "detail"]]
    assert (resolved["n"] >= 1).mean() > 0.7


def test_config_keys_are_per_experiment_so_a_record_survives_edits_of_other_experiments():
    """An experiment's key hashes its own block and the blocks its rule files read or consume (the RNA-seq data
    layer for the gene-expression experiments), nothing else: editing the graph prior leaves the benchmark's
    stability rows valid, editing the RNA-seq layer does not leave the graph prior's."""
    import copy

    import yaml

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    rules = REPO / "workflow" / "rules"
    assert C.experiment_config_blocks(rules, "benchmark", config) == ["benchmark"]
    assert {"graph_prior", "rnaseq"} <= set(C.experiment_config_blocks(rules, "graph_prior", config))
    assert "rnaseq" in C.experiment_config_blocks(rules, "dapr", config)
    experiments = sorted({c["experiment"] for c in C.load_registry(REGISTRY)["claims"]})
    keys = C.experiment_config_keys(config, rules, experiments)
    edited = copy.deepcopy(config)
    edited["graph_prior"]["retrainings"] += 1
    edited["seed"] = 7  # the base seed is what the stability runs vary: never part of a key
    after = C.experiment_config_keys(edited, rules, experiments)
    assert {e for e in experiments if after[e] != keys[e]} == {"graph_prior"}
    edited["rnaseq"]["seed_offset_probe"] = 1
    after = C.experiment_config_keys(edited, rules, experiments)
    assert {"graph_prior", "dapr", "ig_limits"} <= {e for e in experiments if after[e] != keys[e]}
    assert after["benchmark"] == keys["benchmark"]
    rec = pd.DataFrame({"id": ["a", "b"], "experiment": ["benchmark", "graph_prior"],
                        "config_key": [keys["benchmark"], keys["graph_prior"]]})
    used, stale = C.usable_stability_rows(rec, after)
    assert list(used["id"]) == ["a"] and stale == ["graph_prior"]


def test_the_committed_stability_record_matches_the_default_config():
    """docs/claims_stability.csv is used by a default run only where its rows' keys are the default config's:
    a record left stale by a config edit must be rerun (make claims-stability), not silently dropped."""
    import yaml

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    rec = pd.read_csv(REPO / "docs" / "claims_stability.csv")
    keys = C.experiment_config_keys(config, REPO / "workflow" / "rules", rec["experiment"].unique())
    _, stale = C.usable_stability_rows(rec, keys)
    assert stale == [], f"docs/claims_stability.csv rows of {stale} were measured on another config"
