#!/usr/bin/python3
"""Full-size parity of strata's zoo with torchvision through safetensors (ctest
safetensors_zoo_parity, registered where this Python has torchvision).

For each model: tools/torch_to_safetensors.py exports random weights (torchvision's
initialisation plus randomised BatchNorms); strata (the safetensors_zoo_parity executable) loads
them, runs eval mode on a fixed 224x224 input, and must give torchvision's logits to
max |strata - torch| <= 1e-4 max |torch| (the reference is computed in float64 from the same
float32 weights). strata then saves the model; tools/safetensors_to_torch.py turns that file into
a .pth that torchvision loads with strict=True, and every tensor must equal the exported one.

    /usr/bin/python3 tests/io/zoo_parity.py --exe build/tests/safetensors_zoo_parity \
        --work /tmp/zoo [model ...]
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "tools")
sys.path.insert(0, TOOLS)
from torch_to_safetensors import parse_builder_args, random_model  # noqa: E402

# torchvision name, builder arguments (strata's GoogLeNet has no auxiliary heads).
MODELS = {
    "alexnet": [],
    "vgg11": [],
    "googlenet": ["aux_logits=False", "init_weights=True"],
    "resnet18": [],
    "resnet50": [],
    "resnext50_32x4d": [],
    "wide_resnet50_2": [],
    "mobilenet_v2": [],
    "mobilenet_v3_large": [],
    "mobilenet_v3_small": [],
    "efficientnet_b0": [],
}
SEED = 2024
TOLERANCE = 1e-4


def tool(script, *args):
    subprocess.run([sys.executable, os.path.join(TOOLS, script), *args], check=True)


def check(name, exe, work):
    builder_args = [a for arg in MODELS[name] for a in ("--arg", arg)]
    weights = os.path.join(work, f"{name}.safetensors")
    tool("torch_to_safetensors.py", name, weights, "--random-seed", str(SEED), *builder_args)

    # The same model again, in this process: the export is deterministic under the seed.
    model = random_model(name, SEED, **parse_builder_args(MODELS[name])).eval()
    exported = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(SEED)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected = model.double()(x.double()).numpy().reshape(-1)
    del model

    inputs, logits = os.path.join(work, "input.f32"), os.path.join(work, "logits.f32")
    resaved = os.path.join(work, f"{name}.strata.safetensors")
    x.numpy().astype("<f4").tofile(inputs)
    subprocess.run([exe, name, weights, inputs, logits, resaved], check=True)
    got = np.fromfile(logits, "<f4").astype(np.float64)
    if got.shape != expected.shape:
        return [f"{name}: strata gave {got.size} logits, torchvision {expected.size}"]
    err, scale = np.abs(got - expected).max(), np.abs(expected).max()
    print(f"{name}: max |strata - torch| = {err:.3g}, max |torch| = {scale:.3g}, "
          f"ratio {err / scale:.3g}", flush=True)
    problems = []
    if not err <= TOLERANCE * scale:
        problems.append(f"{name}: logits differ by {err:.3g}, more than {TOLERANCE} x {scale:.3g}")

    pth = os.path.join(work, f"{name}.pth")
    tool("safetensors_to_torch.py", name, resaved, pth, *builder_args)
    back = torch.load(pth)
    for key, value in exported.items():
        if key.endswith("num_batches_tracked"):
            continue  # strata does not keep it; the tool sets it to 0
        if not torch.equal(back[key], value):
            problems.append(f"{name}: '{key}' changed in the round trip through strata")
    for path in (weights, resaved, pth):
        os.remove(path)
    return problems


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--exe", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("models", nargs="*", default=list(MODELS))
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    problems = []
    for name in args.models:
        start = time.time()
        problems += check(name, args.exe, args.work)
        print(f"{name}: {time.time() - start:.1f} s", flush=True)
    shutil.rmtree(args.work, ignore_errors=True)
    for problem in problems:
        print("FAILED " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
