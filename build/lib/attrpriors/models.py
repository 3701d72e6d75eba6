"""Network architectures shared by the experiments."""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .graph import symmetric_spmm

__all__ = ["MLP", "MODEL_TYPES", "build_model", "load_model", "model_checkpoint_info"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "softplus": nn.Softplus}


class MLP(nn.Module):
    """Fully connected network ``in → hidden… → out``.

    ``n_outputs=1`` gives a regression head returning shape ``(B,)``; ``n_outputs=C`` returns logits
    ``(B, C)``. Dropout (if any) follows each hidden activation.
    """

    def __init__(
        self,
        n_inputs: int,
        hidden: Sequence[int] = (64, 32),
        n_outputs: int = 1,
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {sorted(_ACTIVATIONS)}")
        layers: list[nn.Module] = []
        width = n_inputs
        for h in hidden:
            layers += [nn.Linear(width, int(h)), _ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = int(h)
        layers.append(nn.Linear(width, n_outputs))
        self.net = nn.Sequential(*layers)
        self.n_outputs = n_outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out[:, 0] if self.n_outputs == 1 else out

    def first_layer(self) -> nn.Linear:
        return self.net[0]


#: Model classes by their config ``type``; each is called as ``cls(n_inputs, n_outputs=..., **rest_of_spec)``.
#: Architectures defined further down register themselves here.
MODEL_TYPES: dict[str, type[nn.Module]] = {"mlp": MLP}


def build_model(spec: dict, n_inputs: int, n_outputs: int) -> nn.Module:
    """Build a model from a config mapping ``{"type": "mlp", "hidden": [...], ...}`` (see :data:`MODEL_TYPES`)."""
    spec = dict(spec)
    kind = spec.pop("type", "mlp")
    try:
        cls = MODEL_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown model type {kind!r}; known: {sorted(MODEL_TYPES)}") from None
    return cls(n_inputs, n_outputs=n_outputs, **spec)


def load_model(path, map_location: str = "cpu") -> nn.Module:
    """Rebuild a model saved by :func:`attrpriors.training.fit` with ``checkpoint_extra=model_checkpoint_info(...)``."""
    from .io import load_torch

    ckpt = load_torch(path, map_location=map_location)  # names a missing, truncated or corrupt file
    for key in ("model_spec", "n_inputs", "n_outputs", "state_dict"):
        if key not in ckpt:
            raise KeyError(f"{path}: checkpoint lacks {key!r}; was it written by attrpriors.training.fit?")
    from .io import corrupt_file

    for name, t in ckpt["state_dict"].items():
        if torch.is_tensor(t) and t.is_floating_point() and not torch.isfinite(t).all():
            raise corrupt_file(path, "model checkpoint", f"parameter {name!r} holds "
                                                         f"{int((~torch.isfinite(t)).sum())} non-finite value(s): "
                                                         "the training diverged or the file was damaged")
    model = build_model(ckpt["model_spec"], ckpt["n_inputs"], ckpt["n_outputs"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model


def model_checkpoint_info(spec: dict, n_inputs: int, n_outputs: int) -> dict:
    """What :func:`load_model` needs to rebuild the architecture."""
    return {"model_spec": dict(spec), "n_inputs": int(n_inputs), "n_outputs": int(n_outputs)}


class DNACNN(nn.Module):
    """The CNN of Majdandzic et al. (2022) for one-hot DNA ``(B, 4, L)``.

    ``conv 24 k19 → act₁ → conv 32 k7 → ReLU → maxpool 4 → conv 48 k5 → ReLU → maxpool 4 → conv 64 k5 → ReLU →
    maxpool 3 → dense 96 → ReLU → head``; convolutions keep the length (``same`` padding), so the flattened
    size follows the sequence length (``n_inputs`` = L; 200 nt → 64 × 4 = 256 features).

    Parameters
    ----------
    n_inputs : sequence length L.
    n_outputs : 2 gives a *binary head*: one logit ``z`` returned as the two-class logits ``(0, z)``, so the fit
        loop's cross-entropy equals the paper's sigmoid binary cross-entropy and explaining class 1 explains
        ``z``; 1 gives a regression output ``(B,)``; C > 2 gives ``(B, C)`` logits.
    activation : first-layer activation, ``relu`` or ``exponential`` (Koo & Ploenzke 2021); later layers ReLU.
    batch_norm : batch normalisation after the first convolution (before the activation).
    hidden_batch_norm : batch normalisation after every later convolution and the dense layer.
    spectral_norm : spectral normalisation of every convolution and dense weight (Miyato et al. 2018).
    dropout : dropout rate after every activation (0 = none): one number for every layer, or one per layer
        (``len(filters) + 1`` values: the convolutions, then the dense layer; the consistency paper's code uses
        0.1 after every convolution and 0.5 after the dense layer; Koo & Ploenzke's deeper CNN 0.1, 0.2, …, 0.5).
    filters, kernels, pools, dense : the architecture (defaults as above).
    init : ``glorot`` (Glorot-uniform weights, zero biases: the Keras defaults of the paper's TensorFlow models;
        PyTorch's smaller default scale leaves this deep, max-pooled stack on a long loss plateau) or ``torch``.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int = 2,
        activation: str = "relu",
        batch_norm: bool = False,
        hidden_batch_norm: bool = False,
        spectral_norm: bool = False,
        dropout: float | Sequence[float] = 0.0,
        filters: Sequence[int] = (24, 32, 48, 64),
        kernels: Sequence[int] = (19, 7, 5, 5),
        pools: Sequence[int] = (1, 4, 4, 3),
        dense: int = 96,
        init: str = "glorot",
    ) -> None:
        super().__init__()
        if activation not in ("relu", "exponential"):
            raise ValueError(f"first-layer activation must be 'relu' or 'exponential', got {activation!r}")
        if not (len(filters) == len(kernels) == len(pools)):
            raise ValueError(f"filters {filters}, kernels {kernels} and pools {pools} must have the same length")
        rates = [float(dropout)] * (len(filters) + 1) if isinstance(dropout, (int, float)) else [float(d) for d in dropout]
        if len(rates) != len(filters) + 1 or not all(0 <= r < 1 for r in rates):
            raise ValueError(f"dropout must be a rate in [0, 1) or {len(filters) + 1} of them (one per convolution "
                             f"and the dense layer), got {dropout!r}")
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        layers: list[nn.Module] = []
        channels, length = 4, int(n_inputs)
        for i, (f, k, p) in enumerate(zip(filters, kernels, pools)):
            bn = batch_norm if i == 0 else hidden_batch_norm
            layers.append(sn(nn.Conv1d(channels, int(f), int(k), padding="same", bias=not bn)))
            if bn:
                layers.append(nn.BatchNorm1d(int(f)))
            layers.append(_Exponential() if i == 0 and activation == "exponential" else nn.ReLU())
            if rates[i] > 0:
                layers.append(nn.Dropout(rates[i]))
            if p > 1:
                layers.append(nn.MaxPool1d(int(p)))
                length //= int(p)
            channels = int(f)
        if length < 1:
            raise ValueError(f"sequence length {n_inputs} is too short for pools {pools}")
        layers += [nn.Flatten(), sn(nn.Linear(channels * length, int(dense), bias=not hidden_batch_norm))]
        if hidden_batch_norm:
            layers.append(nn.BatchNorm1d(int(dense)))
        layers.append(nn.ReLU())
        if rates[-1] > 0:
            layers.append(nn.Dropout(rates[-1]))
        self.body = nn.Sequential(*layers)
        self.n_outputs = int(n_outputs)
        self.head = sn(nn.Linear(int(dense), 1 if self.n_outputs in (1, 2) else self.n_outputs))
        if init == "glorot":
            for m in self.modules():
                if isinstance(m, (nn.Conv1d, nn.Linear)):
                    w = m.parametrizations.weight.original if spectral_norm else m.weight
                    nn.init.xavier_uniform_(w)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
        elif init != "torch":
            raise ValueError(f"init must be 'glorot' or 'torch', got {init!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.body(x))
        if self.n_outputs == 1:
            return out[:, 0]
        if self.n_outputs == 2:  # binary head: logits (0, z), softmax = (1 − σ(z), σ(z))
            return torch.cat([torch.zeros_like(out), out], dim=1)
        return out

    def first_layer(self) -> nn.Conv1d:
        return self.body[0]


class _Exponential(nn.Module):
    """``exp(x)``: the exponential first-layer activation of Koo & Ploenzke (2021)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)


MODEL_TYPES["dna_cnn"] = DNACNN


class GCN(nn.Module):
    """Graph convolution over genes (Kipf & Welling 2017) followed by dense layers: Erion et al.'s GCN baseline.

    The first ``n_genes`` input columns are graph nodes with one scalar feature each (the gene's expression);
    the remaining columns (e.g. the drug one-hot) skip the graph layer and join the dense layers. One graph
    convolution ``H = act(Â X W + b)`` with ``Â = D̃^{-1/2} (A + I) D̃^{-1/2}`` (self-loops added, weighted
    degrees ``D̃``) maps each gene to ``channels`` features; ``H`` is flattened, concatenated with the other
    inputs and passed through dense layers ``hidden`` (paper: 512, 256) to the output.

    The graph lives in buffers (``edge_index`` 2 × E undirected edges, ``edge_weight`` E), so a checkpoint
    rebuilds it: construct with ``n_genes`` and ``n_edges`` (``build_model`` passes them from the spec) and call
    :meth:`set_graph` once before training.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int = 1,
        n_genes: int | None = None,
        n_edges: int = 0,
        channels: int = 4,
        hidden: Sequence[int] = (512, 256),
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {sorted(_ACTIVATIONS)}")
        n_genes = int(n_inputs if n_genes is None else n_genes)
        if not 0 < n_genes <= n_inputs:
            raise ValueError(f"n_genes must be in [1, n_inputs={n_inputs}], got {n_genes}")
        self.n_genes, self.n_extra, self.channels = n_genes, int(n_inputs) - n_genes, int(channels)
        self.register_buffer("edge_index", torch.zeros(2, int(n_edges), dtype=torch.long))
        self.register_buffer("edge_weight", torch.zeros(int(n_edges)))
        self.graph_weight = nn.Parameter(torch.empty(self.channels))
        self.graph_bias = nn.Parameter(torch.zeros(self.channels))
        nn.init.uniform_(self.graph_weight, -1.0, 1.0)
        self.act = _ACTIVATIONS[activation]()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = MLP(n_genes * self.channels + self.n_extra, hidden=hidden, n_outputs=n_outputs,
                        activation=activation, dropout=dropout)
        self.n_outputs = n_outputs

    def set_graph(self, edges, weights=None) -> "GCN":
        """Store an undirected graph: ``edges`` (E × 2 gene indices), ``weights`` (E,) or None for 1."""
        e = torch.as_tensor(edges, dtype=torch.long).reshape(-1, 2).T.contiguous()
        if e.shape[1] != self.edge_index.shape[1]:
            raise ValueError(f"GCN was built for {self.edge_index.shape[1]} edges, got {e.shape[1]}")
        if e.numel() and (int(e.min()) < 0 or int(e.max()) >= self.n_genes):
            raise ValueError(f"edge indices must be in [0, {self.n_genes})")
        w = torch.ones(e.shape[1]) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        self.edge_index.copy_(e)
        self.edge_weight.copy_(w)
        return self

    def __getstate__(self) -> dict:
        """Copies and pickles leave the adjacency cache behind (a CSR tensor cannot be deep-copied; the copy
        rebuilds it from its own buffers on first use)."""
        state = self.__dict__.copy()
        state.pop("_adjacency_cache", None)
        return state

    def normalized_adjacency(self) -> torch.Tensor:
        """``Â = D̃^{-1/2}(A + I)D̃^{-1/2}`` as a sparse (n_genes × n_genes) tensor (:mod:`attrpriors.graph`).

        Built once per graph and device and cached (rebuilding it — a sort of 2E + G entries — in every forward
        pass cost more than the convolution at paper scale); the cache is keyed by the buffers' storage and
        version, so :meth:`set_graph`, ``load_state_dict`` and ``.to(device)`` all rebuild it.
        """
        return self._adjacency()[0]

    def _adjacency(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(COO, CSR) normalised adjacency, cached per graph and device."""
        from .graph import normalized_adjacency

        e, w = self.edge_index, self.edge_weight
        key = (e.data_ptr(), w.data_ptr(), e._version, w._version, w.device, w.dtype)
        cache = self.__dict__.get("_adjacency_cache")
        if cache is None or cache[0] != key:
            coo = normalized_adjacency(e, w, self.n_genes)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")
                csr = coo.to_sparse_csr()
            cache = (key, (coo, csr))
            self.__dict__["_adjacency_cache"] = cache
        return cache[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        genes, extra = x[:, : self.n_genes], x[:, self.n_genes :]
        z = symmetric_spmm(self._adjacency()[1], genes.T).T  # (B, G): Â x, O(edges)
        h = self.act(z[:, :, None] * self.graph_weight + self.graph_bias)  # (B, G, C)
        h = self.drop(h.reshape(x.shape[0], -1))
        return self.head(torch.cat([h, extra], dim=1))

    def first_layer(self) -> nn.Linear:
        return self.head.first_layer()


MODEL_TYPES["gcn"] = GCN


class ImageCNN(nn.Module):
    """The image classifier of Erion et al.'s pixel prior, scaled to the image size.

    ``[conv k×k (same padding) → ReLU → maxpool 2] × len(channels) → dense ``hidden`` → ReLU → dropout → C
    logits``. The paper's MNIST model is ``channels=(32, 64), kernel_size=5, hidden=1024, dropout=0.5`` on
    28 × 28 images; the 8 × 8 digits default uses ``channels=(16, 32), kernel_size=3, hidden=64``.

    Parameters
    ----------
    n_inputs : number of input channels (1 for grey-scale); inputs are ``(B, n_inputs, image_size, image_size)``.
    n_outputs : number of classes.
    image_size : height = width of the input images; each pooling halves it (floor).
    """

    def __init__(
        self,
        n_inputs: int = 1,
        n_outputs: int = 10,
        image_size: int = 8,
        channels: Sequence[int] = (16, 32),
        kernel_size: int = 3,
        hidden: int = 64,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd (same padding), got {kernel_size}")
        layers: list[nn.Module] = []
        width, size = int(n_inputs), int(image_size)
        for c in channels:
            layers += [nn.Conv2d(width, int(c), int(kernel_size), padding=int(kernel_size) // 2), nn.ReLU(),
                       nn.MaxPool2d(2)]
            width, size = int(c), size // 2
        if size < 1:
            raise ValueError(f"image_size {image_size} is too small for {len(channels)} pooling layers")
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(width * size * size, int(hidden)), nn.ReLU(), nn.Dropout(float(dropout)),
            nn.Linear(int(hidden), int(n_outputs)),
        )
        self.image_size = int(image_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

    def first_layer(self) -> nn.Conv2d:
        return self.features[0]


MODEL_TYPES["image_cnn"] = ImageCNN


class GeneInteractionInputs(nn.Module):
    """A network on the columns ``[x, x·M_1, …, x·M_k]`` seen as a function of the expression ``x`` alone, so
    that the "meta-features as inputs" model gets one attribution per gene like every other Table 1 row."""

    def __init__(self, net: nn.Module, meta: np.ndarray):
        super().__init__()
        self.net = net
        self.register_buffer("meta", torch.as_tensor(np.asarray(meta, dtype=np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cols = [x] + [x * self.meta[:, j] for j in range(self.meta.shape[1])]
        return self.net(torch.cat(cols, dim=1))
