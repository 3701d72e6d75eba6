"""Seeds: one stable seed per job from the config seed, and seeding every random number generator.

This module imports neither torch nor NumPy at import time, so light jobs (tables, figures, data) and the
workflow can derive seeds without paying for torch. :func:`seed_everything` imports torch when called.
"""

from __future__ import annotations

import hashlib
import os
import random

__all__ = ["derive_seed", "seed_everything"]


def derive_seed(base: int, *names: object) -> int:
    """A stable 31-bit seed for one job from the config seed and names (dataset, method, trial, …).

    The seed is the first 32 bits of ``sha256(repr((base, str(name), ...)))`` with the top bit cleared, so it
    is the same on every platform and Python version, and different names give independent-looking seeds.
    """
    digest = hashlib.sha256(repr((int(base),) + tuple(str(n) for n in names)).encode()).hexdigest()
    return int(digest[:8], 16) & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch; ask torch for deterministic kernels (warn only where none exist)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
