#!/usr/bin/env python3
"""Opens ozgtrack's XLSX reports with real spreadsheet readers (openpyxl, LibreOffice) for the tests.

Usage:
    scripts/xlsx-check.py dump FILE.xlsx              # every sheet's cells, types, formats, links, charts as text
    scripts/xlsx-check.py check FILE.xlsx REPORT.csv  # structure, types, no formulas; Daten sheets == the CSV report
    scripts/xlsx-check.py libreoffice FILE.xlsx       # LibreOffice (headless) opens it and converts every sheet

`check` takes the CSV report of the same query written with --no-formula-protection (the stored values as they
are). It prints one JSON object ({"ok": true, ...}) and exits 0, or prints the problems and exits 1.
Exit 3: a reader is missing (openpyxl, or soffice for `libreoffice`).
"""
import csv
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

try:
    import openpyxl
    from openpyxl.utils import get_column_letter
except ImportError:
    print("xlsx-check: the Python package openpyxl is missing (pip install openpyxl)", file=sys.stderr)
    sys.exit(3)

SUMMARY_SHEETS = ["Übersicht", "Themenfelder", "Leistungen", "Einheiten", "Kreise", "Trend", "EfA-Nachnutzung"]
DATA = re.compile(r"^Daten( (\d+))?$")


def data_sheets(workbook):
    names = [name for name in workbook.sheetnames if DATA.match(name)]
    return sorted(names, key=lambda name: int(DATA.match(name).group(2) or 1))


def charts(path):
    """{sheet name: [chart kinds]} from the package parts (openpyxl does not read charts back)."""
    result = {}
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        workbook = archive.read("xl/workbook.xml").decode()
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
        targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels))
        targets.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"', rels)})
        for name, rid in re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="(rId\d+)"', workbook):
            sheet = "xl/" + targets[rid]
            sheet_rels = sheet.replace("worksheets/", "worksheets/_rels/") + ".rels"
            kinds = []
            if sheet_rels in names:
                for drawing in re.findall(r'Target="\.\./drawings/([^"]+)"', archive.read(sheet_rels).decode()):
                    drawing_rels = "xl/drawings/_rels/" + drawing + ".rels"
                    if drawing_rels not in names:
                        continue
                    for chart in re.findall(r'Target="\.\./charts/([^"]+)"', archive.read(drawing_rels).decode()):
                        xml = archive.read("xl/charts/" + chart).decode()
                        kind = re.search(r"<c:(barChart|lineChart|pieChart|areaChart)>", xml)
                        series = len(re.findall(r"<c:ser>", xml))
                        grouping = re.search(r'<c:grouping val="([^"]+)"', xml)
                        kinds.append(
                            f"{kind.group(1) if kind else 'unknown'} ({series} series"
                            + (f", {grouping.group(1)}" if grouping else "") + ")")
            result[name.replace("&amp;", "&")] = kinds
    return result


def formulas(path):
    """The sheet parts that contain a formula element."""
    found = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as part:
                    tail = b""
                    while True:
                        chunk = part.read(1 << 20)
                        if not chunk:
                            break
                        if re.search(rb"<f[ >/]", tail + chunk):
                            found.append(name)
                            break
                        tail = chunk[-8:]
    return found


ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def excel_text(value):
    """A string cell's text as Excel shows it: OOXML escapes `_xHHHH_` decoded (openpyxl leaves those of inline
    strings as they are; libxlsxwriter writes a carriage return as `_x000D_`, ozgtrack a literal `_x` as `_x005F_x`)."""
    return ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), value)


def describe(cell):
    value = cell.value
    if isinstance(value, bool):
        text = f"b {str(value).lower()}"
    elif isinstance(value, datetime.datetime):
        text = f"d {value.isoformat(timespec='seconds')} [{cell.number_format}]"
    elif isinstance(value, (int, float)):
        text = f"n {value!r}" + (f" [{cell.number_format}]" if cell.number_format != "General" else "")
    else:
        text = f"s {json.dumps(excel_text(value), ensure_ascii=False)}"
    if cell.hyperlink is not None and cell.hyperlink.target:
        text += f" -> {cell.hyperlink.target}"
    return text


def dump(path):
    workbook = openpyxl.load_workbook(path)
    kinds = charts(path)
    for sheet in workbook.worksheets:
        print(f"## {sheet.title}: {sheet.max_row} rows, {sheet.max_column} columns, freeze {sheet.freeze_panes}, "
              f"autofilter {sheet.auto_filter.ref}, charts {kinds.get(sheet.title, [])}")
        widths = [f"{letter}={dimension.width:g}" for letter, dimension in sorted(sheet.column_dimensions.items())
                  if dimension.width]
        if widths:
            print("widths " + " ".join(widths))
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    print(f"{cell.coordinate} {describe(cell)}")


