#!/usr/bin/python3
"""Writes tests/image/messy/ for tests/test_image.cpp: the JPEG and PNG variants a folder of
photos holds, each with PIL 9.4's Image.open(f).convert("RGB") as the reference, and the files
strata must refuse. The picture is golden/photo.png downsized to 37x29 (neither side a multiple of
a JPEG block, to exercise the edges).

  <name>.jpg/.png, <name>.ppm     a decodable file and PIL's RGB pixels (binary PPM, P6)
      jpeg_420, jpeg_444          baseline YCbCr, 4:2:0 and 4:4:4 chroma
      jpeg_progressive            progressive 4:2:0
      jpeg_grey                   one component
      jpeg_cmyk                   Adobe (inverted) CMYK, as PIL writes it
      jpeg_exif_rotated           EXIF orientation 6, which PIL does not apply
      png_grey, png_grey_alpha, png_rgb, png_rgba
      png_palette                 16 colours at 4 bits a pixel
      png_palette_trns            256 colours, one of them transparent (tRNS)
      png_rgb16                   16-bit RGB, hand-written (PIL cannot write one)
      png_grey16                  16-bit grey: the reference is the high byte, strata's choice;
                                  PIL opens it as mode "I" and clips to 255 (see below)
  draft_<name>_<w>x<h>.ppm        Image.open(f); f.draft("RGB", (w, h)); convert("RGB")
  truncated.jpg, truncated.png    the first half of jpeg_420.jpg, png_rgb.png: PIL raises
  no_eoi.jpg                      jpeg_420.jpg without its end marker: PIL raises too
  no_iend.png, no_iend.ppm        png_rgb.png without its IEND chunk, which PIL reads
  notes.jpg                       text named .jpg
  tiny.gif, tiny.bmp              formats strata does not read
  huge.jpg, huge.png              headers claiming 60000x60000 (JPEG's limit is 65500) and
                                  100000x100000: PIL raises DecompressionBombError
  zero_height.jpg, zero_width.png headers claiming no pixels

Run with Debian's python (PIL 9.4): /usr/bin/python3 tests/image/make_messy_images.py
"""

import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MESSY = os.path.join(HERE, "messy")
DRAFTS = [("jpeg_420", 4, 3), ("jpeg_420", 9, 7), ("jpeg_420", 12, 9), ("jpeg_444", 9, 7),
          ("jpeg_progressive", 9, 7), ("jpeg_grey", 12, 9), ("jpeg_cmyk", 9, 7)]


def path(name):
    return os.path.join(MESSY, name)


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def write_ppm(name, rgb):
    rgb = np.asarray(rgb, dtype=np.uint8)
    write(name, b"P6\n%d %d\n255\n" % (rgb.shape[1], rgb.shape[0]) + rgb.tobytes())


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width, height, bit_depth, colour_type, rows):
    """A PNG of raw rows (filter 0) from its header fields."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    idat = zlib.compress(b"".join(b"\0" + row for row in rows))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) +
            png_chunk(b"IEND", b""))


def with_sof_size(jpeg, width, height):
    """The JPEG with its SOF0 header's size replaced."""
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[:sof + 5] + struct.pack(">HH", height, width) + jpeg[sof + 9:]


def raises(data, error=Exception):
    try:
        Image.open(io.BytesIO(data)).convert("RGB")
    except error:
        return True
    return False


def main():
    os.makedirs(MESSY, exist_ok=True)
    photo = Image.open(os.path.join(HERE, "golden", "photo.png")).convert("RGB")
    photo = photo.resize((37, 29), Image.LANCZOS)
    rgba = photo.copy()
    rgba.putalpha(Image.linear_gradient("L").resize(photo.size))

    exif = Image.Exif()
    exif[0x0112] = 6
    photo.save(path("jpeg_420.jpg"), quality=90, subsampling=2)
    photo.save(path("jpeg_444.jpg"), quality=90, subsampling=0)
    photo.save(path("jpeg_progressive.jpg"), quality=90, progressive=True)
    photo.convert("L").save(path("jpeg_grey.jpg"), quality=90)
    photo.convert("CMYK").save(path("jpeg_cmyk.jpg"), quality=90)
    photo.save(path("jpeg_exif_rotated.jpg"), quality=90, exif=exif)
    photo.convert("L").save(path("png_grey.png"))
    rgba.convert("LA").save(path("png_grey_alpha.png"))
    photo.save(path("png_rgb.png"))
    rgba.save(path("png_rgba.png"))
    photo.quantize(16).save(path("png_palette.png"), bits=4)
    photo.quantize(256).save(path("png_palette_trns.png"), transparency=3)

    wide = np.asarray(photo, dtype=np.uint16) * 257 + np.arange(37, dtype=np.uint16)[:, None]
    write("png_rgb16.png", png_bytes(37, 29, 16, 2, [r.astype(">u2").tobytes() for r in wide]))
    grey16 = wide[:, :, 1]
    write("png_grey16.png", png_bytes(37, 29, 16, 0, [r.astype(">u2").tobytes() for r in grey16]))

    for name in sorted(os.listdir(MESSY)):
        stem, ext = os.path.splitext(name)
        if ext in (".jpg", ".png") and stem.startswith(("jpeg_", "png_")):
            write_ppm(stem + ".ppm", Image.open(path(name)).convert("RGB"))
    pil_grey16 = np.asarray(Image.open(path("png_grey16.png")).convert("RGB"))[:, :, 0]
    high = (grey16 >> 8).astype(np.uint8)
    write_ppm("png_grey16.ppm", np.repeat(high[:, :, None], 3, axis=2))
    print("png_grey16: PIL's convert('RGB') differs from the high byte on %d of %d pixels"
          % (np.count_nonzero(pil_grey16 != high), high.size))

    for stem, w, h in DRAFTS:
        im = Image.open(path(stem + ".jpg"))
        im.draft("RGB", (w, h))
        write_ppm("draft_%s_%dx%d.ppm" % (stem, w, h), im.convert("RGB"))

    jpeg = open(path("jpeg_420.jpg"), "rb").read()
    png = open(path("png_rgb.png"), "rb").read()
    write("truncated.jpg", jpeg[:len(jpeg) // 2])
    write("truncated.png", png[:len(png) // 2])
    write("no_eoi.jpg", jpeg[:-2])
    write("no_iend.png", png[:-12])
    write_ppm("no_iend.ppm", Image.open(path("no_iend.png")).convert("RGB"))
    write("notes.jpg", b"Not a picture: the notes of a photo folder.\n")
    photo.crop((0, 0, 8, 8)).save(path("tiny.gif"))
    photo.crop((0, 0, 8, 8)).save(path("tiny.bmp"))
    write("huge.jpg", with_sof_size(jpeg, 60000, 60000))
    write("huge.png", png_bytes(100000, 100000, 8, 0, [])[:33] +
          png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b""))
    write("zero_height.jpg", with_sof_size(jpeg, 37, 0))
    write("zero_width.png", png_bytes(0, 29, 8, 0, [])[:33] + png_chunk(b"IEND", b""))

    for name in ("truncated.jpg", "truncated.png", "no_eoi.jpg", "notes.jpg", "zero_width.png"):
        assert raises(open(path(name), "rb").read()), name
    for name in ("huge.jpg", "huge.png"):
        assert raises(open(path(name), "rb").read(), Image.DecompressionBombError), name


if __name__ == "__main__":
    main()
