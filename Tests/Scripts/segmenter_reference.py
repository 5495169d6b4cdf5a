"""Synthetic cell images and the scikit-image / OpenCV references for the built-in segmenter.

Used by Tests/Python/test_segmenter_reference.py (agreement) and bench-segmenter.sh (speed).
Cells are anti-aliased ellipses (pixel value = covered fraction, from the distance to the
outline), placed without overlap on a flat or sloped background with Gaussian noise.
"""
from __future__ import annotations

import numpy as np

MIN_AREA = 16  # the built-in segmenter drops smaller objects; the references do the same


def synthetic_cells(width=1024, height=1024, count=100, radius=(8.0, 16.0), seed=0, noise=6.0,
                    background=30.0, foreground=170.0, gradient=0.0, elongation=(1.0, 1.6)):
    """A uint8 image and the list of ellipses (cx, cy, a, b, angle) drawn in it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    image = np.full((height, width), background, dtype=np.float64)
    if gradient:
        image += gradient * (xx / width)
    cells = []
    attempts = 0
    while len(cells) < count and attempts < count * 200:
        attempts += 1
        b = rng.uniform(*radius)
        a = b * rng.uniform(*elongation)
        cx = rng.uniform(a + 3, width - a - 3)
        cy = rng.uniform(a + 3, height - a - 3)
        if any((cx - x) ** 2 + (cy - y) ** 2 < (a + aa + 4) ** 2 for x, y, aa, _, _ in cells):
            continue
        cells.append((cx, cy, a, b, rng.uniform(0, np.pi)))
    coverage = np.zeros((height, width))
    for cx, cy, a, b, angle in cells:
        x0, x1 = int(max(cx - a - 2, 0)), int(min(cx + a + 3, width))
        y0, y1 = int(max(cy - a - 2, 0)), int(min(cy + a + 3, height))
        dx, dy = xx[y0:y1, x0:x1] - cx, yy[y0:y1, x0:x1] - cy
        c, s = np.cos(angle), np.sin(angle)
        u, v = dx * c + dy * s, -dx * s + dy * c
        r = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        # signed distance to the outline, approximately, in pixels (scaled by the local radius)
        scale = np.sqrt(u * u + v * v) / np.maximum(r, 1e-9)
        distance = (1 - r) * scale
        coverage[y0:y1, x0:x1] = np.maximum(coverage[y0:y1, x0:x1], np.clip(distance + 0.5, 0, 1))
    image += (foreground - background) * coverage
    image += rng.normal(0, noise, size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), cells


def skimage_reference(image, min_area=MIN_AREA):
    """threshold_otsu + label + regionprops: the areas of objects >= min_area, raster order."""
    from skimage.filters import threshold_otsu
    from skimage.measure import label, regionprops

    labels = label(image > threshold_otsu(image))
    return [r.area for r in regionprops(labels) if r.area >= min_area]


def skimage_pipeline(image):
    """The benchmark's scikit-image column: threshold, label, regionprops, outlines."""
    from skimage.filters import threshold_otsu
    from skimage.measure import find_contours, label, regionprops

    labels = label(image > threshold_otsu(image))
    cells = []
    for region in regionprops(labels):
        if region.area < MIN_AREA:
            continue
        minr, minc, maxr, maxc = region.bbox
        mask = np.pad(region.image, 1)
        contour = find_contours(mask.astype(np.uint8), 0.5)[0]
        cells.append((region.area, region.centroid, contour + (minr - 1, minc - 1)))
    return cells


def opencv_pipeline(image):
    """The benchmark's OpenCV column: Otsu threshold, components with stats, outer contours."""
    import cv2

    _, binary = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    keep = stats[1:, cv2.CC_STAT_AREA] >= MIN_AREA
    return int(keep.sum()), contours
