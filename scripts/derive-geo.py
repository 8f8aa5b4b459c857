#!/usr/bin/env python3
"""Derives catalogue/geo/ (the map's shapes) from BKG's VG5000 boundaries.

Usage: scripts/derive-geo.py SOURCE_DIR [CATALOGUE_DIR]

SOURCE_DIR holds geo/ (VG5000 Stand 01.01.2021 as WGS84 GeoJSON, with README.txt and BKG's licence note) and
municipalities-2025/ (GV100AD 30.11.2025 and the change list ags_changes_20211130_to_20251130.csv). The build and
the tests never run this script: its output is committed (catalogue/geo/shapes.txt, embedded into the Exporters
library) and this script documents, reproducibly, how it was made. Python standard library only.

What it does, in order:
1. Reads the Gemeinden (and gemeindefreie Gebiete) of VG5000 with their 8-digit AGS; coordinates are exact
   integers of 1e-5 degrees (the files are rounded to 5 decimals).
2. Builds a topology: rings are cut at junctions (points where the neighbours along the border change) into arcs,
   and an arc that two units share is stored once. Every later step works on arcs, so that shared borders stay
   shared (no slivers or gaps between neighbours).
3. Brings the 2021 shapes to the 2025 territory (GV100AD 30.11.2025): a Gemeinde of 2025 that has no shape of its
   own AGS gets the shapes of removed units (AGS of 2021 not in 2025) — first those of its own name in its Land
   (a re-keyed Gemeinde such as Eisenach), else the connected removed units of its Kreis; any removed unit left
   over is drawn with the neighbour (a 2025 unit, same Kreis preferred) that shares the longest border with it,
   because the change list names what was removed but not where it went. Every assignment is listed in
   catalogue/geo/README.md. Kreise and Länder are the unions of their Gemeinden of 2025.
4. Projects (equirectangular, x = longitude · cos 51°, y = −latitude: at Germany's latitudes lengths are off by
   at most ±7 % in the north–south direction, invisible on an overview map), simplifies each arc once with
   Douglas–Peucker (tolerance TOLERANCE grid units; the end points of arcs are kept, so borders still meet), and
   quantises to a grid of GRID degrees of latitude.
5. Writes catalogue/geo/shapes.txt:
       # comment lines
       G <grid> <width> <height>          the grid (degrees of latitude per unit) and the extent in units
       A <encoded points>                 one arc per line, in order (arc 0, 1, …): the first point absolute,
                                          then differences, as in Google's polyline encoding (zig-zag, 5-bit
                                          groups, characters 63–126)
       U <key> <ring>;<ring>…             a unit (8-digit AGS, 5-digit Kreis, 2-digit Land): its rings, each a
                                          list of arc numbers separated by ",", "~" before a number reverses it
"""
import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

GRID = 1 / 900  # degrees of latitude per grid unit (about 124 m)
TOLERANCE = 1.2  # Douglas–Peucker tolerance, in grid units
COS = math.cos(math.radians(51.0))
WEST, NORTH = 5.8, 55.1

source = Path(sys.argv[1])
target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent.parent / "catalogue"
out_dir = target / "geo"
out_dir.mkdir(parents=True, exist_ok=True)

# --- 1. Read --------------------------------------------------------------------------------------------------
with open(source / "geo" / "vg5000_gem_2021_wgs84.geojson", encoding="utf-8") as handle:
    features = json.load(handle)["features"]
shapes = {}  # AGS -> list of polygons (list of rings (list of (x, y) integer points, closed: first == last))
names_2021 = {}
for feature in features:
    props = feature["properties"]
    assert props["GF"] == 9, props
    ags = props["AGS"]
    assert len(ags) == 8 and ags not in shapes, ags
    polygons = []
    for polygon in feature["geometry"]["coordinates"]:
        rings = []
        for ring in polygon:
            points = [(round(lon * 100000), round(lat * 100000)) for lon, lat in ring]
            cleaned = [points[0]]
            for point in points[1:]:
                if point != cleaned[-1]:
                    cleaned.append(point)
            if cleaned[0] != cleaned[-1]:
                cleaned.append(cleaned[0])
            if len(cleaned) >= 4:
                rings.append(cleaned)
        if rings:
            polygons.append(rings)
    shapes[ags] = polygons
    names_2021[ags] = props["GEN"]

# The 2025 registry: Gemeinden (Satzart 60), with name, Kreis and Land.
registry = {}
unincorporated = set()  # gemeindefreie Gebiete (Textkennzeichen 65, 66): drawn when VG5000 has them
with open(source / "municipalities-2025" / "GV100AD_30112025.txt", encoding="utf-8", newline="") as handle:
    for line in handle:
        if line.startswith("60"):
            ags = line[10:18]
            registry[ags] = line[22:72].strip()
            if line[122:124] in ("65", "66"):
                unincorporated.add(ags)
assert len(registry) == 10_953 and len(registry) - len(unincorporated) == 10_751, len(registry)

# --- 2. Topology ----------------------------------------------------------------------------------------------
rings = []  # (owner AGS, polygon index, ring points)
for ags, polygons in shapes.items():
    for index, polygon in enumerate(polygons):
        for ring in polygon:
            rings.append((ags, index, ring))

