#!/usr/bin/env python3
"""Writes a generated (synthetic) rollout history for one Land, for demonstrations such as docs/report-land.png.

Usage: scripts/demo-data.py LAND_KEY OUT_DIR [SEED]

Writes OUT_DIR/state.csv (every Gemeinde of the Land × every OZG-Leistung, in the import format) and
OUT_DIR/step-NN.csv (monthly changes), with OUT_DIR/steps.csv naming each step's date. Online shares differ by
Kreis and grow month by month, so that a map and a trend have something to show. Nothing here describes a real
place: the data is random (seeded), only the keys are real. Load it with

    ozgtrack init --db demo.sqlite
    ozgtrack import OUT_DIR/state.csv --db demo.sqlite --recorded-at 2025-01-15
    ozgtrack import OUT_DIR/step-01.csv --db demo.sqlite --recorded-at <date from steps.csv>   # and so on
"""
import csv
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
land, out = sys.argv[1], Path(sys.argv[2])
random.seed(int(sys.argv[3]) if len(sys.argv) > 3 else 2025)
out.mkdir(parents=True, exist_ok=True)
gemeinden = []
with open(ROOT / "catalogue/regions/GV100AD_30112025.txt", encoding="utf-8") as handle:
    for line in handle:
        if line.startswith("60") and line[10:12] == land and line[122:124] not in ("65", "66"):
            gemeinden.append(line[10:18])
with open(ROOT / "catalogue/ozg/leistungen.csv", encoding="utf-8") as handle:
    services = [row["ozg_id"] for row in csv.DictReader(handle)]
kreis_rate = {}
for ags in gemeinden:
    kreis_rate.setdefault(ags[:5], random.uniform(0.05, 0.55))
rate = {ags: min(0.95, max(0.0, kreis_rate[ags[:5]] + random.gauss(0, 0.08))) for ags in gemeinden}
solutions = ["EfA Wohngeld", "Civento", "service-bw", "EfA Schülerbeförderung", "OZG-Hub Kommunal"]
state = {}
header = ["region", "ozg_id", "status", "maturity", "maturity_model", "solution"]
with open(out / "state.csv", "w", encoding="utf-8", newline="") as handle:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(header)
    for ags in gemeinden:
        for service in services:
            roll = random.random()
            if roll < rate[ags]:
                status, maturity = "online", random.choice([2, 3, 3, 4])
            elif roll < rate[ags] + 0.03:
                status, maturity = "not_applicable", ""
            else:
                status, maturity = random.choice(["not_started", "planned", "in_progress"]), random.choice(["", 0, 1])
            solution = random.choice(solutions) if status == "online" and random.random() < 0.2 else ""
            state[(ags, service)] = status
            writer.writerow([ags, service, status, maturity, 1 if maturity != "" else "", solution])
dates = ["2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30", "2025-07-31", "2025-08-31", "2025-09-30"]
with open(out / "steps.csv", "w", encoding="utf-8", newline="") as steps:
    steps.write("file,date\n")
    for number, day in enumerate(dates, 1):
        name = f"step-{number:02d}.csv"
        steps.write(f"{name},{day}\n")
        with open(out / name, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["region", "ozg_id", "status"])
            if number == 4:  # the Land puts a few services online for all its Gemeinden
                for service in services[:25]:
                    writer.writerow([land, service, "online"])
            for ags in gemeinden:
                growth = kreis_rate[ags[:5]] * 0.12
                for service in services:
                    if state[(ags, service)] not in ("online", "not_applicable") and random.random() < growth:
                        state[(ags, service)] = "online"
                        writer.writerow([ags, service, "online"])
