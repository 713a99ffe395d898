"""ganforge's small MNIST-family classifier, whose penultimate layer is the feature space of the
`lenet-mnist` and `lenet-fashion` extractors (trained by benchmarks/train_classifiers.py)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class LeNet(nn.Module):
    """conv32-BN-pool-conv64-BN-pool-fc128-fc10 on 28x28 grey images in [-1, 1].

    `forward` returns (features [N, 128], logits [N, 10]). The features are fc1's output *before*
    its ReLU: a post-ReLU layer has units that are zero for whole data sets, which makes the
    covariance singular and FID ill-posed. Batch norm (used with its running statistics, i.e. in
    eval mode, whenever features are extracted) makes a few epochs of training enough."""

    feature_dim = 128

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)  # [N, 32, 28, 28] -> pool -> 14x14
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)  # [N, 64, 14, 14] -> pool -> 7x7
        self.bn2 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 7 * 7, self.feature_dim)
        self.dropout = nn.Dropout(0.5)  # active in training only
        self.fc2 = nn.Linear(self.feature_dim, num_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        feats = self.fc1(x.flatten(1))  # [N, 3136] -> [N, 128]
        logits = self.fc2(self.dropout(F.relu(feats)))
        return feats, logits
