"""AUROC against scikit-learn's roc_auc_score (the reference), ties included."""

import numpy as np
import pytest

from ganforge.metrics.anomaly import auroc


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auroc_matches_sklearn(seed):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    labels = rng.random(500) < 0.1
    scores = rng.normal(size=500) + labels * 0.8
    scores[:100] = np.round(scores[:100], 1)  # ties
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), rel=1e-12)


def test_auroc_edge_cases():
    assert auroc([0.1, 0.2, 0.9], [0, 0, 1]) == 1.0
    assert auroc([0.9, 0.2, 0.1], [0, 0, 1]) == 0.0
    assert auroc([0.5, 0.5], [0, 1]) == 0.5  # a tie counts one half
    with pytest.raises(ValueError, match="both"):
        auroc([0.1, 0.2], [0, 0])
