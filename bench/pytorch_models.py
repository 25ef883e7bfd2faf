"""The PyTorch counterparts of strata's networks, shared by the side-by-side scripts."""
import torch.nn as nn


def simple_cnn(classes=10):
    """The seed report's SimpleCNN (strata::models::SimpleCNN): 421,642 parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, classes),
    )
