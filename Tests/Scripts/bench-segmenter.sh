#!/usr/bin/env bash
# The built-in segmenter against scikit-image and OpenCV, on one core (taskset -c 1).
#
# Generates 1024 x 1024 8-bit PNG images with ~100 cells each (the same files for every
# column), then measures images per second for decode + threshold + components + outlines:
#   cellhub-segment  release build, `--bench N` (libpng decode + builtin-otsu)
#   scikit-image     imageio decode, threshold_otsu + label + regionprops + find_contours
#   OpenCV           cv2.imdecode, threshold(OTSU) + connectedComponentsWithStats + findContours
# Usage: Tests/Scripts/bench-segmenter.sh [IMAGES=8] [PASSES=10]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
images=${1:-8}
passes=${2:-10}
scratch=${CELLHUB_SEGMENT_SCRATCH:-.build}
swift build -c release --scratch-path "$scratch" --product cellhub-segment >&2
binary="$scratch/release/cellhub-segment"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python - "$work" "$images" <<'PY'
import sys
sys.path.insert(0, "Tests/Scripts")
import cv2
from segmenter_reference import synthetic_cells
work, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    image, _ = synthetic_cells(1024, 1024, 100, seed=100 + i)
    cv2.imwrite(f"{work}/cells-{i:02d}.png", image)
PY
ours=$(taskset -c 1 "$binary" --bench "$passes" "$work"/*.png | tee /dev/stderr | sed -n 's/^BENCH images_per_s=\([0-9.e+-]*\).*/\1/p')
taskset -c 1 .venv/bin/python - "$work" "$passes" "$ours" <<'PY'
import glob, sys, time
sys.path.insert(0, "Tests/Scripts")
import cv2, imageio.v3 as iio, numpy as np
from segmenter_reference import opencv_pipeline, skimage_pipeline
cv2.setNumThreads(1)
work, passes, ours = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
files = [open(p, "rb").read() for p in sorted(glob.glob(f"{work}/*.png"))]

def rate(run, passes):
    for data in files:
        run(data)  # warm-up
    start = time.perf_counter()
    for _ in range(passes):
        for data in files:
            run(data)
    return passes * len(files) / (time.perf_counter() - start)

sk = rate(lambda d: skimage_pipeline(iio.imread(d, extension=".png")), max(1, passes // 2))
cvr = rate(lambda d: opencv_pipeline(cv2.imdecode(np.frombuffer(d, np.uint8), cv2.IMREAD_GRAYSCALE)), passes)
counts = [len(skimage_pipeline(iio.imread(d, extension=".png"))) for d in files]
print(f"\n{len(files)} images 1024x1024 8-bit PNG, ~{sum(counts) // len(files)} cells each, one core (taskset -c 1)")
print(f"{'pipeline':<18}{'images/s':>10}{'ms/image':>10}{'vs cellhub':>12}")
for name, value in [("cellhub-segment", ours), ("scikit-image", sk), ("OpenCV", cvr)]:
    print(f"{name:<18}{value:>10.1f}{1000 / value:>10.2f}{ours / value:>11.2f}x")
PY
