#!/usr/bin/env python3
"""Derives the project's catalogue/ folder from the gathered source data.

Usage: scripts/derive-catalogue.py SOURCE_DIR [CATALOGUE_DIR]

SOURCE_DIR holds ozg/, municipalities-2025/ and municipalities/ as gathered for the project (each with a
README.txt naming source, edition and licence). The build and the tests never run this script: the derived
files are committed, and this script documents, reproducibly, how they were made. It fails loudly on
anything it does not recognise rather than guessing.
"""
import csv
import re
import shutil
import sys
from pathlib import Path

source = Path(sys.argv[1])
target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent.parent / "catalogue"
(target / "ozg").mkdir(parents=True, exist_ok=True)
(target / "regions").mkdir(parents=True, exist_ok=True)


def read(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


# Regions: the GV100AD files byte for byte.
current = source / "municipalities-2025" / "GV100AD_30112025.txt"
previous = source / "municipalities" / "GV100AD_301121.ASC"
shutil.copyfile(current, target / "regions" / current.name)
shutil.copyfile(previous, target / "regions" / previous.name)

# Land names -> codes, read from the Satzart 10 records of the current edition.
laender = {}
with open(current, encoding="utf-8", newline="") as handle:
    for line in handle:
        if line.startswith("10"):
            laender[line[22:72].strip()] = line[10:12]
assert len(laender) == 16, laender

ozg = source / "ozg"
themenfelder = read(ozg / "ozg_themenfelder.csv")
leads = {re.sub(r"\s*\(.*\)$", "", row["themenfeld"]): row for row in read(ozg / "themenfelder_federfuehrung.csv")}


def lead_codes(text):
    """'Baden-Württemberg und Hessen (Tandem)' -> ['08', '06']; 'UNVERIFIED' -> []."""
    if text.startswith("UNVERIFIED"):
        return []
    plain = re.sub(r"\s*\(.*\)$", "", text)
    codes = []
    for part in plain.split(" und "):
        if part not in laender:
            raise SystemExit(f"themenfelder_federfuehrung.csv: '{part}' in '{text}' is not a Land name")
        codes.append(laender[part])
    return codes


def verification(text):
    if text.startswith("verified"):
        return "verified"
    if text == "not found":
        return "unverified"
    if "secondary" in text or "inferred" in text or "unverified" in text:
        return "partly_verified"
    raise SystemExit(f"themenfelder_federfuehrung.csv: unknown belegstatus '{text}'")


rows = []
for row in themenfelder:
    lead = leads.pop(row["themenfeld"])
    status = verification(lead["belegstatus"])
    ministry = "" if status == "unverified" else lead["federfuehrendes_bundesressort"]
    sources = "" if lead["quelle"] == "-" else lead["quelle"]
    rows.append([row["themenfeld_nr"], row["themenfeld"], ";".join(lead_codes(lead["federfuehrendes_land"])),
                 lead["federfuehrendes_land"], ministry, lead["federfuehrendes_bundesressort"], status,
                 lead["belegstatus"], sources])
assert not leads, leads
write(target / "ozg" / "themenfelder.csv",
      ["themenfeld_nr", "themenfeld", "federfuehrende_laender", "federfuehrung_quelltext",
       "federfuehrendes_bundesressort", "bundesressort_quelltext", "belegstatus", "belegstatus_quelltext", "quelle"],
      rows)

numbers = {row["themenfeld"]: row["themenfeld_nr"] for row in themenfelder}
lebenslagen = read(ozg / "ozg_lebenslagen.csv")
write(target / "ozg" / "lebenslagen.csv", ["lebenslage_nr", "lebenslage", "themenfeld_nr"],
      [[row["lebenslage_nr"], row["lebenslage"], numbers[row["themenfeld"]]] for row in lebenslagen])

situation = {row["lebenslage"]: row for row in lebenslagen}
leistungen = read(ozg / "ozg_leistungen.csv")
for row in leistungen:
    assert situation[row["lebenslage"]]["themenfeld"] == row["themenfeld"], row
write(target / "ozg" / "leistungen.csv", ["ozg_id", "ozg_leistung", "lebenslage_nr"],
      [[row["ozg_id"], row["ozg_leistung"], situation[row["lebenslage"]]["lebenslage_nr"]] for row in leistungen])

leika = read(ozg / "ozg_leika_leistungen.csv")
columns = ["leika_schluessel", "leika_bezeichnung", "ozg_id", "leika_typ", "rechtsgrundlage", "gesetze",
           "gesetz_kuerzel", "sdg1_relevanz", "sdg2_relevanz"]
write(target / "ozg" / "leika_leistungen.csv", columns, [[row[c] for c in columns] for row in leika])
print(f"catalogue written to {target}: {len(themenfelder)} Themenfelder, {len(lebenslagen)} Lebenslagen, "
      f"{len(leistungen)} OZG-Leistungen, {len(leika)} LeiKa-Leistungen")
