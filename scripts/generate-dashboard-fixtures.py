#!/usr/bin/env python3
"""Generates the test exports of the Dashboard Digitale Verwaltung in Tests/Fixtures/dashboard/generated-*.

GENERATED DATA, NOT REAL: the LeiKa keys and names come from the committed catalogue (catalogue/ozg/), the
regions and their ARS from the committed GV100AD (catalogue/regions/), but which service is active or online
where, the URLs (all under https://generated.example/), the claims and the dates are drawn by a seeded random
generator. Keys the catalogue does not know are made up and named "Generierte Leistung ohne Katalogeintrag".

Besides each export the script writes FILE.expected.json: the counts its own, independent implementation of the
import rules (README, "Dashboard Digitale Verwaltung") gives, which the tests compare with ozgtrack's summary.

Usage: scripts/generate-dashboard-fixtures.py   (from the package root; deterministic, rewrites the files)
"""

import csv
import io
import json
import random
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "dashboard"
GV100AD = ROOT / "catalogue" / "regions" / "GV100AD_30112025.txt"
LEIKA = ROOT / "catalogue" / "ozg" / "leika_leistungen.csv"
SERVICES = ROOT / "catalogue" / "ozg" / "leistungen.csv"

CLASSIC = ["leika_key", "leika_name", "ars", "ars_name", "ars_federal_state", "bundesland", "leika_bezeichnung",
           "ozgid", "ozg_bezeichnung", "url", "online_status", "aktiv", "art_flaechendeckung"]
OPEN_PVOG = CLASSIC + ["begruendung_nicht_beruecksichtigt", "datenstand_pvog_import", "export_datum"]
CLAIMS = ["bundesweit flächendeckend", "landesweit flächendeckend", "kreisweit flächendeckend", "flächendeckend",
          "nicht flächendeckend", "", "teilweise"]


def regions():
    """Units of the current GV100AD: key -> (level, name, ars)."""
    units = {}
    for raw in GV100AD.read_text(encoding="utf-8").splitlines():
        kind, land, rb, kreis, gem, verband = raw[0:2], raw[10:12], raw[12:13], raw[13:15], raw[15:18], raw[18:22]
        name = raw[22:72].strip()
        if kind == "10":
            units[land] = ("land", name, land + "0" * 10)
        elif kind == "40":
            units[land + rb + kreis] = ("kreis", name, land + rb + kreis + "0" * 7)
        elif kind == "50":
            units[land + rb + kreis + verband] = ("verband", name, land + rb + kreis + verband + "000")
        elif kind == "60" and raw[122:124] not in ("65", "66"):
            units[land + rb + kreis + gem] = ("gemeinde", name, land + rb + kreis + verband + gem)
    return units


def catalogue():
    leika = {}
    with LEIKA.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["leika_schluessel"] != "nicht im LeiKa":
                leika[row["leika_schluessel"]] = (row["leika_bezeichnung"], row["ozg_id"], row["leika_typ"])
    with SERVICES.open(encoding="utf-8") as handle:
        names = {row["ozg_id"]: row["ozg_leistung"] for row in csv.DictReader(handle)}
    return leika, names


