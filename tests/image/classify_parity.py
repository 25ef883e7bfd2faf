#!/usr/bin/python3
"""classify_image against torchvision, end to end: a ResNet-18 with seeded random weights (and
randomised BatchNorm statistics) exported with tools/torch_to_safetensors.py, a 300x260 PNG
(the committed photo enlarged by PIL, so that Resize(256) shrinks it with antialiasing and the
crop is off-centre by a half pixel), classified by both; the top 5 must be the same classes in
the same order, with logits within 1e-4 of the largest |logit| (torchvision's computed in float64
from the same float32 weights, as tests/io/zoo_parity.py) and the probabilities equal to the
two decimals classify_image prints.

    classify_parity.py --exe build/examples/classify_image --work DIR
"""

import argparse
import os
import subprocess
import sys

import torch
from PIL import Image
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools"))
from torch_to_safetensors import random_model, save_safetensors  # noqa: E402
import top5  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exe", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)

    image_path = os.path.join(args.work, "photo_300x260.png")
    Image.open(os.path.join(HERE, "golden", "photo.png")).resize((300, 260), Image.BICUBIC).save(
        image_path)
    model = random_model("resnet18", 7)
    weights_path = os.path.join(args.work, "resnet18.safetensors")
    save_safetensors(model.state_dict(), weights_path)

    out = subprocess.run([args.exe, "--model", "resnet18", "--weights", weights_path,
                          "--threads", "1", image_path], check=True, capture_output=True,
                         text=True).stdout
    print(out)
    got = top5.parse(out)

    preprocess = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    x = preprocess(Image.open(image_path).convert("RGB")).unsqueeze(0)  # [1, 3, 224, 224]
    model.eval()
    with torch.no_grad():
        logits = model.double()(x.double())[0]  # [1000]
    # printed %.4f: half a unit of its last digit
    failures = top5.compare(got, logits, "resnet18", 0.0000005 + 1e-11,
                            1e-4 * logits.abs().max().item())
    if failures:
        sys.exit("classify_image differs from torchvision:\n  " + "\n  ".join(failures))
    print("classify_image_parity: the top 5 equal torchvision's")


if __name__ == "__main__":
    main()
