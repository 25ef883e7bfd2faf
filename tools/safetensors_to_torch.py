#!/usr/bin/python3
"""Convert a safetensors file (written by strata's st::save_safetensors, or by
tools/torch_to_safetensors.py) into a .pth state_dict for a torchvision model, and check that
the model loads it with strict=True. Needs only Python and torch (with torchvision).

    tools/safetensors_to_torch.py resnet50 mine.safetensors mine.pth
    tools/safetensors_to_torch.py resnet18 mine.safetensors mine.pth --num-classes 10

MODEL, --num-classes and --arg build the model as in tools/torch_to_safetensors.py. strata does
not keep BatchNorm's num_batches_tracked: where the file lacks it, it is set to 0 (and said so).
F32 tensors are stored as float32. The .pth holds the model's state_dict after the load, so
torch.load + load_state_dict(strict=True) works on it.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_to_safetensors import DTYPES, build_model, parse_builder_args  # noqa: E402


def load_safetensors(path):
    """Returns ({name: tensor} in file order, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    start = 8 + n
    tensors = {}
    for name, entry in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = entry["data_offsets"]
        torch_dtype, np_dtype = DTYPES[entry["dtype"]]
        array = np.frombuffer(data, np_dtype, count=(end - begin) // np.dtype(np_dtype).itemsize,
                              offset=start + begin).reshape(entry["shape"])
        t = torch.from_numpy(array.copy())
        tensors[name] = t.view(torch.bfloat16) if torch_dtype == torch.bfloat16 else t
    return tensors, metadata


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="torchvision model name, e.g. resnet50")
    p.add_argument("input", help="the .safetensors file to read")
    p.add_argument("output", help="the .pth file to write")
    p.add_argument("--num-classes", type=int, help="the classifier's output count")
    p.add_argument("--arg", action="append", metavar="KEY=VALUE",
                   help="keyword argument for the model builder, e.g. aux_logits=False")
    args = p.parse_args(argv)
    model = build_model(args.model, args.num_classes, **parse_builder_args(args.arg))
    tensors, _ = load_safetensors(args.input)
    filled = [k for k, v in model.state_dict().items()
              if k.endswith("num_batches_tracked") and k not in tensors]
    for key in filled:
        tensors[key] = torch.tensor(0, dtype=torch.int64)
    model.load_state_dict(tensors, strict=True)
    tmp = f"{args.output}.tmp"
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, args.output)
    print(f"{args.output}: {len(tensors)} tensors, loaded by torchvision {args.model} with "
          f"strict=True" + (f"; num_batches_tracked set to 0 in {len(filled)} BatchNorms"
                            if filled else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
