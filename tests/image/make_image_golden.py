#!/usr/bin/python3
"""Writes tests/image/golden/ for tests/test_image.cpp and tests/test_image_folder.cpp, with PIL,
torchvision and numpy as the reference:

  photo.png             a 64x77 RGB photograph (Grace Hopper, matplotlib's public-domain sample,
                        downsized with PIL's LANCZOS): the committed input
  resized_48.png        transforms.Resize(48) of it: shrinking, PIL's antialiased bilinear
  resized_80.png        transforms.Resize(80): enlarging, plain bilinear
  crop_80_75.png        CenterCrop(75) of resized_80 (offsets 2.5 and 10.5 round down to even)
  tensor_48_41.f32      Resize(48), CenterCrop(41) (offset 3.5 rounds up), ToTensor, Normalize
                        with ImageNet's statistics: [3, 41, 41] float32, little-endian
  bicubic_40x48.png     photo.resize((40, 48), BICUBIC): shrinking, the cubic stretched
  bicubic_90x100.png    photo.resize((90, 100), BICUBIC): enlarging (the negative lobes clip)
  lite_eval_29.f32      EfficientNet-Lite's evaluation preprocessing at size 29 (TensorFlow's
                        centre crop of 29 / 61 of the short side, 30 pixels at offsets 17 and 24
                        rounded up, BICUBIC to 29x29, (v - 127) / 128): [3, 29, 29] float32
  resized_crop.png      F.resized_crop(photo, top 5, left 7, height 40, width 30, (20, 24)):
                        RandomResizedCrop's resampling of a drawn box, BILINEAR
  crop_fallback.txt     RandomResizedCrop.get_params where no try can succeed (scale above 1):
                        "width height ratio_min ratio_max -> top left height width", the
                        central fallback
  colours.png           a 32x32 RGB input for the colour transforms, seeded numpy draws: 24 rows
                        of uniform random pixels, then greys, primaries and secondaries (ties
                        of the largest channel), and saturated and dark pixels
  color_jitter.txt      the ColorJitter cases, one a line: "order brightness contrast
                        saturation hue", "-" for an adjustment switched off
  color_jitter.png      ColorJitter's forward on colours.png for each case, its get_params
                        replaced by the fixed draw: the outputs stacked, 32 rows each
  lighting.f32          PCA lighting (fb.resnet.torch's Lighting) on colours.png with ImageNet's
                        components and the alphas LIGHTING_ALPHA, numpy: the offsets
                        eigvec * alpha * eigval summed per channel in float64, then float32
                        ((v / 255 + offset) - mean) / std with ImageNet's statistics:
                        [3, 32, 32] float32
  pca.txt               numpy's eigh of np.cov of the pixels of photo.png and colours.png as
                        v / 255: the eigenvalues, largest first, on the first line, then the
                        rows of the eigenvector matrix (components as columns, each turned so
                        that its entry of largest magnitude is positive)
  ten_crop.png          TenCrop(6) of the 13x11 top left of colours.png (centre offsets 3.5 and
                        2.5 round to the even 4 and 2): the ten 6x6 crops stacked in its order
  mini_net.safetensors  a reduced classifier, seeded random weights and BatchNorm statistics:
                        Conv(3->8, 3, s2) BN ReLU Conv(8->16, 3, s2) BN ReLU AvgPool(1) Flatten
                        Linear(16->100)
  mini_net_top5.txt     its eval-mode logits on that tensor: the top 5 as "index logit
                        probability", from float64 arithmetic on the float32 weights
  mini_net_ten_crop.txt its softmax averaged over Resize(48), TenCrop(41), ToTensor, Normalize
                        of the photo, float64 as above: the top 5 as "index probability"

Run with Debian's python (torch 1.13, torchvision 0.14, PIL 9.4):
    /usr/bin/python3 tests/image/make_image_golden.py
"""

import os
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from torchvision import transforms
from torchvision.transforms import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
from torch_to_safetensors import randomize_batchnorms, save_safetensors  # noqa: E402

SOURCE = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"
GOLDEN = os.path.join(HERE, "golden")
IMAGENET = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def mini_net():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 100))


