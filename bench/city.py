"""A city-sized registry to measure with: 140 communities, 1,225 buildings, 40,000 households.

The sizes are Jiaxing's to the end of 2020 (see the domain notes).
"""

from __future__ import annotations

import csv
from pathlib import Path

COMMUNITIES = 140
BUILDINGS = 1225
HOUSEHOLDS = 40_000
UNITS_PER_BUILDING = 3


def write_city(folder: Path) -> tuple[Path, Path]:
    """Write communities.csv and households.csv for the city; returns their paths."""
    communities = folder / "communities.csv"
    households = folder / "households.csv"
    with open(communities, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["小区", "所属区", "交付年份", "维修资金"])
        for c in range(COMMUNITIES):
            writer.writerow([f"小区{c:03d}", "南湖区", 1980 + c % 30, "否" if c % 3 else "是"])
    with open(households, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["小区", "楼栋", "单元", "室"])
        for h in range(HOUSEHOLDS):
            building = h % BUILDINGS
            slot = h // BUILDINGS
            unit, floor_room = slot % UNITS_PER_BUILDING + 1, slot // UNITS_PER_BUILDING
            writer.writerow(
                [f"小区{building % COMMUNITIES:03d}", f"{building}幢", unit, 101 + floor_room]
            )
    return communities, households
