"""Image and label metrics for evaluating Genie (PSNR is shared: ``worldmodels.core.metrics``)."""

import numpy as np
from torch import Tensor
from torchmetrics.functional.image import structural_similarity_index_measure


def ssim(x: Tensor, y: Tensor) -> float:
    """Mean SSIM of frames ... c h w in [-1, 1], measured on [0, 1] images (Gaussian window 11, sigma 1.5)."""
    x, y = ((v.float().flatten(0, -4) + 1) / 2 for v in (x, y))
    return float(structural_similarity_index_measure(x, y, data_range=1.0))


def entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def normalized_mutual_information(a, b) -> float:
    """NMI of two labelings: I(A; B) over the mean of H(A) and H(B), as scikit-learn's default (arithmetic).
    1 when one labeling determines the other up to renaming, about 0 when they are independent."""
    _, a = np.unique(np.asarray(a).ravel(), return_inverse=True)
    _, b = np.unique(np.asarray(b).ravel(), return_inverse=True)
    if len(a) != len(b):
        raise ValueError(f"labelings of different lengths: {len(a)} and {len(b)}")
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1)
    joint /= joint.sum()
    h_a, h_b = entropy(joint.sum(1)), entropy(joint.sum(0))
    if h_a == h_b == 0:
        return 1.0  # both constant: identical up to renaming
    mutual_information = h_a + h_b - entropy(joint.ravel())
    return max(0.0, mutual_information / ((h_a + h_b) / 2))
