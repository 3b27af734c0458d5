"""scikit-learn's 8x8 digits: 1797 images, 64 features scaled to [0, 1], 10 classes.

20 % is the test set and 20 % of the rest the validation split (fixed seeds 0 and 1).
"""

from __future__ import annotations

import numpy as np

from . import Dataset, dataset, split, tensors


@dataset("digits")
def load(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.data.astype(np.float32) / 16.0
    y = d.target.astype(np.int64)
    rest, test = split(x, y, test_fraction, seed)
    train, val = split(*rest, 0.2, seed + 1)
    return tensors("digits", train, val, test, 10,
                   {"source": "sklearn.datasets.load_digits", "test_fraction": test_fraction, "split_seed": seed})