neighbours = {}
junctions = set()
for _, _, ring in rings:
    count = len(ring) - 1
    for i in range(count):
        point = ring[i]
        pair = frozenset((ring[i - 1] if i > 0 else ring[count - 1], ring[i + 1]))
        known = neighbours.get(point)
        if known is None:
            neighbours[point] = pair
        elif known != pair:
            junctions.add(point)

arcs = []  # list of point lists (projected later)
arc_index = {}  # tuple(points) -> arc number (forward); reversed tuples map to ~number


def arc_of(points):
    key = tuple(points)
    if key in arc_index:
        return arc_index[key]
    reverse = tuple(reversed(points))
    if reverse in arc_index:
        return ~arc_index[reverse]
    arc_index[key] = len(arcs)
    arcs.append(points)
    return len(arcs) - 1


ring_arcs = []  # (owner, polygon index, [arc refs])
for ags, index, ring in rings:
    body = ring[:-1]
    cuts = [i for i, point in enumerate(body) if point in junctions]
    refs = []
    if not cuts:
        # A ring without junctions (an island, or an enclave whose whole border is shared): start at its
        # smallest point so that both sides cut it the same way.
        start = body.index(min(body))
        rotated = body[start:] + body[:start] + [body[start]]
        refs.append(arc_of(rotated))
    else:
        rotated = body[cuts[0]:] + body[:cuts[0]]
        offsets = [i - cuts[0] for i in cuts] + [len(body)]
        rotated.append(rotated[0])
        for a, b in zip(offsets, offsets[1:]):
            refs.append(arc_of(rotated[a:b + 1]))
    ring_arcs.append((ags, index, refs))

# Which units use each arc, and each arc's length (for shared-border lengths).
users = defaultdict(set)
for ags, _, refs in ring_arcs:
    for ref in refs:
        users[ref if ref >= 0 else ~ref].add(ags)


def length(points):
    total = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        total += math.hypot((x1 - x0) * COS, y1 - y0)
    return total


arc_length = [length(points) for points in arcs]
border = defaultdict(float)  # (a, b) -> shared length
for number, owners in users.items():
    owners = sorted(owners)
    for i in range(len(owners)):
        for j in range(i + 1, len(owners)):
            border[(owners[i], owners[j])] += arc_length[number]
adjacent = defaultdict(dict)
for (a, b), value in border.items():
    adjacent[a][b] = value
    adjacent[b][a] = value

# --- 3. The 2025 territory ------------------------------------------------------------------------------------
group = {ags: ags for ags in shapes if ags in registry}  # 2021 shape -> the 2025 unit it is drawn with
orphans = sorted(ags for ags in shapes if ags not in registry)
missing = sorted(ags for ags in registry if ags not in shapes and ags not in unincorporated)
without_shape = sorted(ags for ags in unincorporated if ags not in shapes)
assignments = []


def plain(name):
    return name.split(",")[0].strip().lower()


for ags in missing:
    for orphan in orphans:
        if orphan not in group and orphan[:2] == ags[:2] and plain(names_2021[orphan]) == plain(registry[ags]):
            group[orphan] = ags
            assignments.append((orphan, names_2021[orphan], ags, registry[ags], "same name"))
for ags in missing:
    if ags in group.values():
        continue
    members = [orphan for orphan in orphans if orphan not in group and orphan[:5] == ags[:5]]
    assert members, f"no predecessor for {ags} {registry[ags]}"
    # Keep the connected part around the first one.
    keep = {members[0]}
    changed = True
    while changed:
        changed = False
        for orphan in members:
            if orphan not in keep and any(other in keep for other in adjacent[orphan]):
                keep.add(orphan)
                changed = True
    for orphan in sorted(keep):
        group[orphan] = ags
        assignments.append((orphan, names_2021[orphan], ags, registry[ags], "removed in its Kreis, connected"))
left = [orphan for orphan in orphans if orphan not in group]
while left:
    progress = False
    for orphan in list(left):
        options = [(other[:5] == orphan[:5], value, other) for other, value in adjacent[orphan].items() if other in group]
        if not options:
            continue
        _, _, best = max(options)
        group[orphan] = group[best]
        assignments.append((orphan, names_2021[orphan], group[best], registry[group[best]], "longest shared border"))
        left.remove(orphan)
        progress = True
    assert progress, f"removed units without a neighbour: {left}"
drawn = set(group.values())
for ags in registry:
    assert ags in drawn or ags in without_shape, f"{ags} {registry[ags]} has no shape"

# --- 4. Project, simplify, quantise ---------------------------------------------------------------------------


def project(point):
    lon, lat = point[0] / 100000, point[1] / 100000
    return ((lon - WEST) * COS / GRID, (NORTH - lat) / GRID)


