#!/usr/bin/python3
"""strata's ImageFolderLoader against PyTorch's DataLoader, side by side in one run: the same
folder, torchvision's training transforms (RandomResizedCrop(size) bilinear,
RandomHorizontalFlip, ToTensor, Normalize with ImageNet's mean and std), the same batch size
and number of workers; rounds alternate between the two and the medians are compared.

    /usr/bin/python3 bench/pytorch_image_loader.py --exe build/bench/image_loader \\
        [--folder DIR | --make DIR] [--workers 2] [--rounds 5] [--threads 1]

--make DIR writes a folder of 10 classes x 50 JPEGs of 500x375 (quality 90), Fashion-MNIST
images enlarged with PIL's bicubic and tinted, a stand-in for photos of ImageNet's size.
"""
import argparse
import gzip
import os
import re
import statistics
import subprocess
import time

import numpy as np
import torch
from PIL import Image
from torchvision import datasets, transforms


def make_folder(root, per_class=50):
    with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    rng = np.random.default_rng(0)
    for c in range(10):
        os.makedirs(os.path.join(root, f"class{c}"), exist_ok=True)
        for k, i in enumerate(np.flatnonzero(labels == c)[:per_class]):
            grey = Image.fromarray(images[i]).resize((500, 375), Image.BICUBIC)
            tint = rng.uniform(0.6, 1.0, 3)
            rgb = (np.asarray(grey, np.float32)[..., None] * tint).astype(np.uint8)
            Image.fromarray(rgb).save(os.path.join(root, f"class{c}", f"{k:03}.jpg"), quality=90)


def torch_round(loader):
    start, images, checksum = time.perf_counter(), 0, 0.0
    for x, _ in loader:  # [batch, 3, size, size]
        images += len(x)
        checksum += x.view(-1)[x.numel() // 2].item()
    return images / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exe", required=True)
    parser.add_argument("--folder")
    parser.add_argument("--make")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    folder = args.folder or args.make
    if args.make and not os.path.isdir(args.make):
        make_folder(args.make)

    dataset = datasets.ImageFolder(folder, transforms.Compose([
        transforms.RandomResizedCrop(args.size), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch, shuffle=True,
                                         num_workers=args.workers, persistent_workers=True,
                                         prefetch_factor=2)
    torch_round(loader)  # starts the persistent workers
    strata, pytorch = [], []
    for _ in range(args.rounds):
        out = subprocess.run([args.exe, "--folder", folder, "--workers", str(args.workers),
                              "--batch", str(args.batch), "--size", str(args.size), "--rounds",
                              "2"], check=True, capture_output=True, text=True).stdout
        strata.append(float(re.findall(r"([0-9.]+) images/s", out)[-1]))  # the warm epoch
        pytorch.append(torch_round(loader))
        print(f"strata {strata[-1]:8.1f} images/s   PyTorch DataLoader {pytorch[-1]:8.1f} images/s",
              flush=True)
    s, p = statistics.median(strata), statistics.median(pytorch)
    print(f"{len(dataset)} images, {args.workers} workers, batch {args.batch}, {args.size}x"
          f"{args.size}: medians strata {s:.1f}, PyTorch {p:.1f} images/s; strata / PyTorch "
          f"{s / p:.2f}")


if __name__ == "__main__":
    main()
