"""Unit tests of experiment C's pieces: the paper's CNN, SmoothGrad, the augmentations and the fit-loop hook,
the population naming, the ATAC loader and the selection/summary tables."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from attrpriors import consistency as C
from attrpriors.attributions import attribute
from attrpriors.augmentation import gaussian_noise, make_batch_transform, mixup
from attrpriors.config_check import load_config
from attrpriors.experiments import dna_consistency as E
from attrpriors.models import DNACNN, build_model, load_model, model_checkpoint_info
from attrpriors.seeds import seed_everything
from attrpriors.training import FitConfig, fit


def _onehot(n, length, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, 4, (n, length), generator=g)
    return torch.nn.functional.one_hot(tokens, 4).float().transpose(1, 2).contiguous()


# ------------------------------------------------------------------------------------------------ model
@pytest.mark.parametrize("activation", ["relu", "exponential"])
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_dna_cnn_shapes_and_binary_head(activation, batch_norm, spectral_norm):
    seed_everything(0)
    net = build_model({"type": "dna_cnn", "activation": activation, "batch_norm": batch_norm,
                       "spectral_norm": spectral_norm, "dropout": 0.1}, 200, 2).eval()
    x = _onehot(5, 200)
    out = net(x)
    assert out.shape == (5, 2)
    assert torch.all(out[:, 0] == 0)  # binary head: logits (0, z), softmax = sigmoid(z)
    # the class-1 output is the paper's logit, so saliency of class 1 is ∂z/∂x
    g = attribute("gradients", net, x, 1)
    assert g.shape == x.shape and torch.isfinite(g).all()
    assert build_model({"type": "dna_cnn"}, 200, 1)(x).shape == (5,)
    assert build_model({"type": "dna_cnn"}, 200, 3)(x).shape == (5, 3)


def test_dna_cnn_architecture_follows_the_paper():
    net = DNACNN(200)
    convs = [m for m in net.body if isinstance(m, torch.nn.Conv1d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [(24, 19), (32, 7), (48, 5), (64, 5)]
    pools = [m.kernel_size for m in net.body if isinstance(m, torch.nn.MaxPool1d)]
    assert pools == [4, 4, 3]
    dense = [m for m in net.body if isinstance(m, torch.nn.Linear)]
    assert dense[0].in_features == 64 * (200 // 4 // 4 // 3) and dense[0].out_features == 96
    # first-layer batch norm only unless hidden_batch_norm
    n_bn = lambda m: sum(isinstance(x, torch.nn.BatchNorm1d) for x in m.body)  # noqa: E731
    assert n_bn(DNACNN(200, batch_norm=True)) == 1
    assert n_bn(DNACNN(200, batch_norm=True, hidden_batch_norm=True)) == 5
    assert n_bn(DNACNN(200)) == 0
    with pytest.raises(ValueError, match="activation"):
        DNACNN(200, activation="tanh")
    with pytest.raises(ValueError, match="too short"):
        DNACNN(20)
    # dropout: one rate everywhere, or one per layer (the paper's code: 0.1 … 0.5 from the first conv to dense)
    rates = lambda m: [x.p for x in m.body if isinstance(x, torch.nn.Dropout)]  # noqa: E731
    assert rates(DNACNN(200, dropout=[0.1, 0.2, 0.3, 0.4, 0.5])) == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert rates(DNACNN(200, dropout=0.2)) == [0.2] * 5
    assert rates(DNACNN(200, dropout=[0, 0, 0, 0, 0.5])) == [0.5]
    with pytest.raises(ValueError, match="dropout"):
        DNACNN(200, dropout=[0.1, 0.2])


def test_exponential_first_layer_is_exp():
    net = DNACNN(200, activation="exponential")
    x = _onehot(2, 200)
    pre = net.body[0](x)
    assert torch.allclose(net.body[1](pre), torch.exp(pre))


def test_spectral_norm_bounds_the_weights_and_checkpoint_roundtrips(tmp_path):
    seed_everything(1)
    spec = {"type": "dna_cnn", "spectral_norm": True}
    net = build_model(spec, 200, 2)
    x, y = _onehot(64, 200, seed=1), torch.randint(0, 2, (64,))
    cfg = FitConfig(epochs=2, batch_size=32, lr=1e-3, seed=0, device="cpu", progress=False)
    res = fit(net, x, y, x[:16], y[:16], task="classification", config=cfg, checkpoint=tmp_path / "m.pt",
              checkpoint_extra=model_checkpoint_info(spec, 200, 2))
    dense = [m for m in res.model.body if isinstance(m, torch.nn.Linear)][0]
    sigma = torch.linalg.matrix_norm(dense.weight.detach(), ord=2)
    raw = torch.linalg.matrix_norm(dense.parametrizations.weight.original.detach(), ord=2)
    assert sigma < 1.3 < raw  # one power iteration per step: ≈ 1, not exactly
    again = load_model(tmp_path / "m.pt")
    assert torch.allclose(again(x[:4]), res.model(x[:4]))


# ------------------------------------------------------------------------------------------------ SmoothGrad
def test_smoothgrad_zero_noise_is_the_gradient_and_noise_is_seeded():
    seed_everything(0)
    net = DNACNN(200).eval()
    x = _onehot(4, 200)
    plain = attribute("gradients", net, x, 1)
    assert torch.allclose(attribute("smoothgrad", net, x, 1, n_samples=3, noise_level=0.0), plain, atol=1e-6)
    a = attribute("smoothgrad", net, x, 1, n_samples=8, generator=torch.Generator().manual_seed(3))
    b = attribute("smoothgrad", net, x, 1, n_samples=8, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.allclose(a, plain)
    # chunked evaluation gives the same answer
    c = attribute("smoothgrad", net, x, 1, n_samples=8, generator=torch.Generator().manual_seed(3), max_batch=8)
    assert torch.allclose(a, c, atol=1e-6)


def test_smoothgrad_of_a_quadratic_averages_the_gradient():
    class Quad(torch.nn.Module):
        def forward(self, x):
            return (x**2).sum(dim=1)

    x = torch.tensor([[0.0, 1.0, 2.0]])
    sg = attribute("smoothgrad", Quad(), x, None, n_samples=4000, noise_level=0.5,
                   generator=torch.Generator().manual_seed(0))
    assert torch.allclose(sg, 2 * x, atol=0.05)  # E[2(x + ε)] = 2x


# ------------------------------------------------------------------------------------------------ augmentation
def test_gaussian_noise_and_mixup_transforms():
    g = torch.Generator().manual_seed(0)
    x = _onehot(50, 30)
    y = torch.tensor([0, 1] * 25)
    xn, yn = gaussian_noise(0.2)(x, y, g)
    assert torch.equal(yn, y) and (xn - x).std().item() == pytest.approx(0.2, rel=0.1)
    xm, ym = mixup(0.4)(x, y, torch.Generator().manual_seed(1))
    assert xm.shape == x.shape and ym.dtype == y.dtype
    np.testing.assert_allclose(xm.sum(dim=1).numpy(), 1.0, atol=1e-6)  # convex combinations of one-hot
    assert set(ym.tolist()) <= {0, 1}
    xm2, ym2 = mixup(0.4)(x, y, torch.Generator().manual_seed(1))
    assert torch.equal(xm, xm2) and torch.equal(ym, ym2)
    yf = y.float()
    _, ymf = mixup(0.4)(x, yf, torch.Generator().manual_seed(1))
    assert ymf.dtype == torch.float32 and ((ymf >= 0) & (ymf <= 1)).all()
    assert make_batch_transform("standard") is None and make_batch_transform("spectral_norm") is None
    with pytest.raises(ValueError, match="mixup"):
        make_batch_transform("mixup", {"beta": 1.0})


def test_mixup_label_draw_is_unbiased():
    """The drawn label equals y_i with probability λ: over many draws the mixed label matches the soft target."""
    x = torch.eye(2).repeat(500, 1)[:, :, None]  # alternate classes
    y = torch.tensor([0, 1] * 500)
    gen = torch.Generator().manual_seed(5)
    err = []
    for _ in range(20):
        xm, ym = mixup(1.0)(x, y, gen)
        # xm[:, 1] is the mixed share of class 1 in the input = expected label
        err.append(float(ym.float().mean() - xm[:, 1, 0].mean()))
    assert abs(np.mean(err)) < 0.02


def test_fit_batch_transform_hook_is_used_and_deterministic():
    x = torch.randn(64, 3)
    y = (x[:, 0] > 0).long()
    calls = []

    def transform(xb, yb, generator):
        calls.append(len(xb))
        return xb + 0.1 * torch.randn(xb.shape, generator=generator), yb

    def run():
        seed_everything(0)
        net = torch.nn.Linear(3, 2)
        cfg = FitConfig(epochs=3, batch_size=16, lr=1e-2, seed=0, device="cpu", progress=False)
        return fit(net, x, y, task="classification", config=cfg, batch_transform=transform).model

    a, b = run(), run()
    assert len(calls) == 2 * 3 * 4
    assert torch.equal(a.weight, b.weight)
    seed_everything(0)
    plain = fit(torch.nn.Linear(3, 2), x, y, task="classification",
                config=FitConfig(epochs=3, batch_size=16, lr=1e-2, seed=0, device="cpu", progress=False)).model
    assert not torch.equal(a.weight, plain.weight)


# ------------------------------------------------------------------------------------------------ population
def test_variant_names_roundtrip_and_population():
    pop = {"activations": ["relu", "exponential"], "batch_norm": [False, True],
           "regularizers": ["standard", "spectral_norm"], "trials": 2}
    names = E.population(pop)
    assert len(names) == 8 and len(set(names)) == 8
    assert "exponential_bn_spectral_norm" in names
    for n in names:
        v = E.parse_variant(n)
        assert E.variant_name(v["activation"], v["batch_norm"], v["regularizer"]) == n
    spec = E.model_spec("exponential_nobn_spectral_norm", {"type": "dna_cnn", "dropout": 0.1})
    assert spec == {"type": "dna_cnn", "dropout": 0.1, "activation": "exponential", "batch_norm": False,
                    "hidden_batch_norm": False, "spectral_norm": True}
    # the batch-norm variants normalise after every convolution and the dense layer
    bn = build_model(E.model_spec("relu_bn_standard", {"type": "dna_cnn"}), 200, 2)
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in bn.modules()) == 5
    with pytest.raises(ValueError, match="sigmoid"):
        E.parse_variant("sigmoid_bn_standard")


# ------------------------------------------------------------------------------------------------ ATAC loader
def _write_h5(path, splits=True, layout="NLA", y=None):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(40, 30))]  # (N, L, 4)
    if layout == "NAL":
        x = x.transpose(0, 2, 1)
    y = (rng.random(40) > 0.5).astype(np.float32)[:, None] if y is None else y
    with h5py.File(path, "w") as f:
        if splits:
            for name, sl in (("train", slice(0, 28)), ("valid", slice(28, 32)), ("test", slice(32, 40))):
                f[f"x_{name}"], f[f"y_{name}"] = x[sl], y[sl]
        else:
            f["X"], f["Y"] = x, y
    return x, y


def test_atac_loader_reads_zip_members_and_splits(tmp_path):
    from attrpriors.data.atac import find_member, load_atac_dataset

    h5 = tmp_path / "GM12878_binary.h5"
    x, y = _write_h5(h5)
    archive = tmp_path / "datasets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(h5, "datasets/atac/GM12878_binary.h5")
        zf.writestr("datasets/readme.txt", "x")
    assert find_member(archive) == "datasets/atac/GM12878_binary.h5"
    ds = load_atac_dataset(archive)
    assert ds.x.shape == (40, 4, 30) and np.array_equal(ds.x, x.transpose(0, 2, 1))
    assert list(np.bincount(ds.split)) == [28, 4, 8]
    assert not ds.params["has_ground_truth"] and ds.info.sum() == 0
    assert not list(tmp_path.glob(".atac.*"))  # the extracted member is cleaned up
    with pytest.raises(KeyError, match="member"):
        find_member(archive, match="K562")


def test_atac_loader_random_split_threshold_and_errors(tmp_path):
    from attrpriors.data.atac import load_atac_dataset

    h5 = tmp_path / "atac.h5"
    _write_h5(h5, splits=False, layout="NAL", y=np.linspace(0, 3, 40)[:, None])
    with pytest.raises(ValueError, match="threshold"):
        load_atac_dataset(h5)
    ds = load_atac_dataset(h5, threshold=1.5, seed=3)
    assert ds.y.sum() == 20 and set(np.unique(ds.split)) == {0, 1, 2}
    assert ds.x.shape == (40, 4, 30)
    with pytest.raises(ValueError, match="task_index"):
        load_atac_dataset(h5, threshold=1.5, task_index=2)
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        load_atac_dataset(tmp_path / "missing.h5")


# ------------------------------------------------------------------------------------------------ tables
def _fake_population(tmp_path):
    rng = np.random.default_rng(0)
    perf, scores = [], []
    for i, name in enumerate(["relu_nobn_standard", "relu_bn_mixup", "exponential_nobn_noise", "exponential_bn_standard"]):
        p = tmp_path / f"{name}_perf.csv"
        pd.DataFrame({"experiment": "dna_consistency", "model": name, "seed": 0,
                      "metric": ["generalization_auroc", "generalization_aupr", "best_epoch", "epochs_run",
                                 "stopped_early"],
                      "value": [0.9 + 0.01 * i, 0.9, 3 + i, 14 + i, float(i < 3)]}).to_csv(p, index=False)
        perf.append(str(p))
        s = tmp_path / f"{name}_scores.csv"
        vals = {"interpretability_auroc": 0.6 + 0.1 * (3 - i), "interpretability_aupr": 0.5, "snr": 1.0 + (3 - i),
                "kmer_kld": 1.0 + 0.2 * (3 - i) + rng.normal(0, 0.01), "vector_kld": 0.1 * (3 - i) + 0.05}
        pd.DataFrame({"experiment": "dna_consistency", "model": name, "seed": 0, "method": "gradients",
                      "metric": list(vals), "value": list(vals.values())}).to_csv(s, index=False)
        scores.append(str(s))
    return perf, scores


def test_selection_table_and_summary(tmp_path):
    perf, scores = _fake_population(tmp_path)
    out = {k: tmp_path / f"{k}{ext}" for k, ext in [("pop", ".csv"), ("csv", ".csv"), ("md", ".md"),
                                                     ("scsv", ".csv"), ("smd", ".md")]}
    E.selection_table(perf, scores, ["gradients"], out["pop"], out["csv"], out["md"], out["scsv"], out["smd"])
    table = pd.read_csv(out["csv"])
    assert len(table) == 4 and table["selected_combined"].sum() == 1 and table["selected_generalization"].sum() == 1
    # generalization alone picks the last model; consistency pulls the choice toward the interpretable ones
    assert table.loc[table["selected_generalization"], "model"].item() == "exponential_bn_standard"
    assert table.loc[table["selected_combined"], "interpretability_auroc"].item() > \
        table.loc[table["selected_generalization"], "interpretability_auroc"].item()
    summary = pd.read_csv(out["scsv"])
    get = dict(zip(summary["metric"], summary["value"]))
    assert get["vector_kld:r"] == pytest.approx(1.0)
    assert get["generalization_auroc:cv"] < get["interpretability_auroc:cv"]
    assert get["kmer_kld:relu"] > get["kmer_kld:exponential"]
    long = pd.read_csv(out["pop"])
    assert {"experiment", "model", "seed", "method", "metric", "value"} <= set(long.columns)
    assert "Pearson r of vector_kld with SNR" in out["smd"].read_text()
    # every fake model learned (AUROC 0.90-0.93): the learned-only correlations are the same numbers
    assert get["learned:n"] == 4 and get["vector_kld:learned:r"] == pytest.approx(get["vector_kld:r"])
    assert "models with test AUROC ≥ 0.6" in out["smd"].read_text()
    # stop epoch and best epoch per model; the one model that ran into the epoch cap is counted
    md = out["md"].read_text()
    assert "stop epoch" in md and "best epoch" in md
    assert get["epochs_run:min"] == 14 and get["epochs_run:max"] == 17 and get["hit_epoch_cap:n"] == 1
    assert "1 of 4 models ran into the max-epochs cap" in out["smd"].read_text()
    assert set(long["metric"]) >= {"epochs_run", "best_epoch", "stopped_early"}


def test_training_history_and_curves_figure(tmp_path):
    """train_model writes the per-epoch history (val AUROC, learning rate); the figure draws every model."""
    from attrpriors.data.dna_motifs import make_dna_dataset, save_dna_dataset

    data = tmp_path / "data.npz"
    save_dna_dataset(make_dna_dataset(120, 200, 20, seed=0), data)
    histories = []
    for name in ("relu_nobn_standard", "exponential_bn_standard"):
        out = {k: tmp_path / f"{name}_{k}" for k in ("model.pt", "perf.csv", "hist.csv")}
        E.train_model(str(data), name, 0, load_config()["dna_consistency"]["model"],  # the default's dropout
                      {"epochs": 3, "batch_size": 32, "lr": 1e-3, "patience": 2, "monitor": "val_auroc",
                       "lr_factor": 0.2, "lr_patience": 0, "progress": False}, {}, 0, "cpu", 1,
                      str(out["model.pt"]), str(out["perf.csv"]), str(out["hist.csv"]))
        h = pd.read_csv(out["hist.csv"])
        assert list(h["epoch"]) == list(range(len(h))) and {"val_auroc", "lr", "train_loss"} <= set(h.columns)
        perf = pd.read_csv(out["perf.csv"]).set_index("metric")["value"]
        assert perf["epochs_run"] == len(h) and perf["best_val_monitor"] == pytest.approx(h["val_auroc"].max())
        if perf["stopped_early"]:  # patience (2) epochs after the best, or the 3-epoch cap
            assert len(h) - 1 - perf["best_epoch"] == 2
        else:
            assert len(h) == 3
        histories.append(str(out["hist.csv"]))
    png = tmp_path / "curves.png"
    E.training_curves_figure(histories, str(png))
    assert png.stat().st_size > 10_000


def test_score_maps_ground_truth_beats_noise():
    from attrpriors.data.dna_motifs import make_dna_dataset

    ds = make_dna_dataset(200, 200, 50, seed=1)
    pos = ds.y == 1
    x, info = ds.x[pos].astype(np.float64), ds.info[pos].astype(np.float64)
    metrics = {"motif_threshold": 0.1, "top_k_background": 10, "kmer": {"k": 6, "top_frac": 0.1, "extend": 2},
               "vector": {"radius_keep": 0.99, "bin_width": 0.1, "window": 3, "smooth": 6}}
    rng = np.random.default_rng(0)
    truth = E.score_maps(x * info[:, None, :] + 0.01 * rng.normal(size=x.shape), x, info, ds.x, metrics)
    noise = E.score_maps(rng.normal(size=x.shape), x, info, ds.x, metrics)
    assert truth["interpretability_auroc"] > 0.95 > 0.6 > noise["interpretability_auroc"]
    assert truth["vector_kld"] > noise["vector_kld"] + 1.0
    assert np.isfinite(truth["kmer_kld"]) and np.isfinite(noise["kmer_kld"])  # metric 1: biased at this size
    blind = E.score_maps(rng.normal(size=x.shape), x, info, ds.x, metrics, has_truth=False)
    assert np.isnan(blind["snr"]) and np.isfinite(blind["vector_kld"])
    assert C.attribution_vector_kld(x) == pytest.approx(E.score_maps(x, x, info, ds.x, metrics)["vector_kld"])


def test_correlations_are_also_reported_without_models_that_did_not_learn(tmp_path):
    """A model at chance (low SNR, low consistency) can make the population's r large on its own: the summary
    also gives r over the models whose test AUROC reaches LEARNED_AUROC only."""
    rows = []
    for i in range(5):  # learned models: consistency falls as SNR rises (negative r among them)
        rows.append({"model": f"m{i}", "activation": "relu", "generalization_auroc": 0.9, "snr": 2.0 + i,
                     "vector_kld": 1.0 - 0.1 * i, "kmer_kld": 1.0 - 0.1 * i, "interpretability_auroc": 0.8})
    for i in range(2):  # two at chance, far below in both: the pooled r turns positive
        rows.append({"model": f"chance{i}", "activation": "exponential", "generalization_auroc": 0.53,
                     "snr": 0.1 + 0.05 * i, "vector_kld": -3.0 - 0.1 * i, "kmer_kld": -3.0 - 0.1 * i,
                     "interpretability_auroc": 0.5})
    df = pd.DataFrame(rows).assign(method="gradients", seed=0)
    get = dict(zip(*E.summarize_population(df, "gradients")[["metric", "value"]].to_numpy().T))
    assert get["vector_kld:r"] > 0.7 and get["vector_kld:n"] == 7
    assert get["vector_kld:learned:r"] == pytest.approx(-1.0) and get["vector_kld:learned:n"] == 5
    assert get["learned:n"] == 5
