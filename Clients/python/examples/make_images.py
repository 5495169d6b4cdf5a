"""Write synthetic microscopy-like images (grayscale PNGs of bright, roughly round cells on a
dim, uneven background) for trying CellHub without data of your own.

    python Clients/python/examples/make_images.py demo-images 24

Each image holds 5 to 40 cells; the seed is the image's number, so reruns write the same files.
Needs only the standard library.
"""
from __future__ import annotations

import argparse
import random
import struct
import zlib
from pathlib import Path


def cells_png(seed: int, size: int = 256) -> bytes:
    rng = random.Random(seed)
    cells = [(rng.uniform(10, size - 10), rng.uniform(10, size - 10), rng.uniform(4, 12)) for _ in range(rng.randint(5, 40))]
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # PNG filter: none
        for x in range(size):
            value = 25 + 15 * x / size + rng.randint(0, 8)
            for cx, cy, r in cells:
                d2 = (x - cx) ** 2 + (y - cy) ** 2
                if d2 < r * r:
                    value = max(value, 200 - 60 * d2 / (r * r))
            rows.append(min(255, int(value)))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("count", type=int, nargs="?", default=24)
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    for number in range(args.count):
        (args.folder / f"cells-{number:03}.png").write_bytes(cells_png(number))
    print(f"wrote {args.count} images to {args.folder}")


if __name__ == "__main__":
    main()
