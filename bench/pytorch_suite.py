#!/usr/bin/python3
"""PyTorch's side of strata's benchmark suite: the workloads of bench/bench_models.cpp and
bench/bench_layers.cpp, under the same names, timed the same way (warm-up, then repeated calls;
the median seconds per call). Prints one JSON object on stdout:
    {"torch_version": ..., "threads": ..., "seconds": {"resnet50/inference/1": 0.0512, ...}}

Usage (Debian's interpreter has torch 1.13; pass another one for a newer torch):
    /usr/bin/python3 bench/pytorch_suite.py --threads 2 [--filter REGEX] [--min-time 1.0]

Fair set-up, as bench/compare_pytorch runs it: torch.set_num_threads is always called (PyTorch
defaults to 1 thread on this machine); OPENBLAS_CORETYPE is removed (it slows OpenBLAS);
compare_pytorch also tunes glibc malloc through GLIBC_TUNABLES. Inference runs in eval mode
under torch.inference_mode(); layer "fwd" under torch.no_grad(); "fwdbwd" is a forward and a
backward with the input gradient, gradients set to None between calls as a training loop does.
"""
import os
import sys

if "OPENBLAS_CORETYPE" in os.environ:
    env = dict(os.environ)
    del env["OPENBLAS_CORETYPE"]
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import argparse
import importlib
import json
import re
import statistics
import time

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_models import simple_cnn  # noqa: E402


def resnet18_for_28(classes=10):
    """torchvision's ResNet-18 with a 3x3 stride-1 stem for 1x28x28 inputs and no max-pool."""
    model = torchvision.models.resnet18(num_classes=classes)
    model.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    return model


def inception_module():
    """torchvision's Inception block (torchvision.models.googlenet is also the name of a function,
    which hides the module as an attribute)."""
    return importlib.import_module("torchvision.models.googlenet").Inception


def median_seconds(step, min_time, warmup=3):
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(times) < 5:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def train_step(model, batch, classes, optimizer):
    images = torch.randn(batch, *model.input_shape)
    labels = torch.arange(batch) % classes
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(images), labels).backward()
        optimizer.step()
    return step


def inference(model, batch):
    images = torch.randn(batch, *model.input_shape)
    model.eval()

    def step():
        with torch.inference_mode():
            model(images)
    return step


def layer(module, batch, shape, with_backward):
    x = torch.randn(batch, *shape, requires_grad=with_backward)
    module.train()
    if not with_backward:
        def step():
            with torch.no_grad():
                module(x)
        return step
    dy = torch.randn_like(module(x))

    def step():
        x.grad = None
        module.zero_grad(set_to_none=True)
        module(x).backward(dy)
    return step


def with_input(model, *shape):
    model.input_shape = shape
    return model


def workloads():
    """name -> a function building the step to time (built lazily, so --filter saves memory)."""
    sgd = lambda m: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)  # noqa: E731
    w = {}

    def model_train(name, make, batch, classes, optimizer):
        def build():
            m = make()
            return train_step(m, batch, classes, optimizer(m))
        w[f"{name}/train_step/{batch}"] = build

    def model_infer(name, make, batch):
        w[f"{name}/inference/{batch}"] = lambda: inference(make(), batch)

    simple = lambda: with_input(simple_cnn(), 1, 28, 28)  # noqa: E731
    model_train("simplecnn", simple, 64, 10, lambda m: torch.optim.Adam(m.parameters(), lr=1e-3))
    model_infer("simplecnn", simple, 1)
    model_infer("simplecnn", simple, 64)
    model_train("resnet18_28", lambda: with_input(resnet18_for_28(), 1, 28, 28), 128, 10, sgd)
    resnet50 = lambda: with_input(torchvision.models.resnet50(), 3, 224, 224)  # noqa: E731
    model_train("resnet50", resnet50, 16, 1000, sgd)
    model_infer("resnet50", resnet50, 1)
    model_infer("resnet50", resnet50, 16)
    model_infer("efficientnet_b0",
                lambda: with_input(torchvision.models.efficientnet_b0(), 3, 224, 224), 1)
    model_infer("mobilenet_v2",
                lambda: with_input(torchvision.models.mobilenet_v2(), 3, 224, 224), 1)

    def layer_pair(name, make, batch, shape):
        for suffix, backward in (("fwd", False), ("fwdbwd", True)):
            w[f"{name}/{suffix}"] = (lambda b=backward: layer(make(), batch, shape, b))

    layer_pair("conv3x3_64_56", lambda: nn.Conv2d(64, 64, 3, padding=1, bias=False), 8, (64, 56, 56))
    layer_pair("conv1x1_256to64_56", lambda: nn.Conv2d(256, 64, 1, bias=False), 8, (256, 56, 56))
    layer_pair("conv3x3s2_128to256_28",
               lambda: nn.Conv2d(128, 256, 3, stride=2, padding=1, bias=False), 8, (128, 28, 28))
    layer_pair("depthwise3x3_144_56",
               lambda: nn.Conv2d(144, 144, 3, padding=1, groups=144, bias=False), 8, (144, 56, 56))
    layer_pair("maxpool2_32_28", lambda: nn.MaxPool2d(2), 64, (32, 28, 28))
    layer_pair("maxpool3s2_64_112", lambda: nn.MaxPool2d(3, 2, 1), 8, (64, 112, 112))
    layer_pair("batchnorm_64_56", lambda: nn.BatchNorm2d(64), 8, (64, 56, 56))
    layer_pair("linear_2048to1000", lambda: nn.Linear(2048, 1000), 16, (2048,))
    layer_pair("squeeze_excite_256_14", lambda: torchvision.ops.SqueezeExcitation(256, 16), 8,
               (256, 14, 14))
    layer_pair("inception3a_concat_192_28",
               lambda: inception_module()(192, 64, 96, 128, 16, 32, 32), 8,
               (192, 28, 28))
    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--filter", default=".", help="regular expression on workload names")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds of timed calls per workload")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    selected = {n: b for n, b in workloads().items() if re.search(args.filter, n)}
    if args.list:
        print("\n".join(selected))
        return
    seconds = {}
    for name, build in selected.items():
        seconds[name] = median_seconds(build(), args.min_time)
        print(f"{name}: {seconds[name] * 1e3:.3f} ms", file=sys.stderr)
    print(json.dumps({"torch_version": torch.__version__, "threads": torch.get_num_threads(),
                      "seconds": seconds}))


if __name__ == "__main__":
    main()
