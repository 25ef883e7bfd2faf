#!/usr/bin/python3
"""Export a torchvision model's state_dict (weights and BatchNorm buffers) to a safetensors file
that strata's st::load_safetensors reads (docs/safetensors.md). Needs only Python and torch
(with torchvision); not the `safetensors` package.

    tools/torch_to_safetensors.py resnet50 resnet50.safetensors --random-seed 1
    tools/torch_to_safetensors.py resnet18 r18.safetensors --weights r18.pth --num-classes 10
    tools/torch_to_safetensors.py googlenet g.safetensors --random-seed 1 --arg aux_logits=False

MODEL is any name torchvision.models.get_model knows. Without --weights the model keeps
torchvision's own random initialisation, under --random-seed (default 0); with --random-seed every
BatchNorm's weight, bias, running mean and running variance is then randomised too, so that an
eval-mode comparison exercises them (torchvision starts them at 1, 0, 0, 1). --weights loads a
state_dict saved with torch.save (checked with strict=True) instead. --arg passes a keyword argument
to the model's builder (a Python literal). Tensors keep their dtype (num_batches_tracked is I64).
"""

import argparse
import ast
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torchvision

# safetensors dtype name -> (torch dtype, little-endian numpy dtype of the same width).
DTYPES = {
    "F64": (torch.float64, "<f8"),
    "F32": (torch.float32, "<f4"),
    "F16": (torch.float16, "<f2"),
    "BF16": (torch.bfloat16, "<i2"),  # numpy has no bfloat16: moved as its 16-bit pattern
    "I64": (torch.int64, "<i8"),
    "I32": (torch.int32, "<i4"),
    "I16": (torch.int16, "<i2"),
    "I8": (torch.int8, "i1"),
    "U8": (torch.uint8, "u1"),
    "BOOL": (torch.bool, "?"),
}
NAME_OF = {torch_dtype: name for name, (torch_dtype, _) in DTYPES.items()}


def tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    name = NAME_OF.get(t.dtype)
    if name is None:
        raise ValueError(f"dtype {t.dtype} has no safetensors name here")
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return name, t.numpy().astype(DTYPES[name][1], copy=False).tobytes()


def save_safetensors(tensors, path, metadata=None):
    """Writes {name: tensor} in the given order; atomically (a temporary file renamed over path)."""
    header = {"__metadata__": {"format": "pt", **(metadata or {})}}
    blobs, offset = [], 0
    for name, t in tensors.items():
        dtype, data = tensor_bytes(t)
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as the reference writer's
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def parse_builder_args(items):
    kwargs = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--arg {item}: expected key=value")
        kwargs[key] = ast.literal_eval(value)
    return kwargs


def build_model(name, num_classes=None, **kwargs):
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    return torchvision.models.get_model(name, weights=None, **kwargs)


def randomize_batchnorms(model):
    """Non-trivial affine parameters and running statistics in every BatchNorm."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.copy_(torch.rand_like(m.weight) + 0.5)
                m.bias.copy_(torch.randn_like(m.bias) * 0.1)
                m.running_mean.copy_(torch.randn_like(m.running_mean) * 0.1)
                m.running_var.copy_(torch.rand_like(m.running_var) + 0.5)


def random_model(name, seed, num_classes=None, **kwargs):
    """torchvision's initialisation under `seed`, then randomised BatchNorms; deterministic."""
    torch.manual_seed(seed)
    model = build_model(name, num_classes, **kwargs)
    randomize_batchnorms(model)
    return model


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="torchvision model name, e.g. resnet50")
    p.add_argument("output", help="the .safetensors file to write")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--random-seed", type=int, help="random weights under this seed")
    source.add_argument("--weights", help="a state_dict saved with torch.save")
    p.add_argument("--num-classes", type=int, help="the classifier's output count")
    p.add_argument("--arg", action="append", metavar="KEY=VALUE",
                   help="keyword argument for the model builder, e.g. aux_logits=False")
    args = p.parse_args(argv)
    kwargs = parse_builder_args(args.arg)
    if args.weights:
        torch.manual_seed(0)
        model = build_model(args.model, args.num_classes, **kwargs)
        state = torch.load(args.weights, map_location="cpu")
        model.load_state_dict(state, strict=True)
        source = f"weights {os.path.basename(args.weights)}"
    else:
        seed = args.random_seed or 0
        model = random_model(args.model, seed, args.num_classes, **kwargs)
        source = f"random, seed {seed}"
    state = model.state_dict()
    save_safetensors(state, args.output, {"model": args.model, "source": source})
    print(f"{args.output}: {len(state)} tensors from torchvision {args.model} ({source})")


if __name__ == "__main__":
    main(sys.argv[1:])