class Export:
    def __init__(self, name, columns, delimiter, leika, names, units):
        self.name, self.columns, self.delimiter = name, columns, delimiter
        self.leika, self.names, self.units = leika, names, units
        self.rows = []

    def row(self, key, region, *, active=True, ok=True, url=None, ozgid="", claim="", extra=None):
        level, unit_name, ars = self.units[region]
        known = self.leika.get(key)
        name = known[0] if known else f"Generierte Leistung ohne Katalogeintrag {key[-4:]}"
        values = {
            "leika_key": key, "leika_name": name, "ars": ars, "ars_name": unit_name,
            "ars_federal_state": ars[:2], "bundesland": self.units[ars[:2]][1], "leika_bezeichnung": name,
            "ozgid": ozgid, "ozg_bezeichnung": self.names.get(ozgid, "") if ozgid else "",
            "url": url if url is not None else f"https://generated.example/{ars}/{key}",
            "online_status": "ok" if ok else "nicht ok", "aktiv": "ja" if active else "nein",
            "art_flaechendeckung": claim,
        }
        values.update(extra or {})
        self.rows.append(values)
        return values

    def write(self):
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=self.columns, delimiter=self.delimiter, lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        (OUT / self.name).write_text(text.getvalue(), encoding="utf-8")
        (OUT / (self.name + ".expected.json")).write_text(
            json.dumps(self.expected(), indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")

    def expected(self):
        """The import rules, implemented again: what ozgtrack must report for this export."""
        seen, merged, resolved = set(), 0, 0
        unknown, unassigned = defaultdict(int), defaultdict(int)
        groups = defaultdict(list)
        for row in self.rows:
            signature = tuple(row.get(column, "") for column in self.columns)
            if signature in seen:
                merged += 1
                continue
            seen.add(signature)
            ozgid = row["ozgid"]
            if not ozgid:
                known = self.leika.get(row["leika_key"])
                if known is None:
                    unknown[row["leika_key"]] += 1
                    continue
                if not known[1]:
                    unassigned[row["leika_key"]] += 1
                    continue
                ozgid = known[1]
                resolved += 1
            rank = 2 if row["aktiv"] != "ja" else (0 if row["online_status"] == "ok" else 1)
            url = row["url"] if rank == 0 else ""
            region = canonical(row["ars"], self.units)
            groups[(region, ozgid)].append((rank, row["leika_key"], url))
        records = {}
        choices = 0
        for key, candidates in groups.items():
            best = min(candidates)
            if best[0] == 2:
                continue
            records[f"{key[0]}/{key[1]}"] = {"status": "online" if best[0] == 0 else "in_progress",
                                            "url": best[2] or None}
            if len({c[2] for c in candidates if c[2]}) > 1:
                choices += 1
        return {
            "generated": "by scripts/generate-dashboard-fixtures.py: NOT real data",
            "rowsRead": len(self.rows), "identicalRowsMerged": merged, "resolvedFromLeiKa": resolved,
            "unknownLeiKa": len(unknown), "unknownLeiKaRows": sum(unknown.values()),
            "unassignedLeiKa": len(unassigned), "unassignedLeiKaRows": sum(unassigned.values()),
            "records": len(records), "choiceCount": choices,
            "inactiveRecords": sum(1 for c in groups.values() if min(c)[0] == 2),
            "online": sum(1 for r in records.values() if r["status"] == "online"),
            "inProgress": sum(1 for r in records.values() if r["status"] == "in_progress"),
            "sample": dict(sorted(records.items())[:40]),
        }


def canonical(ars, units):
    """The canonical region key ozgtrack stores for an ARS (a Gemeinde's AGS, or the padded higher unit)."""
    ags = ars[:5] + ars[9:]
    if ags in units and units[ags][0] == "gemeinde" and ars[9:] != "000":
        return ags
    if ars.endswith("000") and ars[:9] in units:
        return ars[:9]
    for length in (5, 3, 2):
        if set(ars[length:]) == {"0"} and ars[:length] in units:
            return ars[:length]
    raise ValueError(ars)


def pick_services(rng, leika, count):
    """LeiKa keys of municipal services (LeiKa-Typ 2/3, 4 or 5), several of some OZG-Leistungen."""
    by_service = defaultdict(list)
    for key, (_, ozg, kind) in sorted(leika.items()):
        if ozg and any(code in kind for code in ("2/3", "4", "5")):
            by_service[ozg].append(key)
    chosen = []
    for ozg in rng.sample(sorted(by_service), count):
        keys = by_service[ozg]
        chosen.extend(keys[: 1 + (len(chosen) % 3 == 0 and len(keys) > 1)])
    return chosen


def boeblingen(leika, names, units):
    """Kreis Böblingen (08115): every Gemeinde, classic columns, ';' as delimiter."""
    rng = random.Random(1608115)
    export = Export("generated-boeblingen.csv", CLASSIC, ";", leika, names, units)
    gemeinden = sorted(k for k, v in units.items() if v[0] == "gemeinde" and k.startswith("08115"))
    keys = pick_services(rng, leika, 10)
    unknown_keys = ["99990001000000", "99990002000000", "99990003001000"]
    unassigned_keys = sorted(k for k, v in leika.items() if not v[1])[:2]
    for position, gemeinde in enumerate(gemeinden):
        for index, key in enumerate(keys):
            active = rng.random() < 0.8
            ok = rng.random() < 0.85
            ozgid = leika[key][1] if rng.random() < 0.25 else ""
            claim = CLAIMS[(position + index) % len(CLAIMS)]
            export.row(key, gemeinde, active=active, ok=ok, ozgid=ozgid, claim=claim)
            if rng.random() < 0.06:
                # A second online service of the same LeiKa key: another URL.
                export.row(key, gemeinde, active=rng.random() < 0.7, ok=True, ozgid=ozgid, claim=claim,
                           url=f"https://generated.example/alt/{units[gemeinde][2]}/{key}")
        if position % 5 == 0:
            export.row(unknown_keys[position % 3], gemeinde)
        if position % 9 == 0:
            export.row(unassigned_keys[position % 2], gemeinde)
    # Higher levels: the Kreis, the Land and a Gemeindeverband.
    export.row(keys[0], "08115", claim="kreisweit flächendeckend", ozgid=leika[keys[0]][1])
    export.row(keys[1], "08", claim="landesweit flächendeckend")
    export.row(keys[2], "081155001", claim="flächendeckend")
    export.row(keys[2], "081155001", active=False, claim="flächendeckend", url="https://generated.example/old")
    # Real exports repeat rows: every 17th row again, unchanged.
    repeats = [dict(row) for row in export.rows[::17]]
    for offset, row in enumerate(repeats):
        export.rows.insert(min(len(export.rows), 3 + offset * 19), row)
    export.write()
    return export


def esslingen(leika, names, units):
    """Open-PVOG export of Gemeinden of Kreis Esslingen (08116) with includeAbove: ',' and the newer columns;
    the Land's and the Kreis's rows come again with every Gemeinde."""
    rng = random.Random(1608116)
    export = Export("generated-open-pvog.csv", OPEN_PVOG, ",", leika, names, units)
    gemeinden = sorted(k for k, v in units.items() if v[0] == "gemeinde" and k.startswith("08116"))[:12]
    keys = pick_services(rng, leika, 12)
    dates = {"datenstand_pvog_import": "2025-10-01", "export_datum": "2025-10-15T06:30:00Z"}
    above = [
        dict(key=keys[0], region="08", claim="landesweit flächendeckend"),
        dict(key=keys[1], region="08116", claim="kreisweit flächendeckend"),
        dict(key=keys[2], region="08116", claim="", active=False,
             extra={"begruendung_nicht_beruecksichtigt": "Onlinedienst nicht im PVOG"}),
    ]
    for position, gemeinde in enumerate(gemeinden):
        for index, key in enumerate(keys[3:]):
            active = rng.random() < 0.75
            ok = rng.random() < 0.9
            reason = "" if active else "keine Zuständigkeit gemeldet"
            export.row(key, gemeinde, active=active, ok=ok, claim=CLAIMS[(position * 2 + index) % len(CLAIMS)],
                       extra={**dates, "begruendung_nicht_beruecksichtigt": reason})
            if rng.random() < 0.08:
                export.row(key, gemeinde, ok=rng.random() < 0.5, claim="",
                           url=f"https://generated.example/efa/{key}", extra=dict(dates))
        for item in above:
            export.row(item["key"], item["region"], claim=item["claim"], active=item.get("active", True),
                       extra={**dates, **item.get("extra", {})})
        if position % 4 == 1:
            export.row("99990004000000", gemeinde, extra=dict(dates))
    export.write()
    return export


def main():
    units = regions()
    leika, names = catalogue()
    for export in (boeblingen(leika, names, units), esslingen(leika, names, units)):
        print(f"{export.name}: {len(export.rows)} rows")


if __name__ == "__main__":
    main()
