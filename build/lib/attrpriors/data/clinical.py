"""Clinical tables for the sparsity attribution prior (Erion et al. 2019, Fig. 3).

* :func:`load_breast_cancer_table` — scikit-learn's bundled Wisconsin breast cancer data (569 patients, 30
  features, label 1 = benign), the offline embedded default;
* :func:`load_flchain_table` — scikit-survival's bundled FLCHAIN cohort (Dispenzieri et al. 2012; 7,874
  Olmsted County residents with serum free light chains and follow-up): label 1 = died within 10 years, an
  offline real cohort that is not at its ceiling;
* :func:`load_nhanes` — NHANES I with mortality follow-up, as the CSVs published with shap (paper scale):
  label 1 = alive ``horizon_years`` after the examination;
* :func:`simulate_logistic_cohort` — a synthetic cohort with a known number of informative features (the
  sparsity prior's positive and negative controls).

Both return a feature DataFrame (numeric, NaN where missing) and an int64 label vector; :func:`standardize`
mean-imputes and standardises with training statistics.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..stats import zscore, zscore_stats

__all__ = ["load_breast_cancer_table", "load_flchain_table", "simulate_logistic_cohort", "load_nhanes", "standardize", "NHANES_SOURCES", "download_nhanes"]


def load_breast_cancer_table() -> tuple[pd.DataFrame, np.ndarray]:
    """scikit-learn's breast cancer table: 569 × 30 real-valued features; ``y`` = 1 benign, 0 malignant."""
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    return pd.DataFrame(d.data, columns=list(d.feature_names)), d.target.astype(np.int64)


def load_flchain_table(horizon_days: float = 3652.0) -> tuple[pd.DataFrame, np.ndarray]:
    """scikit-survival's FLCHAIN cohort as a binary task: ``y`` = 1 died within ``horizon_days`` (10 years).

    People censored (alive at last contact) before the horizon have no label and are dropped; those followed
    to the horizon alive get 0, deaths up to the horizon 1 (about 1,764 of 6,836 at 10 years).
    ``chapter`` (the cause of death, known only for the dead) leaks the label and is dropped. Encoding:
    ``sex`` → 1 for male; ``mgus`` → 1 for yes; ``flc.grp`` (the decile group of total free light chain)
    and ``sample.yr`` (year of the blood sample) → their numbers, both ordered. ``creatinine`` is missing
    for 17 % of the people: a ``creatinine_missing`` indicator column is added and the value itself is left
    NaN, so that :func:`standardize` imputes it with the mean of the training rows only (no leakage from
    validation or test rows). Needs scikit-survival (its wheel ships the data; no download).
    """
    from sksurv.datasets import load_flchain

    X, surv = load_flchain()
    death = np.asarray(surv["death"], dtype=bool)
    time = np.asarray(surv["futime"], dtype=np.float64)
    known = (death & (time <= horizon_days)) | (time >= horizon_days)
    label = (death & (time <= horizon_days)).astype(np.int64)
    out = pd.DataFrame({
        "age": X["age"].astype(np.float64),
        "sex_male": (X["sex"].astype(str) == "M").astype(np.float64),
        "sample_year": X["sample.yr"].astype(str).astype(np.float64),
        "kappa": X["kappa"].astype(np.float64),
        "lambda": X["lambda"].astype(np.float64),
        "flc_group": X["flc.grp"].astype(str).astype(np.float64),
        "creatinine": X["creatinine"].astype(np.float64),
        "creatinine_missing": X["creatinine"].isna().astype(np.float64),
        "mgus": (X["mgus"].astype(str) == "yes").astype(np.float64),
    })
    return out.loc[known].reset_index(drop=True), label[known]