def simplify(points):
    if len(points) <= 2:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    closed = points[0] == points[-1]
    stack = []
    if closed:
        # A closed arc: keep the point farthest from the start too, then simplify both halves.
        far = max(range(1, len(points) - 1), key=lambda i: math.dist(points[0], points[i]))
        keep[far] = True
        stack += [(0, far), (far, len(points) - 1)]
    else:
        stack.append((0, len(points) - 1))
    while stack:
        a, b = stack.pop()
        if b <= a + 1:
            continue
        (ax, ay), (bx, by) = points[a], points[b]
        dx, dy = bx - ax, by - ay
        norm = math.hypot(dx, dy)
        best, best_distance = -1, -1.0
        for i in range(a + 1, b):
            px, py = points[i]
            distance = abs(dy * (px - ax) - dx * (py - ay)) / norm if norm > 0 else math.hypot(px - ax, py - ay)
            if distance > best_distance:
                best, best_distance = i, distance
        if best_distance > TOLERANCE:
            keep[best] = True
            stack += [(a, best), (best, b)]
    return [point for point, kept in zip(points, keep) if kept]


quantised = []
for points in arcs:
    simple = simplify([project(point) for point in points])
    grid = [(round(x), round(y)) for x, y in simple]
    cleaned = [grid[0]]
    for point in grid[1:-1]:
        if point != cleaned[-1]:
            cleaned.append(point)
    cleaned.append(grid[-1])  # the end point stays even when it repeats: arcs must meet
    quantised.append(cleaned)

# --- Units: rings of the 2025 Gemeinden, Kreise and Länder as arc lists ---------------------------------------


def assemble(refs):
    """Rings from the boundary arcs of a union: arcs used an even number of times (inner borders) cancel."""
    uses = defaultdict(int)
    for ref in refs:
        number = ref if ref >= 0 else ~ref
        uses[number] += 1 if ref >= 0 else -1
    boundary = []
    counted = defaultdict(int)
    for ref in refs:
        number = ref if ref >= 0 else ~ref
        counted[number] += 1
    for ref in refs:
        number = ref if ref >= 0 else ~ref
        if counted[number] == 1:
            boundary.append(ref)
    starts = defaultdict(list)

    def ends(ref):
        points = arcs[ref] if ref >= 0 else list(reversed(arcs[~ref]))
        return points[0], points[-1]

    for ref in boundary:
        starts[ends(ref)[0]].append(ref)
    used = set()
    result = []
    for ref in boundary:
        if ref in used:
            continue
        ring = [ref]
        used.add(ref)
        first, last = ends(ref)
        while last != first:
            options = [other for other in starts[last] if other not in used]
            assert options, "open ring"
            ring.append(options[0])
            used.add(options[0])
            last = ends(options[0])[1]
        result.append(ring)
    return result


unit_refs = defaultdict(list)  # 2025 key -> all ring arc refs of its 2021 shapes
for ags, _, refs in ring_arcs:
    owner = group[ags]
    unit_refs[owner].extend(refs)
    unit_refs[owner[:5]].extend(refs)
    unit_refs[owner[:2]].extend(refs)
units = {}
for key in sorted(unit_refs):
    units[key] = assemble(unit_refs[key])
# Every Gemeinde's own shape stays as its 2021 rings when it was not merged (no union needed).

used_arcs = sorted({ref if ref >= 0 else ~ref for rings_ in units.values() for ring in rings_ for ref in ring})
renumber = {old: new for new, old in enumerate(used_arcs)}


def encode(value):
    value = ~(value << 1) if value < 0 else value << 1
    chunks = []
    while value >= 0x20:
        chunks.append(chr((0x20 | (value & 0x1F)) + 63))
        value >>= 5
    chunks.append(chr(value + 63))
    return "".join(chunks)


width = max(x for arc in quantised for x, _ in arc) + 1
height = max(y for arc in quantised for _, y in arc) + 1
lines = [
    "# ozgtrack map shapes, derived by scripts/derive-geo.py from BKG VG5000 (Stand 01.01.2021), fitted to the",
    "# territory of GV100AD 30.11.2025. © GeoBasis-DE / BKG 2021 (Daten verändert), dl-de/by-2-0. See README.md.",
    f"G {GRID:.10f} {width} {height}",
]
for old in used_arcs:
    points = quantised[old]
    text = encode(points[0][0]) + encode(points[0][1])
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        text += encode(x1 - x0) + encode(y1 - y0)
    lines.append("A " + text)


def ref_text(ref):
    return str(renumber[ref]) if ref >= 0 else "~" + str(renumber[~ref])


for key, rings_ in units.items():
    lines.append("U " + key + " " + ";".join(",".join(ref_text(ref) for ref in ring) for ring in rings_))
(out_dir / "shapes.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

vertices = sum(len(quantised[old]) for old in used_arcs)
report = {
    "input_vertices": sum(len(ring) for _, _, ring in rings),
    "arcs": len(used_arcs),
    "output_vertices": vertices,
    "units": len(units),
    "bytes": (out_dir / "shapes.txt").stat().st_size,
    "unincorporated_without_shape": [(ags, registry[ags]) for ags in without_shape],
}
print(json.dumps(report))
with open(out_dir / "assignments.csv", "w", encoding="utf-8", newline="") as handle:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["ags_2021", "name_2021", "drawn_with_ags_2025", "name_2025", "rule"])
    writer.writerows(sorted(assignments))
