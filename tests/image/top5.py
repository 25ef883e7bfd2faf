"""classify_image's printed top 5 against a reference's logits, for the parity tests."""
import re
import sys

import torch

LINE = re.compile(r"^\s+([0-9.]+)%\s+(\d+) .* logit (\S+)$")


def parse(out):
    """[(percent, class, logit)] of classify_image's output; exits when it is not a top 5."""
    got = [LINE.match(line) for line in out.splitlines()[1:]]
    if len(got) != 5 or not all(got):
        sys.exit(f"classify_image printed an unexpected top 5:\n{out}")
    return [(float(m[1]), int(m[2]), float(m[3])) for m in got]


def compare(got, logits, what, p_tolerance, logit_tolerance=float("inf")):
    """The differences of `got` from the reference's top 5 of `logits` [1000]: the same classes
    in the same order, probabilities within p_tolerance and logits within logit_tolerance."""
    probabilities = torch.softmax(logits, 0)
    want = torch.topk(logits, 5).indices.tolist()
    failures = []
    for k, ((percent, got_index, got_logit), index) in enumerate(zip(got, want)):
        p, logit = probabilities[index].item(), logits[index].item()
        print(f"  reference top {k + 1}: {index} p {p:.6f} logit {logit:.6f}; "
              f"|dp| {abs(percent / 100 - p):.2e}")
        if got_index != index:
            failures.append(f"{what}: top {k + 1} is class {got_index}, the reference's is {index}")
        elif abs(got_logit - logit) > logit_tolerance:
            failures.append(f"{what}: class {index} logit {got_logit} vs {logit}")
        elif abs(percent / 100 - p) > p_tolerance:
            failures.append(f"{what}: class {index} p {percent / 100} vs {p}")
    return failures