def simulate_logistic_cohort(n_samples: int, n_features: int, n_informative: int, signal: float, seed: int
                             ) -> tuple[pd.DataFrame, np.ndarray]:
    """A synthetic cohort whose label depends on ``n_informative`` of ``n_features`` standard-normal features.

    ``P(y = 1 | x) = σ(Σ_{j < k} β_j x_j)`` with ``|β_j| = signal / √k`` (alternating signs), so the logit's
    standard deviation is ``signal`` whatever ``k``: the task is equally hard with few informative features
    (where a sparsity prior's assumption holds: the positive control) and with all of them (where it does
    not: the negative control). Returns features ``x0…`` and the int64 labels.
    """
    if not 0 < n_informative <= n_features:
        raise ValueError(f"need 0 < n_informative <= n_features, got {n_informative} and {n_features}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((int(n_samples), int(n_features)))
    beta = np.zeros(int(n_features))
    beta[: int(n_informative)] = float(signal) / np.sqrt(n_informative) * np.where(
        np.arange(int(n_informative)) % 2 == 0, 1.0, -1.0)
    y = (rng.random(int(n_samples)) < 1 / (1 + np.exp(-(X @ beta)))).astype(np.int64)
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(int(n_features))]), y


def load_nhanes(x_csv: str | os.PathLike, y_csv: str | os.PathLike, horizon_years: float = 10.0
                ) -> tuple[pd.DataFrame, np.ndarray]:
    """NHANES I (shap's ``NHANESI_X.csv`` / ``NHANESI_y.csv``) as a binary task: alive after ``horizon_years``.

    shap's ``y`` is the follow-up time in years, negative when the patient was censored (alive at last contact).
    Label 1: alive at the horizon (death after it, or censored after it); 0: died before it. Patients censored
    before the horizon have no label and are dropped. Non-numeric columns are one-hot encoded.
    """
    x_csv, y_csv = Path(x_csv), Path(y_csv)
    for p in (x_csv, y_csv):
        if not p.exists():
            raise FileNotFoundError(f"NHANES file not found: {p}")
    X = pd.read_csv(x_csv, index_col=0)
    ydf = pd.read_csv(y_csv, index_col=0)
    if "y" not in ydf.columns:
        raise KeyError(f"{y_csv}: missing column 'y'; found {list(ydf.columns)}")
    if len(X) != len(ydf):
        raise ValueError(f"{x_csv} has {len(X)} rows but {y_csv} has {len(ydf)}")
    t = ydf["y"].to_numpy(dtype=np.float64)
    died = t > 0
    time = np.abs(t)
    known = died | (time >= horizon_years)
    label = (~died | (time >= horizon_years)).astype(np.int64)
    X = X.loc[known].copy()
    bools = X.select_dtypes(include="bool").columns
    X[bools] = X[bools].astype(np.float64)
    X = pd.get_dummies(X, dummy_na=False, dtype=np.float64)
    return X.astype(np.float64).reset_index(drop=True), label[known]


def standardize(X_train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Mean-impute NaNs and standardise every array with the training means and standard deviations.

    Constant training columns get a standard deviation of 1. Returns float32 arrays in the order given.
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    mean = np.nanmean(X_train, axis=0)
    mean = np.where(np.isnan(mean), 0.0, mean)

    def impute(A):
        A = np.asarray(A, dtype=np.float64).copy()
        rows, cols = np.where(np.isnan(A))
        A[rows, cols] = mean[cols]
        return A

    _, sd = zscore_stats(impute(X_train))  # s.d. of the imputed training data; the centre is the NaN-mean
    return [zscore(impute(A), stats=(mean, sd)).astype(np.float32) for A in (X_train, *others)]


#: attrpriors.data.download registry names of the NHANES I files (features, follow-up times).
NHANES_SOURCES = ("nhanes_i_X", "nhanes_i_y")


def download_nhanes(destinations) -> list[Path]:
    """Fetch shap's NHANES I CSVs to ``destinations`` through :func:`attrpriors.data.download.download`."""
    from .download import download

    if len(destinations) != len(NHANES_SOURCES):
        raise ValueError(f"download_nhanes needs {len(NHANES_SOURCES)} destinations, got {len(destinations)}")
    return [download(name, dest) for name, dest in zip(NHANES_SOURCES, destinations)]