def normalise(value, column):
    """An XLSX cell as the CSV report writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        if column == "updated_at":
            return value  # compared within a second (the CSV drops the milliseconds)
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return excel_text(value)
    return str(value)


def check(path, csv_path):
    problems = []
    workbook = openpyxl.load_workbook(path, read_only=True)
    names = workbook.sheetnames
    summary = [name for name in names if not DATA.match(name)]
    expected = [name for name in SUMMARY_SHEETS if name in summary]
    if summary != expected or not {"Übersicht", "Themenfelder", "Leistungen", "Einheiten", "Trend", "EfA-Nachnutzung"} <= set(summary):
        problems.append(f"summary sheets {summary}, expected {SUMMARY_SHEETS} (Kreise optional)")
    data = data_sheets(workbook)
    if names[len(summary):] != data or not data or data[0] != "Daten":
        problems.append(f"data sheets {names[len(summary):]}: expected Daten, Daten 2, … at the end")
    bad = formulas(path)
    if bad:
        problems.append(f"formulas found in {bad}")
    with zipfile.ZipFile(path) as archive:
        # Every entry inflates and matches its CRC (ozgtrack puts the Daten sheets into the package itself).
        broken = archive.testzip()
        if broken is not None:
            problems.append(f"the ZIP entry {broken} is damaged")

    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        columns = next(reader)
        rows = list(reader)
    position = 0
    sheet_rows = {}
    for name in data:
        sheet = workbook[name]
        count = 0
        header_seen = False
        for cells in sheet.iter_rows():
            if not header_seen:
                header_seen = True
                if len(cells) < len(columns):
                    problems.append(f"{name}: {len(cells)} columns, the CSV report has {len(columns)}")
                continue
            count += 1
            if position >= len(rows):
                problems.append(f"{name} row {count + 1}: more rows than the CSV report")
                break
            expected_row = rows[position]
            position += 1
            for index, column in enumerate(columns):
                cell = cells[index] if index < len(cells) else None
                value = cell.value if cell is not None else None
                got = normalise(value, column)
                want = expected_row[index]
                if column in ("region", "ozg_id") and not isinstance(value, str):
                    problems.append(f"{name}!{get_column_letter(index + 1)}{count + 1}: {column} is not text: {value!r}")
                if column in ("planned", "online_since") and value is not None and not isinstance(value, datetime.datetime):
                    problems.append(f"{name}!{get_column_letter(index + 1)}{count + 1}: {column} is not a date: {value!r}")
                if column == "updated_at" and isinstance(got, datetime.datetime):
                    stored = datetime.datetime.strptime(want, "%Y-%m-%dT%H:%M:%SZ")
                    if not (0 <= (got - stored).total_seconds() < 1.001):
                        problems.append(f"{name} row {count + 1}: updated_at {got} != {want}")
                elif got != want:
                    problems.append(f"{name}!{get_column_letter(index + 1)}{count + 1}: {column} {got!r} != CSV {want!r}")
            if len(problems) > 20:
                break
        sheet_rows[name] = count
    if position != len(rows) and len(problems) <= 20:
        problems.append(f"the Daten sheets hold {position} rows, the CSV report {len(rows)}")
    if problems:
        print("\n".join(problems[:30]))
        sys.exit(1)
    print(json.dumps({"ok": True, "sheets": names, "dataRows": sheet_rows, "csvRows": len(rows)}, ensure_ascii=False))


def libreoffice(path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        print("xlsx-check: LibreOffice is missing (Debian: apt-get install libreoffice-calc-nogui)", file=sys.stderr)
        sys.exit(3)
    workbook = openpyxl.load_workbook(path, read_only=True)
    names = workbook.sheetnames
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as out:
        # Every sheet into its own file (the last filter token -1), UTF-8 (76), comma, double quotes.
        result = subprocess.run(
            [soffice, "--headless", "--norestore", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
             "--outdir", out, path],
            env=dict(os.environ, HOME=home), capture_output=True, text=True, timeout=600)
        produced = sorted(os.listdir(out))
        if result.returncode != 0 or len(produced) != len(names):
            print(f"LibreOffice failed (exit {result.returncode}): files {produced} for sheets {names}\n{result.stdout}{result.stderr}")
            sys.exit(1)
        stem = os.path.splitext(os.path.basename(path))[0]
        counts = {}
        for name in names:
            file = os.path.join(out, f"{stem}-{name}.csv")
            if not os.path.exists(file):
                print(f"LibreOffice wrote no file for sheet {name}: {produced}")
                sys.exit(1)
            with open(file, newline="", encoding="utf-8") as handle:
                counts[name] = sum(1 for _ in csv.reader(handle))
        print(json.dumps({"ok": True, "rows": counts}, ensure_ascii=False))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "dump":
        dump(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "libreoffice":
        libreoffice(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
