#!/usr/bin/python3
"""PyTorch reference benchmark for the "SimpleCNN" Fashion-MNIST network.

Network (421,642 parameters):
    Conv2d(1,32,3,p=1) ReLU MaxPool2d(2) Conv2d(32,64,3,p=1) ReLU MaxPool2d(2)
    Flatten Linear(3136,128) ReLU Linear(128,10)

Measures, on random data (1x28x28 inputs, 10 classes):
  (a) training step at batch --batch (default 64): forward, CrossEntropyLoss,
      backward, Adam(lr=1e-3).step(), zero_grad -> images/s
      (median over --reps repetitions of --steps steps, after warm-up);
  (b) inference latency at batch 1 (eval mode, torch.inference_mode)
      -> median microseconds over --latency-runs runs;
  (c) inference throughput at batch --batch -> images/s (median of --reps).

Usage (use Debian's interpreter: it has torch 1.13; the pyenv python3 does not):
    /usr/bin/python3 bench/pytorch_simplecnn.py                # 2 threads, table
    /usr/bin/python3 bench/pytorch_simplecnn.py --threads 1
    /usr/bin/python3 bench/pytorch_simplecnn.py --threads 2 --json   # one JSON line on stdout

Options: --threads N (default 2; torch.set_num_threads is always called
explicitly because PyTorch defaults to 1 thread on this machine), --batch,
--steps, --reps, --warmup, --latency-runs, --seed, --json.

With --json, stdout is exactly one JSON object:
    {"train_images_per_s":..., "infer_latency_us":..., "infer_b64_images_per_s":...,
     "threads":..., "torch_version":..., ...}
(plus *_best fields: max images/s and min latency over repetitions, which are
more robust than medians when other jobs share the 2 cores, and min/max spreads).
and the human-readable information (parallel_info, MKLDNN) goes to stderr.

The environment may set OPENBLAS_CORETYPE=Haswell, which slows OpenBLAS; the
script re-executes itself with that variable removed (before importing torch).
Other processes (e.g. C++ compilation) running at the same time make the
numbers noisy: on a 2-core machine, benchmark on an idle system.
"""
import os
import sys

if "OPENBLAS_CORETYPE" in os.environ:
    env = dict(os.environ)
    del env["OPENBLAS_CORETYPE"]
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_models import simple_cnn  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=50, help="training steps per timed repetition")
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions (median taken)")
    ap.add_argument("--warmup", type=int, default=10, help="warm-up steps/runs")
    ap.add_argument("--latency-runs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    info = sys.stderr if args.json else sys.stdout

    pinfo = torch.__config__.parallel_info().strip().splitlines()
    mkldnn = torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
    # parallel_info()'s first line is only the "ATen/Parallel:" header; add the lines that matter.
    keep = [l.strip() for l in pinfo[1:] if l.strip().startswith(("at::get_num_threads", "ATen parallel backend", "Intel(R) MKL-DNN", "MKL "))]
    print(f"torch {torch.__version__}; parallel_info: {pinfo[0]} " + "; ".join(keep), file=info)
    show = torch.__config__.show()
    blas = [t for t in show.replace(",", " ").split() if t.startswith("BLAS_INFO=")]
    cap = [l.split(":", 1)[1].strip() for l in show.splitlines() if "CPU capability usage" in l]
    print(f"{' '.join(blas)}; CPU capability: {cap[0] if cap else 'n/a'}", file=info)
    print(f"torch.get_num_threads() = {torch.get_num_threads()}; "
          f"MKLDNN available+enabled: {mkldnn}; "
          f"OPENBLAS_CORETYPE set: {'OPENBLAS_CORETYPE' in os.environ}", file=info)

    model = simple_cnn()
    nparams = sum(p.numel() for p in model.parameters())
    assert nparams == 421642, nparams
    B = args.batch

    # ---- (a) training step ----
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(B, 1, 28, 28)
    y = torch.randint(0, 10, (B,))

    def step():
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    for _ in range(args.warmup):
        step()
    train_rates = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        dt = time.perf_counter() - t0
        train_rates.append(args.steps * B / dt)
    train_ips = statistics.median(train_rates)

    # ---- (b) latency at batch 1, (c) throughput at batch B ----
    model.eval()
    x1 = torch.randn(1, 1, 28, 28)
    xb = torch.randn(B, 1, 28, 28)
    with torch.inference_mode():
        for _ in range(max(args.warmup, 50)):
            model(x1)
        lat = []
        for _ in range(args.latency_runs):
            t0 = time.perf_counter()
            model(x1)
            lat.append((time.perf_counter() - t0) * 1e6)
        lat_us = statistics.median(lat)

        for _ in range(args.warmup):
            model(xb)
        infer_rates = []
        iters = max(args.steps * 2, 1)
        for _ in range(args.reps):
            t0 = time.perf_counter()
            for _ in range(iters):
                model(xb)
            dt = time.perf_counter() - t0
            infer_rates.append(iters * B / dt)
        infer_ips = statistics.median(infer_rates)

    res = {
        "train_images_per_s": round(train_ips, 1),
        "infer_latency_us": round(lat_us, 1),
        "infer_b64_images_per_s": round(infer_ips, 1),
        "threads": args.threads,
        "torch_version": torch.__version__,
        "batch": B,
        "train_images_per_s_min_max": [round(min(train_rates), 1), round(max(train_rates), 1)],
        "infer_latency_us_p10_p90": [round(q, 1) for q in
                                     (statistics.quantiles(lat, n=10)[0], statistics.quantiles(lat, n=10)[-1])],
        # best-of values are more robust than medians when other jobs share the 2 cores
        "train_images_per_s_best": round(max(train_rates), 1),
        "infer_latency_us_best": round(min(lat), 1),
        "infer_b64_images_per_s_best": round(max(infer_rates), 1),
        "mkldnn": bool(mkldnn),
    }
    if args.json:
        print(json.dumps(res))
    else:
        print(f"\nSimpleCNN ({nparams} params), PyTorch {torch.__version__}, threads={args.threads}")
        print(f"{'metric':<38}{'value':>14}")
        print(f"{'train step b%d (images/s, median)' % B:<38}{train_ips:>14.1f}")
        print(f"{'  min / max over reps':<38}{min(train_rates):>7.1f}/{max(train_rates):.1f}")
        print(f"{'  ms per step':<38}{B / train_ips * 1e3:>14.2f}")
        print(f"{'infer latency b1 (us, median)':<38}{lat_us:>14.1f}")
        print(f"{'  p10 / p90 (us)':<38}{res['infer_latency_us_p10_p90'][0]:>7.1f}/{res['infer_latency_us_p10_p90'][1]:.1f}")
        print(f"{'infer throughput b%d (images/s)' % B:<38}{infer_ips:>14.1f}")
        print(f"{'  min / max over reps':<38}{min(infer_rates):>7.1f}/{max(infer_rates):.1f}")


if __name__ == "__main__":
    main()
