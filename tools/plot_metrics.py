#!/usr/bin/python3
"""Plots a training run's metrics CSV (fashion_mnist --metrics-csv FILE) to a PNG: loss on the
left and accuracy on the right, against the training step; training rows as lines (averages over
each logging window), test rows (after every epoch) as markers, top-5 test accuracy dashed.

    /usr/bin/python3 tools/plot_metrics.py metrics.csv curves.png

Needs matplotlib (Debian: python3-matplotlib).
"""

import csv
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    rows = {"train": [], "test": []}
    with open(argv[1], newline="") as f:
        for row in csv.DictReader(f):
            rows[row["split"]].append(row)

    def column(split, name):
        return [float(r[name]) for r in rows[split]]

    figure, (loss, accuracy) = plt.subplots(1, 2, figsize=(11, 4))
    for split, style in (("train", "-"), ("test", "o-")):
        if rows[split]:
            steps = column(split, "step")
            loss.plot(steps, column(split, "loss"), style, label=split)
            accuracy.plot(steps, [100 * a for a in column(split, "accuracy")], style,
                          label=f"{split} top-1")
    if rows["test"]:
        accuracy.plot(column("test", "step"),
                      [100 * a for a in column("test", "top5_accuracy")], "s--",
                      label="test top-5")
    loss.set(title="cross-entropy loss", xlabel="step", ylabel="loss")
    accuracy.set(title="accuracy", xlabel="step", ylabel="%")
    for axes in (loss, accuracy):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(argv[2], dpi=80)
    print(f"wrote {argv[2]}")


if __name__ == "__main__":
    main(sys.argv)
