#!/usr/bin/env python3
"""tools/idx-to-folder on a small IDX pair written here: the class folders sort into label order
(12 classes, so the labels are zero-padded), every PNG decodes (with zlib, no PIL) back to its
IDX pixels, --per-class keeps the first N or a seeded draw, and a truncated IDX file is refused
with its name.

    test_idx_to_folder.py WORK_DIR
"""

import gzip
import os
import random
import shutil
import struct
import subprocess
import sys
import zlib

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                    "idx-to-folder")


def write_idx(path, dims, data):
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + data)


def decode_grey_png(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        payload = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", payload[:8])
        elif kind == b"IDAT":
            idat += payload
        pos += 12 + length
    rows = zlib.decompress(idat)
    stride = width + 1
    assert all(rows[y * stride] == 0 for y in range(height)), "unfiltered rows expected"
    return width, height, b"".join(rows[y * stride + 1:(y + 1) * stride] for y in range(height))


def run(*args, ok=True):
    result = subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True)
    if (result.returncode == 0) != ok:
        sys.exit(f"idx-to-folder {' '.join(args)}: exit {result.returncode}\n{result.stderr}")
    return result


def main():
    work = sys.argv[1]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rng = random.Random(3)
    count, height, width, classes = 60, 5, 4, 12
    pixels = bytes(rng.randrange(256) for _ in range(count * height * width))
    labels = bytes(i % classes for i in range(count))
    images_path, labels_path = os.path.join(work, "images.gz"), os.path.join(work, "labels.gz")
    write_idx(images_path, (count, height, width), pixels)
    write_idx(labels_path, (count,), labels)

    root = os.path.join(work, "all")
    run(images_path, labels_path, root)
    folders = sorted(os.listdir(root))
    assert folders == [f"{c:02d}_{c}" for c in range(classes)], folders
    for c, folder in enumerate(folders):
        files = sorted(os.listdir(os.path.join(root, folder)))
        assert files == [f"{i:02d}.png" for i in range(c, count, classes)], (folder, files)
        for name in files:
            i = int(name[:-4])
            w, h, got = decode_grey_png(os.path.join(root, folder, name))
            want = pixels[i * height * width:(i + 1) * height * width]
            assert (w, h, got) == (width, height, want), f"{folder}/{name} differs from image {i}"

    first = os.path.join(work, "first")
    run(images_path, labels_path, first, "--per-class", "2")
    assert sorted(os.listdir(os.path.join(first, "03_3"))) == ["03.png", "15.png"]
    drawn = [os.path.join(work, f"drawn{k}") for k in range(2)]
    for path in drawn:
        run(images_path, labels_path, path, "--per-class", "2", "--seed", "7")
    assert all(sorted(os.listdir(os.path.join(drawn[0], f))) ==
               sorted(os.listdir(os.path.join(drawn[1], f))) for f in folders)
    run(images_path, labels_path, os.path.join(work, "too_many"), "--per-class", "6", ok=False)

    truncated = os.path.join(work, "truncated.gz")
    write_idx(truncated, (count, height, width), pixels[:-1])
    message = run(truncated, labels_path, os.path.join(work, "bad"), ok=False).stderr
    assert "truncated.gz" in message and "holds" in message, message
    print("test_idx_to_folder: passed")


if __name__ == "__main__":
    main()
