"""Network architectures shared by the experiments."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

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
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # corrupt or truncated file: say which one
        raise ValueError(f"{path}: not a readable model checkpoint ({type(err).__name__}: {err})") from err
    for key in ("model_spec", "n_inputs", "n_outputs", "state_dict"):
        if key not in ckpt:
            raise KeyError(f"{path}: checkpoint lacks {key!r}; was it written by attrpriors.training.fit?")
    model = build_model(ckpt["model_spec"], ckpt["n_inputs"], ckpt["n_outputs"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model


def model_checkpoint_info(spec: dict, n_inputs: int, n_outputs: int) -> dict:
    """What :func:`load_model` needs to rebuild the architecture."""
    return {"model_spec": dict(spec), "n_inputs": int(n_inputs), "n_outputs": int(n_outputs)}
