#!/usr/bin/python3
"""PyTorch reference for strata's main Fashion-MNIST job (SimpleCNN).

Establishes the test accuracy PyTorch reaches with the same recipe:
  SimpleCNN (421,642 params, PyTorch default init), Adam(lr=1e-3), batch 64,
  CrossEntropyLoss, training set reshuffled every epoch with a seeded
  generator, 3 epochs; inputs = pixels/255 normalised with mean 0.2860,
  std 0.3530 (Fashion-MNIST statistics; --no-normalize keeps pixels/255).
After each epoch it prints train loss, test accuracy and epoch time
(training only; evaluation is timed separately), then the final accuracy.

Usage (Debian's interpreter has torch 1.13; the pyenv python3 does not):
    /usr/bin/python3 bench/pytorch_fashion_mnist.py
    /usr/bin/python3 bench/pytorch_fashion_mnist.py --seed 2 --epochs 3 --threads 2
Flags: --epochs (3) --batch (64) --lr (1e-3) --seed (1) --threads (2)
       --data-dir (/usr/share/datasets/fashion-mnist) --no-normalize

Data: gzip IDX files {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz read with
plain gzip + numpy (no torchvision, no network).
The last partial batch is kept (60000 = 937*64 + 32 -> 938 steps per epoch).
The environment may set OPENBLAS_CORETYPE=Haswell, which slows OpenBLAS; the
script re-executes itself with that variable removed (before importing torch).
"""
import os
import sys

if "OPENBLAS_CORETYPE" in os.environ:
    env = dict(os.environ)
    del env["OPENBLAS_CORETYPE"]
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import argparse
import gzip
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_models import simple_cnn  # noqa: E402

MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    assert magic >> 8 == 0x08, f"{path}: not an unsigned-byte IDX file"
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load(data_dir, split, normalize):
    x = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)
    if normalize:
        x = (x - MEAN) / STD
    return x.contiguous(), torch.from_numpy(y.astype(np.int64))


@torch.inference_mode()
def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description="PyTorch SimpleCNN Fashion-MNIST reference")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--no-normalize", action="store_true", help="use pixels/255 without mean/std")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    xtr, ytr = load(args.data_dir, "train", not args.no_normalize)
    xte, yte = load(args.data_dir, "t10k", not args.no_normalize)
    model = simple_cnn()
    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, params={nparams}, "
          f"train={len(xtr)} test={len(xte)}, epochs={args.epochs} batch={args.batch} "
          f"lr={args.lr} seed={args.seed} normalize={not args.no_normalize}", flush=True)

    acc = evaluate(model, xte, yte)
    print(f"epoch 0: test acc {acc * 100:.2f}% (untrained)", flush=True)
    total_train = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        t0 = time.perf_counter()
        loss_sum, n = 0.0, 0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            n += len(idx)
        t_train = time.perf_counter() - t0
        total_train += t_train
        t1 = time.perf_counter()
        acc = evaluate(model, xte, yte)
        t_eval = time.perf_counter() - t1
        print(f"epoch {epoch}: train loss {loss_sum / n:.4f}  test acc {acc * 100:.2f}%  "
              f"epoch time {t_train:.1f} s ({n / t_train:.0f} img/s)  eval {t_eval:.1f} s", flush=True)
    print(f"final test accuracy: {acc * 100:.2f}%  (total train time {total_train:.1f} s)")


if __name__ == "__main__":
    main()
