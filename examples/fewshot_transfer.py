#!/usr/bin/env python3
"""examples/fewshot_transfer.cpp's recipe in PyTorch, on the same folders, for the table of
docs/transfer-learning.md: a linear probe on EfficientNet-Lite0's pooled ImageNet features,
selective fine-tuning (block 15 and the 1x1 head convolution at a tenth of the new head's
rate, BatchNorm in eval mode) and SimpleCNN from scratch on 28x28 greyscale; for each, Adam at
1e-3, 3e-3 and 1e-2 for 300 steps of 32 images, the rate chosen on the last 20 images of each class
(the validation split), the chosen one tested. The same images as strata's in each split; the
seed gives other initial heads and batch orders than strata's.

    /usr/bin/python3 examples/fewshot_transfer.py --weights lite0.safetensors --test test2k \\
        --run 1:shots5_seed1 ... [--threads 2] [--work /tmp/fewshot-port]

The Lite0 definition is the PyPI port the checkpoint was made for (efficientnet-lite-pytorch,
downloaded as a wheel into --work and imported from it, not installed); the weights are the
safetensors file tools/fetch-pretrained wrote. The two agree within seed noise, not digit for
digit.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from safetensors_to_torch import load_safetensors  # noqa: E402

PORT = "efficientnet-lite-pytorch==0.1.0"
CUT = 15
SIDE = 96
RATES = (1e-3, 3e-3, 1e-2)
BATCH = 32
EXTENSIONS = (".png", ".jpg", ".jpeg")


def folder(root):
    """[(path, label)] with torchvision's ImageFolder order: sorted classes, sorted files."""
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    return [(os.path.join(root, c, f), label) for label, c in enumerate(classes)
            for f in sorted(os.listdir(os.path.join(root, c)))
            if f.lower().endswith(EXTENSIONS) and not f.startswith(".")]


def split(samples, shots):
    """Per class, the first `shots` files train and the rest validate, as fewshot_transfer.cpp."""
    seen, train, validation = {}, [], []
    for s in samples:
        seen[s[1]] = seen.get(s[1], 0) + 1
        (train if seen[s[1]] <= shots else validation).append(s)
    return train, validation


def lite_input(samples):
    """The whole image resized to 96x96 with PIL's bicubic, (v - 127) / 128, [N, 3, 96, 96]."""
    images = [np.asarray(Image.open(p).convert("RGB").resize((SIDE, SIDE), Image.BICUBIC),
                         dtype=np.float32) for p, _ in samples]
    return torch.from_numpy((np.stack(images) - 127.0) / 128.0).permute(0, 3, 1, 2).contiguous()


def grey_input(samples):
    """Fashion-MNIST's normalisation on the 28x28 greyscale, [N, 1, 28, 28]."""
    images = [np.asarray(Image.open(p).convert("L").resize((28, 28), Image.BILINEAR),
                         dtype=np.float32) / 255.0 for p, _ in samples]
    return torch.from_numpy((np.stack(images)[:, None] - 0.2860) / 0.3530)


def labels(samples):
    return torch.tensor([label for _, label in samples])


def port_class(work):
    wheel_dir = os.path.join(work, "port")
    os.makedirs(wheel_dir, exist_ok=True)
    wheels = [f for f in os.listdir(wheel_dir) if f.endswith(".whl")]
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        "--disable-pip-version-check", "-q", "-d", wheel_dir, PORT], check=True)
        wheels = [f for f in os.listdir(wheel_dir) if f.endswith(".whl")]
    sys.path.insert(0, os.path.join(wheel_dir, wheels[0]))  # a pure-Python wheel imports as a zip
    from efficientnet_lite_pytorch import EfficientNet
    return EfficientNet


class Front(nn.Module):
    def __init__(self, lite):
        super().__init__()
        self.lite = lite

    def forward(self, x):  # [N, 3, 96, 96] -> [N, 192, 3, 3]
        x = self.lite._swish(self.lite._bn0(self.lite._conv_stem(x)))
        for block in self.lite._blocks[:CUT]:
            x = block(x)
        return x


class Back(nn.Module):
    """Block 15, the head convolution and a new 10-class head; pooled() stops before the head."""

    def __init__(self, lite):
        super().__init__()
        self.lite = lite
        self.head = nn.Linear(1280, 10)

    def pooled(self, x):  # [N, 192, 3, 3] -> [N, 1280]
        for block in self.lite._blocks[CUT:]:
            x = block(x)
        x = self.lite._swish(self.lite._bn1(self.lite._conv_head(x)))
        return torch.flatten(self.lite._avg_pooling(x), 1)

    def forward(self, x):  # [N, 192, 3, 3] -> [N, 10]
        return self.head(self.lite._dropout(self.pooled(x)))


