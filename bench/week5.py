"""PyTorch side of week 5's benchmark (see checks/week5/src/week5/attribution.rs): same id, same
shapes, the same algorithm.

Integrated gradients on the week-5 MNIST CNN (fixtures/gen/mnist_cnn.py, random weights) for 16
images against a black baseline, with 32 midpoints: one forward and backward pass per point, as
the course's `integrated_gradients` computes it (captum would batch the points instead).
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures" / "gen"))
from mnist_cnn import Cnn  # noqa: E402


def integrated_gradients():
    torch.manual_seed(0)
    model = Cnn()
    x = torch.rand(16, 784)
    target = torch.arange(16) % 10
    baseline = torch.zeros_like(x)
    n = 32

    def run():
        total = torch.zeros_like(x)
        for k in range(n):
            point = (baseline + (k + 0.5) / n * (x - baseline)).requires_grad_(True)
            score = model(point).gather(1, target.unsqueeze(1)).sum()
            (grad,) = torch.autograd.grad(score, point)
            total += grad / n
        return (x - baseline) * total

    return run


BENCHES = {
    "week5.attribution.integrated_gradients": integrated_gradients,
}