# (order, brightness, contrast, saturation, hue): each adjustment alone on both sides of its
# identity (factors above 1 clip), then all four in several orders.
JITTER_CASES = [
    ([0, 1, 2, 3], 0.6, None, None, None), ([0, 1, 2, 3], 1.7, None, None, None),
    ([0, 1, 2, 3], None, 0.0, None, None), ([0, 1, 2, 3], None, 0.55, None, None),
    ([0, 1, 2, 3], None, 1.9, None, None), ([0, 1, 2, 3], None, None, 0.3, None),
    ([0, 1, 2, 3], None, None, 1.6, None), ([0, 1, 2, 3], None, None, None, 0.1),
    ([0, 1, 2, 3], None, None, None, -0.05), ([0, 1, 2, 3], None, None, None, -0.5),
    ([0, 1, 2, 3], None, None, None, 0.5), ([3, 2, 1, 0], 1.3, 0.7, 1.4, 0.21),
    ([1, 3, 0, 2], 0.8, 1.25, 0.6, -0.33), ([2, 0, 3, 1], 1.1, 0.9, 0.0, 0.07),
]


LIGHTING_ALPHA = [0.05, -0.12, 0.2]
IMAGENET_EIGVAL = np.array([0.2175, 0.0188, 0.0045])
IMAGENET_EIGVEC = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                            [-0.5836, -0.6948, 0.4203]])


def colours_image():
    rng = np.random.default_rng(12)
    pixels = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    special = [(0, 0, 0), (255, 255, 255), (128, 128, 128), (7, 7, 7), (255, 0, 0), (0, 255, 0),
               (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255), (200, 200, 13),
               (13, 200, 200), (200, 13, 200), (1, 0, 0), (0, 1, 1), (254, 255, 254)]
    pixels[24, :16] = special
    pixels[24, 16:] = special[::-1]
    pixels[25:28] = rng.integers(0, 8, size=(3, 32, 3))  # dark: small differences
    saturated = pixels[28:32].copy()
    saturated[..., 0] = 255  # one channel at the maximum, one at zero
    saturated[..., 2] = 0
    pixels[28:32] = saturated
    return Image.fromarray(pixels, "RGB")


def color_jitter(image, case):
    order, *factors = case
    jitter = transforms.ColorJitter(0.9, 0.9, 0.9, 0.5)
    jitter.get_params = lambda *ranges: (torch.tensor(order), *factors)
    return jitter(image)


def stack(images):
    out = Image.new("RGB", (images[0].width, sum(i.height for i in images)))
    top = 0
    for image in images:
        out.paste(image, (0, top))
        top += image.height
    return out