def simple_cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def batched(model, x):
    with torch.no_grad():
        return torch.cat([model(x[i:i + 256]) for i in range(0, len(x), 256)])


def accuracy(model, x, y):
    return (batched(model, x).argmax(1) == y).double().mean().item()


def train(model, optimizer, train_mode, seed, x, y, steps):
    generator = torch.Generator().manual_seed(seed)
    step = 0
    while step < steps:
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), BATCH):
            if step == steps:
                break
            model.train(train_mode)
            index = order[i:i + BATCH]
            loss = nn.functional.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
    model.eval()


def report(way, shots, seed, trials, seconds):
    best = max(trials, key=lambda t: t[1])  # the first of equals: the smaller rate
    rates = " ".join(f"{lr:g} {100 * v:.1f}%" for lr, v, _ in trials)
    print(f"{way}\t{shots}\t{seed}\t{best[0]:g}\t{100 * best[1]:.2f}\t{100 * best[2]:.2f}\t"
          f"{seconds:.0f} s\t(validation: {rates})", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--run", action="append", required=True, help="SEED:DIR")
    parser.add_argument("--validation-per-class", type=int, default=20)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default="/tmp/fewshot-port")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    EfficientNet = port_class(args.work)
    state, _ = load_safetensors(args.weights)

    def lite():
        model = EfficientNet.from_name("efficientnet-lite0", image_size=SIDE)
        model.load_state_dict(state, strict=True)
        return model.eval()

    front = Front(lite())
    start = time.time()
    test = folder(args.test)
    test_front, test_grey, test_y = batched(front, lite_input(test)), grey_input(test), labels(test)
    print(f"# {len(test)} test images read and passed through Lite0's frozen blocks 0-14 in "
          f"{time.time() - start:.0f} s")
    print("way\tshots\tseed\tlr\tvalidation\ttest\ttime")
    for run in args.run:
        seed, root = run.split(":", 1)
        seed = int(seed)
        samples = folder(root)
        shots = len(samples) // 10 - args.validation_per_class
        train_set, validation_set = split(samples, shots)
        train_front, validation_front = (batched(front, lite_input(train_set)),
                                         batched(front, lite_input(validation_set)))
        train_y, validation_y = labels(train_set), labels(validation_set)

        started, trials = time.time(), []
        features = Back(lite()).eval()
        train_pooled, validation_pooled, test_pooled = (
            batched(features.pooled, f) for f in (train_front, validation_front, test_front))
        for lr in RATES:
            torch.manual_seed(seed)
            probe = nn.Linear(1280, 10)
            train(probe, torch.optim.Adam(probe.parameters(), lr), True, seed, train_pooled,
                  train_y, args.steps)
            trials.append((lr, accuracy(probe, validation_pooled, validation_y),
                           accuracy(probe, test_pooled, test_y)))
        report("probe", shots, seed, trials, time.time() - started)

        started, trials = time.time(), []
        for lr in RATES:
            torch.manual_seed(seed)
            back = Back(lite())
            for p in back.parameters():
                p.requires_grad_(False)
            tuned = [p for m in (*back.lite._blocks[CUT:], back.lite._conv_head)
                     for p in m.parameters()]
            for p in tuned + list(back.head.parameters()):
                p.requires_grad_(True)
            optimizer = torch.optim.Adam([{"params": back.head.parameters(), "lr": lr},
                                          {"params": tuned, "lr": lr / 10}])
            train(back, optimizer, False, seed, train_front, train_y, args.steps)
            trials.append((lr, accuracy(back, validation_front, validation_y),
                           accuracy(back, test_front, test_y)))
        report("finetune", shots, seed, trials, time.time() - started)

        started, trials = time.time(), []
        train_grey, validation_grey = grey_input(train_set), grey_input(validation_set)
        for lr in RATES:
            torch.manual_seed(seed)
            net = simple_cnn()
            train(net, torch.optim.Adam(net.parameters(), lr), True, seed, train_grey, train_y,
                  args.steps)
            trials.append((lr, accuracy(net, validation_grey, validation_y),
                           accuracy(net, test_grey, test_y)))
        report("scratch", shots, seed, trials, time.time() - started)


if __name__ == "__main__":
    main()
