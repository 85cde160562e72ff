"""Display simplification keeps shared borders (coverage simplification)."""

from __future__ import annotations

import numpy as np
import shapely

from geodata.display import simplify_coverage


def wavy_coverage(n=4, points=200):
    """n x n squares whose vertical inner borders are wiggly lines (shared exactly)."""
    xs = np.linspace(0, 1, points)
    borders = [np.column_stack([k + 0.01 * np.sin(40 * xs), xs]) for k in range(n + 1)]
    cells = []
    for i in range(n):
        left, right = borders[i], borders[i + 1]
        ring = np.vstack([left, right[::-1]])
        cells.append(shapely.Polygon(ring))
    return np.array(cells, dtype=object)


def test_coverage_simplify_keeps_shared_borders_and_reduces_vertices():
    cells = wavy_coverage()
    simplified = simplify_coverage(cells, 0.02)
    assert shapely.get_num_coordinates(simplified).sum() < shapely.get_num_coordinates(cells).sum()
    assert shapely.is_valid(simplified).all()
    # No gap nor overlap: the areas add up to the area of the union.
    union = shapely.union_all(simplified)
    assert abs(shapely.area(simplified).sum() - union.area) < 1e-9
    # Neighbours still share a border line, not just points.
    shared = shapely.intersection(simplified[0], simplified[1])
    assert shared.length > 0.9


def test_empty_geometries_stay_empty_and_groups_are_separate():
    cells = list(wavy_coverage(2))
    island = shapely.box(10, 10, 10.5, 10.5)
    geoms = np.array(cells + [shapely.Polygon(), island], dtype=object)
    out = simplify_coverage(geoms, 0.02, groups=["m", "m", "m", "d"])
    assert out[2].is_empty
    assert out[3].equals(island)
