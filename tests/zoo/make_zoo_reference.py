#!/usr/bin/python3
"""Writes tests/zoo/<model>.txt: torchvision's parameter count, multiply-accumulates and the
name and shape of every parameter and buffer of each zoo model, for the compile-time and naming
tests of strata's model zoo. The tests only read the committed files.

    /usr/bin/python3 tests/zoo/make_zoo_reference.py            # every model
    /usr/bin/python3 tests/zoo/make_zoo_reference.py resnet50   # some

MACs follow torchvision's published convention: convolution and linear layers only, per image
(Cout * Cin/groups * Kh * Kw * Hout * Wout, and in * out). BatchNorm's num_batches_tracked
counter is not listed: strata does not keep it (it only matters for momentum=None).
"""
import os
import sys

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = {
    "resnet18": (torchvision.models.resnet18, 224),
    "resnet34": (torchvision.models.resnet34, 224),
    "resnet50": (torchvision.models.resnet50, 224),
    "resnet101": (torchvision.models.resnet101, 224),
    "resnet152": (torchvision.models.resnet152, 224),
    "resnext50_32x4d": (torchvision.models.resnext50_32x4d, 224),
    "wide_resnet50_2": (torchvision.models.wide_resnet50_2, 224),
    "alexnet": (torchvision.models.alexnet, 224),
    "vgg11": (torchvision.models.vgg11, 224),
    "vgg13": (torchvision.models.vgg13, 224),
    "vgg16": (torchvision.models.vgg16, 224),
    "vgg19": (torchvision.models.vgg19, 224),
    "vgg11_bn": (torchvision.models.vgg11_bn, 224),
    "vgg13_bn": (torchvision.models.vgg13_bn, 224),
    "vgg16_bn": (torchvision.models.vgg16_bn, 224),
    "vgg19_bn": (torchvision.models.vgg19_bn, 224),
    # MACs are measured in eval mode, where the auxiliary heads do not run (strata's `macs`
    # counts the main path too).
    "googlenet": (lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False),
                  224),
    "googlenet_aux": (lambda: torchvision.models.googlenet(aux_logits=True, init_weights=False),
                      224),
    "inception_v3": (lambda: torchvision.models.inception_v3(
        aux_logits=False, transform_input=False, init_weights=False), 299),
    "inception_v3_aux": (lambda: torchvision.models.inception_v3(
        aux_logits=True, transform_input=False, init_weights=False), 299),
    "mobilenet_v2": (torchvision.models.mobilenet_v2, 224),
    "mobilenet_v3_large": (torchvision.models.mobilenet_v3_large, 224),
    "mobilenet_v3_small": (torchvision.models.mobilenet_v3_small, 224),
    "densenet121": (torchvision.models.densenet121, 224),
    "densenet169": (torchvision.models.densenet169, 224),
    "efficientnet_b0": (torchvision.models.efficientnet_b0, 224),
    "efficientnet_b1": (torchvision.models.efficientnet_b1, 240),
    "efficientnet_b2": (torchvision.models.efficientnet_b2, 260),
    "efficientnet_b3": (torchvision.models.efficientnet_b3, 300),
    "efficientnet_b4": (torchvision.models.efficientnet_b4, 380),
    "efficientnet_b5": (torchvision.models.efficientnet_b5, 456),
    "efficientnet_b6": (torchvision.models.efficientnet_b6, 528),
    "efficientnet_b7": (torchvision.models.efficientnet_b7, 600),
}


def lite(n):
    """EfficientNet-Lite as the PyTorch port its ImageNet checkpoints load into builds it (PyPI
    efficientnet-lite-pytorch 0.1.0; not in Debian: `pip download --no-deps
    efficientnet-lite-pytorch`, unzip the wheel and put it on PYTHONPATH)."""
    def make():
        from efficientnet_lite_pytorch import EfficientNet
        return EfficientNet.from_name(f"efficientnet-lite{n}")
    return make


for n, size in enumerate((224, 240, 260, 280, 300)):
    MODELS[f"efficientnet_lite{n}"] = (lite(n), size)


def macs_of(model, size):
    total = 0

    def conv_hook(module, _, out):
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1]
        total += out[0].numel() * (module.in_channels // module.groups) * k

    def linear_hook(module, _, out):
        nonlocal total
        total += module.in_features * module.out_features

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(conv_hook)
        elif isinstance(m, torch.nn.Linear):
            m.register_forward_hook(linear_hook)
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    return total


def write(name):
    factory, size = MODELS[name]
    model = factory()
    source = ("efficientnet-lite-pytorch 0.1.0" if name.startswith("efficientnet_lite")
              else f"torchvision {torchvision.__version__}")
    lines = [f"# {source} {name}, input 3x{size}x{size}, 1000 classes",
             f"parameters {sum(p.numel() for p in model.parameters())}",
             f"macs {macs_of(model, size)}"]
    for key, p in model.named_parameters():
        lines.append(" ".join(["param", key] + [str(d) for d in p.shape]))
    for key, b in model.named_buffers():
        if not key.endswith("num_batches_tracked"):
            lines.append(" ".join(["buffer", key] + [str(d) for d in b.shape]))
    with open(os.path.join(HERE, f"{name}.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(name, lines[1], lines[2])


if __name__ == "__main__":
    for name in sys.argv[1:] or MODELS:
        write(name)
