#!/usr/bin/env python3
"""PyTorch eager's side of strata's GPU benchmarks (bench/gpu/bench_gpu.cu): the same cases under
the same names, timed the same way, written as the same JSON. tools/gpu-check runs both and prints
the ratio table (docs/gpu-check.md).

    python3 bench/gpu/pytorch_gpu.py OUT.json|- [--rounds N] [--warmup N] [--max-seconds S]
                                     [--tf32 on|off] [--only TEXT] [--input host|device]

Cases (batch, shape, recipe as bench_gpu.cu's):
    simplecnn/train_step/64   bench/pytorch_models.py's SimpleCNN, 64 x 1x28x28: forward,
                              cross-entropy (mean), backward, SGD (lr 0.01, momentum 0.9)
    resnet50/train_step/64    torchvision's resnet50 (or the same network defined below when
                              torchvision is missing), 64 x 3x224x224, the same training step
    resnet50/inference/1      the same ResNet-50, 1 x 3x224x224, eval mode, torch.inference_mode()

A round is one step between two torch.cuda.synchronize() calls, timed with time.perf_counter;
the result is the median over the rounds, after warm-up steps (the first, with cuDNN's autotuning,
reported apart as first_ms). Rounds stop once a case has run --max-seconds (at least 3 rounds).

--input host (the default) keeps inputs and labels in (pageable) host memory and copies them to
the GPU inside every step, as strata's Model::forward and cross_entropy take host spans; --input
device copies them once, before timing (PyTorch's usual set-up; not strata's).

TF32: --tf32 sets torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32 both
(cuDNN's default is True, so "off" must be set explicitly), and the script checks that they took.
torch.backends.cudnn.benchmark is True. Without CUDA the script stops with an error; --allow-cpu
(for checking the script on a machine without a GPU only) runs on the CPU and marks the JSON so.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pytorch_models import simple_cnn  # noqa: E402  (bench/pytorch_models.py)

SIMPLECNN_PARAMETERS = 421_642      # strata::models::SimpleCNN<>::parameter_count
RESNET50_PARAMETERS = 25_557_032    # strata::models::ResNet50<>::parameter_count, torchvision's


# ResNet-50 as torchvision defines it (v1.5: the stride in the 3x3 convolution of a bottleneck),
# for a machine without torchvision; same layers, shapes and parameter count.
class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        width = planes
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class _ResNet50(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        layers, inplanes = [], 64
        for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            stage = []
            for b in range(blocks):
                stage.append(_Bottleneck(inplanes, planes, stride if b == 0 else 1))
                inplanes = planes * 4
            layers.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50():
    try:
        import torchvision
        return torchvision.models.resnet50(weights=None), f"torchvision {torchvision.__version__}"
    except ImportError:
        return _ResNet50(), "local definition (torchvision missing)"


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def _backend_setting(path):
    """torch.backends.<path>, or None where this torch has no such setting."""
    obj = torch.backends
    try:
        for part in path.split("."):
            obj = getattr(obj, part)
    except (AttributeError, RuntimeError):
        return None
    return obj


def set_tf32(on):
    """Both legacy switches, then a check of what took, through whichever API this torch has."""
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on
    state = {"matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
             "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32}
    if state["matmul.allow_tf32"] != on or state["cudnn.allow_tf32"] != on:
        sys.exit(f"pytorch_gpu.py: TF32 did not take: asked {on}, got {state}")
    # torch 2.9 and later: per-operation fp32_precision settings, where "none" defers to the
    # enclosing setting (the legacy cuDNN switch, turned off, writes "none"; all "none" is IEEE).
    for op, parents in (("cuda.matmul", ("cuda", "")), ("cudnn.conv", ("cudnn", ""))):
        chain = [_backend_setting(f"{op}.fp32_precision")]
        if chain[0] is None:  # torch before 2.9 has only the legacy switches
            continue
        chain += [_backend_setting(f"{p}.fp32_precision" if p else "fp32_precision") for p in parents]
        effective = next((v for v in chain if v not in (None, "none")), "ieee")
        state[f"{op}.fp32_precision"] = chain[0]
        state[f"{op}.effective"] = effective
        if (effective == "tf32") != on:
            sys.exit(f"pytorch_gpu.py: TF32 did not take: asked {on}, got {state}")
    return state


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_case(name, batch, parameters, rounds, warmup, args, device, step):
    warmup = max(1, args.warmup or warmup)
    rounds = max(1, args.rounds or rounds)
    synchronize(device)
    t = time.perf_counter()
    step()
    synchronize(device)
    first_ms = (time.perf_counter() - t) * 1e3
    for _ in range(warmup - 1):
        step()
    synchronize(device)
    times, start = [], time.perf_counter()
    for _ in range(rounds):
        t = time.perf_counter()
        step()
        synchronize(device)
        times.append((time.perf_counter() - t) * 1e3)
        if len(times) >= 3 and time.perf_counter() - start > args.max_seconds:
            break
    return name, {"batch": batch, "parameters": parameters,
                  "ms_median": statistics.median(times), "ms_min": min(times),
                  "ms_mean": statistics.fmean(times), "first_ms": first_ms, "warmup": warmup,
                  "rounds": len(times), "ms": times}


def inputs(batch, shape, classes, device, on_device):
    """Random normal images and labels 0..classes-1 cyclically, as bench_gpu.cu's."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(batch, *shape, generator=g)
    y = torch.arange(batch) % classes
    if on_device:
        return (lambda a=x.to(device): a), (lambda b=y.to(device): b)
    return (lambda: x.to(device)), (lambda: y.to(device))