def main():
    os.makedirs(GOLDEN, exist_ok=True)
    photo_path = os.path.join(GOLDEN, "photo.png")
    if not os.path.exists(photo_path):  # the committed input stays fixed once written
        Image.open(SOURCE).convert("RGB").resize((64, 77), Image.LANCZOS).save(photo_path)
    photo = Image.open(photo_path).convert("RGB")

    transforms.Resize(48)(photo).save(os.path.join(GOLDEN, "resized_48.png"))
    resized_80 = transforms.Resize(80)(photo)
    resized_80.save(os.path.join(GOLDEN, "resized_80.png"))
    transforms.CenterCrop(75)(resized_80).save(os.path.join(GOLDEN, "crop_80_75.png"))

    tensor = transforms.Compose([transforms.Resize(48), transforms.CenterCrop(41),
                                 transforms.ToTensor(), IMAGENET])(photo)  # [3, 41, 41]
    tensor.numpy().astype("<f4").tofile(os.path.join(GOLDEN, "tensor_48_41.f32"))

    photo.resize((40, 48), Image.BICUBIC).save(os.path.join(GOLDEN, "bicubic_40x48.png"))
    photo.resize((90, 100), Image.BICUBIC).save(os.path.join(GOLDEN, "bicubic_90x100.png"))
    size = 29
    crop = int(np.float32(size / (size + 32)) * np.float32(min(photo.size)))
    top, left = (photo.size[1] - crop + 1) // 2, (photo.size[0] - crop + 1) // 2
    square = photo.crop((left, top, left + crop, top + crop)).resize((size, size), Image.BICUBIC)
    lite = (np.asarray(square, dtype=np.float32) - np.float32(127)) / np.float32(128)  # [H, W, 3]
    lite.transpose(2, 0, 1).astype("<f4").tofile(os.path.join(GOLDEN, "lite_eval_29.f32"))

    F.resized_crop(photo, 5, 7, 40, 30, [24, 20]).save(os.path.join(GOLDEN, "resized_crop.png"))
    with open(os.path.join(GOLDEN, "crop_fallback.txt"), "w") as f:
        for width, height, ratio in [(40, 10, (3 / 4, 4 / 3)), (10, 40, (3 / 4, 4 / 3)),
                                     (30, 25, (3 / 4, 4 / 3)), (33, 10, (0.5, 2.0)),
                                     (7, 50, (0.25, 1.5))]:
            box = transforms.RandomResizedCrop.get_params(Image.new("RGB", (width, height)),
                                                          (2.0, 3.0), ratio)
            f.write(f"{width} {height} {ratio[0]!r} {ratio[1]!r} -> {' '.join(map(str, box))}\n")

    colours_path = os.path.join(GOLDEN, "colours.png")
    if not os.path.exists(colours_path):
        colours_image().save(colours_path)
    colours = Image.open(colours_path).convert("RGB")
    with open(os.path.join(GOLDEN, "color_jitter.txt"), "w") as f:
        for order, *factors in JITTER_CASES:
            f.write(" ".join(["".join(map(str, order))] +
                             ["-" if x is None else repr(x) for x in factors]) + "\n")
    stack([color_jitter(colours, case) for case in JITTER_CASES]).save(
        os.path.join(GOLDEN, "color_jitter.png"))

    offset = (IMAGENET_EIGVEC * np.array(LIGHTING_ALPHA) * IMAGENET_EIGVAL).sum(1)
    offset = offset.astype(np.float32)
    mean, std = (np.array(v, dtype=np.float32) for v in ([0.485, 0.456, 0.406],
                                                          [0.229, 0.224, 0.225]))
    unit = np.asarray(colours, dtype=np.float32) / np.float32(255)  # [H, W, 3]
    lit = (unit + offset - mean) / std
    lit.transpose(2, 0, 1).astype("<f4").tofile(os.path.join(GOLDEN, "lighting.f32"))

    pixels = np.concatenate([np.asarray(i, dtype=np.float64).reshape(-1, 3) / 255
                             for i in (photo, colours)])
    eigval, eigvec = np.linalg.eigh(np.cov(pixels, rowvar=False))
    eigval, eigvec = eigval[::-1], eigvec[:, ::-1]
    eigvec = eigvec * np.sign(eigvec[np.abs(eigvec).argmax(0), range(3)])
    with open(os.path.join(GOLDEN, "pca.txt"), "w") as f:
        for row in [eigval, *eigvec]:
            f.write(" ".join(f"{v!r}" for v in row) + "\n")

    stack(transforms.TenCrop(6)(colours.crop((0, 0, 13, 11)))).save(
        os.path.join(GOLDEN, "ten_crop.png"))

    torch.manual_seed(5)
    net = mini_net()
    randomize_batchnorms(net)
    net.eval()
    save_safetensors(net.state_dict(), os.path.join(GOLDEN, "mini_net.safetensors"))
    with torch.no_grad():
        logits = net.double()(tensor.double().unsqueeze(0))[0]  # [100]
    probabilities = torch.softmax(logits, 0)
    top = torch.topk(logits, 5)
    with open(os.path.join(GOLDEN, "mini_net_top5.txt"), "w") as f:
        for i in top.indices.tolist():
            f.write(f"{i} {logits[i].item():.9g} {probabilities[i].item():.9g}\n")

    crops = transforms.Compose([
        transforms.Resize(48), transforms.TenCrop(41),
        transforms.Lambda(lambda crops: torch.stack([IMAGENET(transforms.ToTensor()(c))
                                                     for c in crops]))])(photo)  # [10, 3, 41, 41]
    with torch.no_grad():
        mean_probabilities = torch.softmax(net(crops.double()), 1).mean(0)  # [100]
    with open(os.path.join(GOLDEN, "mini_net_ten_crop.txt"), "w") as f:
        for i in torch.topk(mean_probabilities, 5).indices.tolist():
            f.write(f"{i} {mean_probabilities[i].item():.9g}\n")


if __name__ == "__main__":
    main()