def train_step(name, model, batch, shape, classes, parameters, rounds, warmup, args, device):
    model = model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    get_x, get_y = inputs(batch, shape, classes, device, args.input == "device")

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(get_x()), get_y()).backward()
        opt.step()
    return time_case(name, batch, parameters, rounds, warmup, args, device, step)


def inference(name, model, batch, shape, parameters, rounds, warmup, args, device):
    model = model.to(device).eval()
    get_x, _ = inputs(batch, shape, 1, device, args.input == "device")

    def step():
        with torch.inference_mode():
            model(get_x())
    return time_case(name, batch, parameters, rounds, warmup, args, device, step)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="output path, '-' for none")
    ap.add_argument("--rounds", type=int, default=0, help="timed rounds (default: per case)")
    ap.add_argument("--warmup", type=int, default=0, help="warm-up steps (default: per case)")
    ap.add_argument("--max-seconds", type=float, default=20.0)
    ap.add_argument("--tf32", choices=("on", "off"), default="off")
    ap.add_argument("--only", default="", help="run only the cases whose name contains TEXT")
    ap.add_argument("--input", choices=("host", "device"), default="host")
    ap.add_argument("--allow-cpu", action="store_true",
                    help="without CUDA, run on the CPU (checking the script only; not a result)")
    args = ap.parse_args()

    if torch.cuda.is_available():
        device = torch.device("cuda")
        device_name = torch.cuda.get_device_name(device)
    elif args.allow_cpu:
        device = torch.device("cpu")
        device_name = "cpu (--allow-cpu: NOT a GPU measurement)"
        print("pytorch_gpu.py: WARNING: no CUDA; running on the CPU because of --allow-cpu",
              file=sys.stderr)
    else:
        sys.exit(f"pytorch_gpu.py: torch {torch.__version__} sees no CUDA device "
                 f"(torch.version.cuda={torch.version.cuda}); nothing measured")
    tf32 = set_tf32(args.tf32 == "on")
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(1)
    print(f"# PyTorch {torch.__version__} eager on {device_name}, cuDNN "
          f"{torch.backends.cudnn.version()}, TF32 {args.tf32}, input {args.input}; "
          f"name batch ms_median", flush=True)

    report = {"side": "pytorch", "device": device_name, "tf32": args.tf32 == "on",
              "tf32_state": tf32, "input": args.input,
              "timer": "perf_counter + torch.cuda.synchronize", "max_seconds": args.max_seconds,
              "torch_version": torch.__version__, "cuda_version": torch.version.cuda,
              "cudnn_version": torch.backends.cudnn.version(), "cudnn_benchmark": True,
              "results": {}}

    def write():
        if args.json != "-":
            with open(args.json, "w") as f:
                json.dump(report, f, indent=1)
                f.write("\n")

    def run(name, measure):
        if args.only and args.only not in name:
            return
        key, result = measure()
        report["results"][key] = result
        print(f"{key} {result['batch']} {result['ms_median']:.3f}", flush=True)
        write()  # after every case: a later failure keeps these

    def simplecnn():
        model = simple_cnn(10)
        assert parameter_count(model) == SIMPLECNN_PARAMETERS, parameter_count(model)
        return train_step("simplecnn/train_step/64", model, 64, (1, 28, 28), 10,
                          SIMPLECNN_PARAMETERS, 50, 5, args, device)

    def resnet(kind):
        model, source = resnet50()
        report["resnet50"] = source
        assert parameter_count(model) == RESNET50_PARAMETERS, parameter_count(model)
        if kind == "train":
            return train_step("resnet50/train_step/64", model, 64, (3, 224, 224), 1000,
                              RESNET50_PARAMETERS, 20, 3, args, device)
        return inference("resnet50/inference/1", model, 1, (3, 224, 224), RESNET50_PARAMETERS,
                         50, 5, args, device)

    run("simplecnn/train_step/64", simplecnn)
    run("resnet50/train_step/64", lambda: resnet("train"))
    run("resnet50/inference/1", lambda: resnet("inference"))
    write()


if __name__ == "__main__":
    main()
