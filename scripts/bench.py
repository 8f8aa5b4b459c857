#!/usr/bin/env python3
"""ozgtrack's benchmark suite: national-scale speed and memory, each figure next to its anchor.

Usage:
    scripts/bench.py [--runs N] [--work DIR] [--skip-build] [--quick] [--output FILE]
                     [--postgres [--postgres-url URL] [--postgres-only [--postgres-history]]]
    scripts/bench.py --startup [--startup-runs N] [--work DIR] [--skip-build]

What it does (release build, on this machine):
  1. builds `ozgtrack` in release mode (unless --skip-build);
  2. generates the synthetic national dataset once into WORK/data (`ozgtrack bench-data --history 8`):
     every Gemeinde x every service (~6 million rows) plus 8 history steps spread over two years;
  3. measures the anchors on the same data: `sqlite3 .import` of the CSV into an equivalent table (the ingest
     floor) and `sqlite3 -csv` output of that table (the export floor);
  4. measures ozgtrack: the national import into an empty database, `set` and `status` on the national
     database, `check` and `diff` nationwide, and `report` for the whole country and for Baden-Wuerttemberg in
     every built-in format, current state and `--as-of`;
  5. prints a Markdown table (median wall time and peak memory of N runs, each with its anchor and ratio)
     and writes it to FILE (default WORK/results.md).

Every figure is one whole process, timed by `/usr/bin/time -v` (wall clock, maximum resident set size).
--quick measures Baden-Wuerttemberg only (for a first look; the targets are national).
--reports-only skips timing the import and the small commands; --formats csv,html measures only those formats
(the HTML report is also measured on the history database against the CSV report of the same database).
The XLSX report is measured against the CSV report of the same scope (measure both: --formats csv,xlsx).

The ministry's collection (in a default run; --collection measures only it): the Gemeinde XML reports of
Baden-Wuerttemberg (1,101; with --quick the only scope) and of the country (10,751) are generated once with
`ozgtrack report --scope AGS --format xml` (not timed; cached in WORK/collection/), imported into an empty
database in one command (`ozgtrack import *.xml`), and timed against the CSV import of the same rows in the same
run; the dump of the database the reports filled must equal the dump of the one the CSV filled.
--collection-scope land|country measures one of the two (the country's 10,751 reports take about 3.8 GB in
WORK/collection/de/ and, the first time, 10-25 minutes to generate on two cores). Controlled equally for both
sides: a fresh database per run; the whole input (the CSV, or every report) read once right before each timed
run, so both start from the page cache (the resident share, by `fincore`, is in the table); CSV and XML runs
alternate; medians of --runs, with user and system CPU seconds of both and each pair's ratio in the table.

CLI start-up (also part of the default run, after the rest; --startup measures only it): `catalogue stats`,
`regions show`, `status` of one Gemeinde and `set` (one Gemeinde, one OZG-ID) next to three anchors measured in the
same run, interleaved: a "hello world" built with `swiftc -O` from scripts/bench/hello.swift (no Foundation) and
scripts/bench/hello-foundation.swift, and `sqlite3 DB "select 1"`. Each command runs --startup-runs times (30); the
figure is the median wall time (start to exit, measured by this script around each process) and the peak resident
memory of one more run under /usr/bin/time -v. The database is WORK/national.sqlite if there is one, else a small one made for the purpose.

--postgres adds the PostgreSQL backend side by side, in the same run and on the same data: a throwaway cluster
(scripts/pg-cluster.sh; or an existing server with --postgres-url, whose role may create schemas), the server's own
floor (`psql -c "\copy status FROM …"` of the same CSV into an equivalent table of ten text columns, and
`psql -c "\copy (SELECT * FROM status) TO STDOUT CSV"`), then import, set, status, check, report and 8 concurrent
writers against it. The peak memory is the client's (ozgtrack or psql), not the server's.
--postgres-only keeps the locked run short: of SQLite only `set` and `status` (what the PostgreSQL figures are
compared with), then the PostgreSQL part with the CSV report only (or the --formats given) and without the history
store (add --postgres-history for it: nine national imports, diff and an --as-of report).
"""
import argparse
import concurrent.futures
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / ".build" / "release" / "ozgtrack"


def time_v(command, stdout=None, env=None):
    """Runs `command` under /usr/bin/time -v; returns its report (field name → text) and the exit status."""
    result = subprocess.run(
        ["/usr/bin/time", "-v"] + command, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
        text=True)
    fields = {}
    for line in result.stderr.splitlines():
        name, _, value = line.strip().partition(": ")
        fields[name] = value
    return fields, result.returncode


def wall_and_peak(fields):
    """Wall seconds and peak MiB from a /usr/bin/time -v report (`None` for a field it lacks)."""
    elapsed = fields.get("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    wall = sum(float(part) * 60 ** power for power, part in enumerate(reversed(elapsed.split(":")))) if elapsed else None
    peak = fields.get("Maximum resident set size (kbytes)")
    return wall, int(peak) / 1024 if peak else None


def run_timed(command, stdout=None, env=None):
    """Runs `command` under /usr/bin/time -v; returns (wall seconds, peak MiB, exit status)."""
    fields, status = time_v(command, stdout, env)
    return (*wall_and_peak(fields), status)


class Figure:
    def __init__(self, name, anchor=None, target=None, memory_target=None):
        self.name = name
        self.anchor = anchor
        self.target = target
        self.memory_target = memory_target
        self.walls = []
        self.peaks = []

    @property
    def wall(self):
        return statistics.median(self.walls) if self.walls else None

    @property
    def peak(self):
        return max(self.peaks) if self.peaks else None


def set_command(database):
    """`set` of one record that changes it on every run (planned, in_progress, …), so that every run writes and
    commits: a function of the run's number, as `measure` takes it."""
    return lambda number: [str(BINARY), "set", "08111000", "10000", "--status", ["planned", "in_progress"][number % 2],
                           "--db", str(database), "--actor", "bench"]


def run_interleaved(commands, runs):
    """Runs each of `commands` ((name, command) pairs; a command is a list or a function of the run's number) once
    per round for `runs` rounds, so that a burst of load falls on all alike; returns the wall times per name and
    the peak memory (MiB) per name of one more run each under /usr/bin/time -v (a child forked from this Python
    process would report Python's own resident size as its peak: the kernel keeps the larger of before and after
    exec)."""
    walls = {name: [] for name, _ in commands}
    for number in range(runs):
        for name, command in commands:
            argv = command(number) if callable(command) else command
            started = time.perf_counter()
            status = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
            walls[name].append(time.perf_counter() - started)
            if status != 0:
                sys.exit(f"bench: {' '.join(argv)} exited with status {status}")
    peaks = {name: run_timed(command(runs) if callable(command) else command)[1] for name, command in commands}
    return walls, peaks


def measure(figure, runs, command, prepare=None, allowed=(0,), stdout=None):
    """`command` is a list, or a function of the run's number that returns one."""
    for number in range(runs):
        if prepare:
            prepare()
        wall, peak, status = run_timed(command(number) if callable(command) else command, stdout=stdout)
        if status not in allowed:
            sys.exit(f"bench: {' '.join(command)} exited with status {status}")
        figure.walls.append(wall)
        figure.peaks.append(peak)
    each = f" (runs: {' / '.join(f'{wall:.2f}' for wall in figure.walls)})" if len(figure.walls) > 1 else ""
    print(f"  {figure.name}: {figure.wall:.2f} s, {figure.peak:.0f} MiB{each}", file=sys.stderr)
    return figure


def fresh_database(path):
    def prepare():
        for suffix in ("", "-wal", "-shm", ".filled"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        subprocess.run([str(BINARY), "init", "--db", str(path)], check=True, stdout=subprocess.DEVNULL)
    return prepare


def database_name(args, name):
    """`national.sqlite` / `history.sqlite` / `anchor.sqlite`, or `land-…` with --quick: a Land-only run never
    overwrites the national databases that a later --reports-only run reuses."""
    return f"land-{name}" if args.quick else name


def filled_with(db, source):
    """Whether `db` was filled completely from `source` (the marker is written after the last import)."""
    marker = Path(str(db) + ".filled")
    return db.exists() and marker.exists() and marker.read_text() == str(source)


def mark_filled(db, source):
    Path(str(db) + ".filled").write_text(str(source))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default=str(ROOT / "bench-data"))
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output")
    parser.add_argument("--reports-only", action="store_true",
                        help="measure the anchors and the reports only (the databases are made, not timed)")
    parser.add_argument("--formats", help="comma-separated report formats to measure (default: all)")
    parser.add_argument("--collection", action="store_true",
                        help="measure only the ministry's collection (Gemeinde XML reports imported at once)")
    parser.add_argument("--collection-scope", choices=["land", "country"],
                        help="the collection of Baden-Wuerttemberg only, or of the country only (default: the Land "
                             "with --quick, else both)")
    parser.add_argument("--postgres", action="store_true", help="also measure the PostgreSQL backend")
    parser.add_argument("--postgres-url", help="an existing server instead of a throwaway cluster")
    parser.add_argument("--postgres-only", action="store_true",
                        help="with --postgres: of SQLite only set and status (the PostgreSQL figures' comparison), then "
                             "the PostgreSQL part (its reports: csv unless --formats; no history part unless "
                             "--postgres-history)")
    parser.add_argument("--postgres-history", action="store_true",
                        help="with --postgres-only: also the history store (9 national imports) with diff and --as-of")
    parser.add_argument("--startup", action="store_true", help="measure only the CLI start-up (see above)")
    parser.add_argument("--startup-runs", type=int, default=30, help="runs per start-up figure (default 30)")
    parser.add_argument("--small-runs", type=int, default=30,
                        help="with --postgres: interleaved runs of set and status on both backends (default 30)")
    args = parser.parse_args()
    wanted = args.formats.split(",") if args.formats else None
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    out = work / "out"
    out.mkdir(exist_ok=True)

    if not args.skip_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "ozgtrack"], cwd=ROOT, check=True)
    if args.startup:
        measure_startup(args, work)
        return
    if not (data / "national.csv").exists():
        print("generating the national dataset …", file=sys.stderr)
        subprocess.run([str(BINARY), "bench-data", "--output", str(data), "--history", "8"], check=True)
    national_csv = data / "national.csv"
    source_csv = national_csv
    if args.quick:
        source_csv = work / "bw.csv"
        if not source_csv.exists():
            with open(national_csv, encoding="utf-8") as full, open(source_csv, "w", encoding="utf-8") as part:
                part.write(full.readline())
                for line in full:
                    if line.startswith("08"):
                        part.write(line)
    rows = sum(1 for _ in open(source_csv, encoding="utf-8")) - 1
    runs = args.runs
    figures = []
    print(f"{rows:,} rows; {runs} runs per figure", file=sys.stderr)
    if args.collection:
        figures += measure_collection(args, work, national_csv, runs)
        write_table(args, work, rows, runs, figures)
        return

    if args.postgres_only:
        if not args.postgres:
            parser.error("--postgres-only needs --postgres")
        # set and status of both backends are measured side by side inside measure_postgres; here only the
        # SQLite database they need.
        national_sqlite(work / database_name(args, "national.sqlite"), source_csv)
        figures += measure_postgres(args, runs, source_csv, out, steps_of(data), figures, wanted)
        write_table(args, work, rows, runs, figures)
        return

    # Anchors.
    anchor_db = work / database_name(args, "anchor.sqlite")
    create = ("CREATE TABLE status(region TEXT, ozg_id TEXT, status TEXT, maturity TEXT, maturity_model TEXT, "
              "planned TEXT, online_since TEXT, url TEXT, solution TEXT, note TEXT);")
    ingest = measure(
        Figure("anchor: sqlite3 .import (ingest floor)"), runs,
        ["sqlite3", str(anchor_db), create, ".mode csv", f".import --skip 1 {source_csv} status"],
        prepare=lambda: anchor_db.unlink(missing_ok=True))
    export = measure(
        Figure("anchor: sqlite3 -csv (export floor)"), runs,
        ["sh", "-c", f"exec sqlite3 -csv {anchor_db} 'SELECT * FROM status' > {out}/anchor.csv"])
    figures += [ingest, export]

    # Import into an empty database.
    db = work / database_name(args, "national.sqlite")
    if not args.reports_only:
        figures.append(measure(
            Figure("import (empty database)", ingest, 1.5, 200), runs,
            [str(BINARY), "import", str(source_csv), "--db", str(db), "--actor", "bench"], prepare=fresh_database(db)))
        mark_filled(db, source_csv)
    elif not filled_with(db, source_csv):
        fresh_database(db)()
        subprocess.run([str(BINARY), "import", str(source_csv), "--db", str(db), "--actor", "bench"], check=True,
                       stdout=subprocess.DEVNULL)
        mark_filled(db, source_csv)

    # A database with history: the same state, then 8 steps of changes over two years.
    history_db = work / database_name(args, "history.sqlite")
    steps = steps_of(data)
    if not filled_with(history_db, source_csv):
        fresh_database(history_db)()
        subprocess.run([str(BINARY), "import", str(source_csv), "--db", str(history_db), "--actor", "bench",
                        "--recorded-at", "2024-01-01"], check=True, stdout=subprocess.DEVNULL)
        for name, day in steps:
            step = data / "history" / name
            if args.quick:
                filtered = work / f"bw-{name}"
                with open(step, encoding="utf-8") as full, open(filtered, "w", encoding="utf-8") as part:
                    part.write(full.readline())
                    part.writelines(line for line in full if line.startswith("08"))
                step = filtered
            subprocess.run([str(BINARY), "import", str(step), "--db", str(history_db), "--actor", "bench",
                            "--recorded-at", day], check=True, stdout=subprocess.DEVNULL)
        mark_filled(history_db, source_csv)
    middle = steps[len(steps) // 2][1]

    if not args.reports_only:
        # Small commands on the national database (start-up included).
        figures.append(measure(Figure("set (national database, a real change)"), runs, set_command(db)))
        figures[-1].target_seconds = 0.05
        figures.append(measure(Figure("status of one Gemeinde", None, None, None), runs,
                               [str(BINARY), "status", "08111000", "--db", str(db)]))
        figures[-1].target_seconds = 0.05
        figures.append(measure(Figure("check nationwide (--min-online 10)", export), runs,
                               [str(BINARY), "check", "--db", str(db), "--min-online", "10", "--limit", "20"], allowed=(0, 1)))
        figures.append(measure(Figure(f"diff nationwide (--since {steps[-1][1]}, history database)", export), runs,
                               [str(BINARY), "diff", "--db", str(history_db), "--since", steps[-1][1], "--format", "csv"],
                               allowed=(0, 1), stdout=subprocess.DEVNULL))

    # Reports.
    formats = [("csv", 1.2), ("xml", 1.3), ("json", 1.3), ("markdown", 2.0), ("jsonl", None), ("html", None), ("xlsx", None)]
    formats = [entry for entry in formats if wanted is None or entry[0] in wanted]
    scopes = [("Deutschland", None)] if not args.quick else []
    scopes.append(("Baden-Württemberg", "08"))
    for label, scope in scopes:
        csv_figure = None
        for name, target in formats:
            command = [str(BINARY), "report", "--db", str(db), "--format", name, "--output", str(out / f"report.{name}")]
            if scope:
                command += ["--scope", scope]
            anchor = export if scope is None else None
            memory = (150 if name == "html" else 100) if scope is None else None
            if scope is not None:
                target = None
            if name == "xlsx" and csv_figure:
                # The XLSX report against the CSV report of the same scope: Land <= 3x, national <= 4x, <= 150 MiB.
                anchor, target, memory = csv_figure, (4.0 if scope is None else 3.0), 150
            figure = measure(Figure(f"report {label}, {name}", anchor, target, memory), runs, command)
            if name == "csv":
                csv_figure = figure
            if name == "html":  # the size limits: 8 MB for the country, 3 MB for a Land
                figure.size = (out / f"report.{name}").stat().st_size
                figure.size_limit = 8 if scope is None else 3
            figures.append(figure)
    if not args.quick and (wanted is None or "html" in wanted):
        # The HTML report against the CSV report of the same database (its trend reads the 8 history steps).
        csv_history = measure(
            Figure("report Deutschland, csv, current (history database)", export, None, 100), runs,
            [str(BINARY), "report", "--db", str(history_db), "--format", "csv", "--output", str(out / "national-current.csv")])
        html = measure(
            Figure("report Deutschland, html, current (history database)", csv_history, 1.0, 150), runs,
            [str(BINARY), "report", "--db", str(history_db), "--format", "html", "--output", str(out / "national-history.html")])
        html.size = (out / "national-history.html").stat().st_size
        html.size_limit = 8
        figures += [csv_history, html]
    if wanted is None or "csv" in wanted:
        land = "08"
        current = measure(Figure("report Baden-Württemberg, csv, current (history database)"), runs,
                          [str(BINARY), "report", "--db", str(history_db), "--scope", land, "--format", "csv",
                           "--output", str(out / "land-current.csv")])
        as_of = measure(Figure(f"report Baden-Württemberg, csv, --as-of {middle} (history database)", current, 2.0), runs,
                        [str(BINARY), "report", "--db", str(history_db), "--scope", land, "--format", "csv",
                         "--as-of", middle, "--output", str(out / "land-asof.csv")])
        figures += [current, as_of]
        if not args.quick:
            figures.append(measure(
                Figure(f"report Deutschland, csv, --as-of {middle} (history database)", export, None, 100), runs,
                [str(BINARY), "report", "--db", str(history_db), "--format", "csv", "--as-of", middle,
                 "--output", str(out / "national-asof.csv")]))

    if not args.reports_only:
        figures += measure_collection(args, work, national_csv, runs)

    if args.postgres:
        figures += measure_postgres(args, runs, source_csv, out, steps, figures, wanted)
    if not args.reports_only:
        measure_startup(args, work)
    write_table(args, work, rows, runs, figures)


def steps_of(data):
    """The history steps (file name, day) that `ozgtrack bench-data` wrote."""
    return [line.split(",") for line in (data / "history" / "steps.csv").read_text().splitlines()[1:]]


def national_sqlite(db, source_csv):
    """The national SQLite database, made first if missing."""
    if not filled_with(db, source_csv):
        fresh_database(db)()
        subprocess.run([str(BINARY), "import", str(source_csv), "--db", str(db), "--actor", "bench"], check=True,
                       stdout=subprocess.DEVNULL)
        mark_filled(db, source_csv)


def write_table(args, work, rows, runs, figures):
    """Prints the Markdown table and writes it to --output (default WORK/results.md)."""
    cpu = platform.processor() or platform.machine()
    try:
        model = next(line.split(": ", 1)[1] for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = cpu
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores ({model.strip()}), "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB; {rows:,} rows; "
        f"median of {runs} runs, peak = largest of the runs.",
        "",
        "| what | wall | peak memory | anchor | ratio | target |",
        "|---|---:|---:|---|---:|---|",
    ]
    for figure in figures:
        ratio = f"{figure.wall / figure.anchor.wall:.2f}" if figure.anchor and figure.anchor.wall else ""
        targets = []
        if figure.target:
            targets.append(f"≤ {figure.target}× ({'met' if figure.wall <= figure.target * figure.anchor.wall else 'MISSED'})")
        if figure.memory_target:
            targets.append(f"≤ {figure.memory_target} MiB ({'met' if figure.peak <= figure.memory_target else 'MISSED'})")
        size = getattr(figure, "size", None)
        if size is not None:
            met = "met" if size <= figure.size_limit * 1e6 else "MISSED"
            targets.append(f"file {size / 1e6:.1f} MB ≤ {figure.size_limit} MB ({met})")
        limit = getattr(figure, "target_seconds", None)
        if limit:
            targets.append(f"≤ {limit * 1000:.0f} ms ({'met' if figure.wall <= limit else 'MISSED'})")
        near = getattr(figure, "within", None)
        if near:
            other, delta = near
            difference = (figure.wall - other.wall) * 1000
            targets.append(f"{difference:+.{1 if getattr(figure, 'milliseconds', False) else 0}f} ms vs {other.name}: "
                           f"≤ +{delta * 1000:.0f} ms "
                           f"({'met' if figure.wall <= other.wall + delta else 'MISSED'})")
        note = getattr(figure, "note", None)
        if note:
            targets.append(note)
        anchor = figure.anchor.name.replace("anchor: ", "") if figure.anchor else ""
        wall = f"{figure.wall * 1000:.1f} ms" if getattr(figure, "milliseconds", False) else f"{figure.wall:.2f} s"
        lines.append(f"| {figure.name} | {wall} | {figure.peak:.0f} MiB | {anchor} | {ratio} | {', '.join(targets)} |")
    table = "\n".join(lines) + "\n"
    print(table)
    target_file = Path(args.output) if args.output else work / "results.md"
    target_file.write_text(table, encoding="utf-8")
    print(f"written to {target_file}", file=sys.stderr)


def land_csv(work, national_csv, land):
    """The rows of the national CSV whose region lies in `land` (a two-digit key), made once."""
    path = work / ("bw.csv" if land == "08" else f"land-{land}.csv")
    if not path.exists():
        with open(national_csv, encoding="utf-8") as full, open(path, "w", encoding="utf-8") as part:
            part.write(full.readline())
            part.writelines(line for line in full if line.startswith(land))
    return path


def collection_reports(work, db, national_csv, scope):
    """The XML reports of every Gemeinde in `scope` (None: the country), one file each as the Gemeinden send
    them (`ozgtrack report --scope AGS --format xml`), generated once from `db` with two processes at a time and
    kept in WORK/collection/SCOPE/ (regenerated when the national CSV is newer). Not timed."""
    folder = work / "collection" / (scope or "de")
    complete = folder / "complete"
    if complete.exists() and complete.stat().st_mtime >= national_csv.stat().st_mtime:
        return sorted(folder.glob("*.xml"))
    folder.mkdir(parents=True, exist_ok=True)
    command = [str(BINARY), "regions", "list", "--level", "gemeinde", "--format", "json"]
    if scope:
        command += ["--within", scope]
    keys = [region["key"] for region in json.loads(subprocess.run(command, check=True, capture_output=True,
                                                                  text=True).stdout)]
    print(f"generating {len(keys):,} Gemeinde XML reports into {folder} …", file=sys.stderr)
    started = time.monotonic()

    def generate(key):
        target = folder / f"{key}.xml"
        if not target.exists():
            partial = folder / f"{key}.xml.part"
            subprocess.run([str(BINARY), "report", "--db", str(db), "--scope", key, "--format", "xml",
                            "--output", str(partial)], check=True, stdout=subprocess.DEVNULL)
            partial.rename(target)

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(generate, keys))
    complete.write_text(f"{len(keys)} reports\n", encoding="utf-8")
    print(f"  generated in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return sorted(folder.glob("*.xml"))


def run_timed_cpu(command):
    """Runs `command` under /usr/bin/time -v; returns (wall s, peak MiB, user s, system s, exit status)."""
    fields, status = time_v(command)
    return (*wall_and_peak(fields), float(fields["User time (seconds)"]), float(fields["System time (seconds)"]), status)


def warm_page_cache(paths):
    """Reads every file in `paths` once, so that the timed run after it finds its whole input in the page cache
    (on a machine with memory to spare); returns the share of the input that is resident afterwards (by
    `fincore`, when installed), to be reported next to the figure."""
    buffer = bytearray(8 << 20)
    for path in paths:
        with open(path, "rb", buffering=0) as file:
            while file.readinto(buffer):
                pass
    if not shutil.which("fincore"):
        return None
    resident = size = 0
    paths = [str(path) for path in paths]
    for start in range(0, len(paths), 2000):
        listing = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES,SIZE",
                                  *paths[start:start + 2000]], check=True, capture_output=True, text=True).stdout
        for line in listing.splitlines():
            res, total = line.split()
            resident += int(res)
            size += int(total)
    return resident / size if size else None


def measure_collection(args, work, national_csv, runs):
    """The ministry's collection: every Gemeinde's XML report of a Land (and of the country) imported into an
    empty database in one command, against the CSV import of the same rows in the same run. The dump of the
    database the reports filled must equal the dump of the one the CSV filled.

    What is controlled, equally for both sides: each run imports into a fresh database (`ozgtrack init`); right
    before each timed run its whole input (the CSV, or every XML report) is read once, so both start with their
    input in the page cache (the share resident, by `fincore`, is reported); the runs alternate CSV, XML, CSV,
    XML … so that a change in the machine's load falls on both; the figure is the median wall time, and the note
    gives each pair's ratio and the median user and system CPU seconds of both sides."""
    figures = []
    # The reports' source: the national CSV in a database of its own.
    db = work / "collection" / "source.sqlite"
    if not db.exists() or db.stat().st_mtime < national_csv.stat().st_mtime:
        db.parent.mkdir(parents=True, exist_ok=True)
        fresh_database(db)()
        subprocess.run([str(BINARY), "import", str(national_csv), "--db", str(db), "--actor", "bench"], check=True,
                       stdout=subprocess.DEVNULL)
    scopes = [("Baden-Württemberg", "08")] + ([] if args.quick else [("Deutschland", None)])
    if args.collection_scope:
        scopes = [("Baden-Württemberg", "08")] if args.collection_scope == "land" else [("Deutschland", None)]
    for label, scope in scopes:
        reports = collection_reports(work, db, national_csv, scope)
        csv = land_csv(work, national_csv, scope) if scope else national_csv
        csv_db = work / "collection-csv.sqlite"
        xml_db = work / "collection-xml.sqlite"
        size = sum(path.stat().st_size for path in reports)
        csv_figure = Figure(f"collection {label}: CSV import of the same rows")
        xml_figure = Figure(f"collection {label}: import of {len(reports):,} Gemeinde XML reports ({size / 1e6:,.0f} MB)",
                            csv_figure, 1.5, 200)
        sides = [
            (csv_figure, [csv], [str(BINARY), "import", str(csv), "--db", str(csv_db), "--actor", "bench"], csv_db),
            (xml_figure, reports, [str(BINARY), "import", *map(str, reports), "--db", str(xml_db), "--actor", "bench"],
             xml_db),
        ]
        cpu = {id(figure): ([], []) for figure, *_ in sides}
        resident = []
        for number in range(runs):
            for figure, inputs, command, database in sides:
                fresh_database(database)()
                resident.append(warm_page_cache(inputs))
                wall, peak, user, system, status = run_timed_cpu(command)
                if status != 0:
                    sys.exit(f"bench: {' '.join(command[:3])} … exited with status {status}")
                figure.walls.append(wall)
                figure.peaks.append(peak)
                cpu[id(figure)][0].append(user)
                cpu[id(figure)][1].append(system)
                print(f"  run {number + 1}, {figure.name}: {wall:.2f} s (user {user:.2f} s, sys {system:.2f} s), "
                      f"{peak:.0f} MiB", file=sys.stderr)
        dumps = []
        for database in (csv_db, xml_db):
            dumps.append(subprocess.run([str(BINARY), "dump", "--db", str(database)], check=True,
                                        capture_output=True).stdout)
        same = dumps[0] == dumps[1]
        records = dumps[1].count(b"\n") - 1

        def seconds(figure):
            users, systems = cpu[id(figure)]
            return f"user {statistics.median(users):.2f} s, sys {statistics.median(systems):.2f} s"

        pairs = " / ".join(f"{xml / csv_wall:.2f}" for csv_wall, xml in zip(csv_figure.walls, xml_figure.walls))
        known = [share for share in resident if share is not None]
        cached = f"; input in the page cache: ≥ {min(known):.0%}" if known else ""
        csv_figure.note = f"{seconds(csv_figure)}{cached}"
        xml_figure.note = (f"dump {'equals' if same else 'DIFFERS FROM'} the CSV import's ({records:,} records); "
                           f"{seconds(xml_figure)}; ratio of each pair {pairs}")
        for figure in (csv_figure, xml_figure):
            print(f"  {figure.name}: {figure.wall:.2f} s, {figure.peak:.0f} MiB; {figure.note}", file=sys.stderr)
        figures += [csv_figure, xml_figure]
        for database in (csv_db, xml_db):
            for suffix in ("", "-wal", "-shm"):
                Path(str(database) + suffix).unlink(missing_ok=True)
    return figures


def psql(url, *arguments, stdout=subprocess.DEVNULL):
    subprocess.run(["psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", url, *arguments], check=True, stdout=stdout)


def checkpoint(url):
    """Before each timed load (the floors' and the import's alike): the dirty pages and the WAL of the run before
    are written out first, so that no run pays for the previous one's checkpoint (each load writes 0.4–0.5 GB of
    WAL; the server's default max_wal_size is 1 GB). A role that may not checkpoint (a server given with
    --postgres-url) measures without."""
    subprocess.run(["psql", "--no-psqlrc", "--quiet", url, "-c", "CHECKPOINT"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def with_schema(url, schema):
    return url + ("&" if "?" in url else "?") + "schema=" + schema


def measure_postgres(args, runs, source_csv, out, steps, sqlite_figures, wanted=None):
    """The PostgreSQL backend beside SQLite: anchors, import, set, status, check, reports, concurrent writers."""
    cluster = None
    url = args.postgres_url
    if not url:
        cluster = subprocess.run([str(ROOT / "scripts" / "pg-cluster.sh"), "start"], check=True, capture_output=True,
                                 text=True).stdout.strip()
        url = subprocess.run([str(ROOT / "scripts" / "pg-cluster.sh"), "url", cluster], check=True, capture_output=True,
                             text=True).stdout.strip()
    figures = []
    try:
        create = ("DROP TABLE IF EXISTS anchor_status; CREATE TABLE anchor_status(region text, ozg_id text, status text, "
                  "maturity text, maturity_model text, planned text, online_since text, url text, solution text, note text)")

        def copy_in(name, table, statement):
            """`psql \\copy` of the source CSV into `table`, made afresh by `statement` before each run."""
            return measure(Figure(name), runs,
                           ["psql", "--no-psqlrc", "--quiet", url, "-c",
                            f"\\copy {table} FROM '{source_csv}' WITH (FORMAT csv, HEADER true)"],
                           prepare=lambda: (psql(url, "-c", statement), checkpoint(url)))

        ingest = copy_in("anchor: psql \\copy FROM (PostgreSQL ingest floor)", "anchor_status", create)
        # The floor's table stays (the export floor reads it). Vacuumed here, untimed, once: otherwise autovacuum
        # vacuums its six million new rows on its own schedule — 15–18 s of reading and writing the table in the
        # background (seen in the server's log) — inside whichever timed run comes next, mostly the imports.
        psql(url, "-c", "VACUUM (ANALYZE) anchor_status")
        # Informational only (the import's target stays against the ten-text-column anchor above): the same \\copy
        # into a table that has the store's key, so that the price of a keyed table is visible beside the floor.
        create_keyed = ("DROP TABLE IF EXISTS anchor_keyed; CREATE TABLE anchor_keyed(region text, ozg_id integer, "
                        "status text, maturity text, maturity_model text, planned text, online_since text, url text, "
                        "solution text, note text, PRIMARY KEY (region, ozg_id))")
        keyed = copy_in("anchor (informational): psql \\copy FROM into a table keyed (region, ozg_id)", "anchor_keyed",
                        create_keyed)
        psql(url, "-c", "DROP TABLE anchor_keyed")
        export = measure(
            Figure("anchor: psql \\copy TO STDOUT CSV (PostgreSQL export floor)"), runs,
            ["sh", "-c", f"exec psql --no-psqlrc --quiet '{url}' -c '\\copy (SELECT * FROM anchor_status) TO STDOUT CSV' "
                         f"> {out}/pg-anchor.csv"])
        figures += [ingest, keyed, export]

        db = with_schema(url, "bench")

        def fresh():
            psql(url, "-c", "DROP SCHEMA IF EXISTS bench CASCADE")
            subprocess.run([str(BINARY), "init", "--db", db], check=True, stdout=subprocess.DEVNULL)
            checkpoint(url)

        imported = measure(Figure("PostgreSQL: import (empty store)", ingest, 1.3, 200), runs,
                           [str(BINARY), "import", str(source_csv), "--db", db, "--actor", "bench"], prepare=fresh)
        # The same runs against the keyed anchor: a second ratio, for information, with no target.
        against_keyed = Figure("PostgreSQL: import (empty store), the same runs (informational)", keyed)
        against_keyed.walls, against_keyed.peaks = imported.walls, imported.peaks
        against_keyed.note = "informational: the target is against the ingest floor above"
        figures += [imported, against_keyed]
        figures.append(server_part(url, runs, out, ingest))
        figures += small_commands_side_by_side(
            args, url, db, Path(args.work) / database_name(args, "national.sqlite"))
        figures.append(measure(Figure("PostgreSQL: check nationwide (--min-online 10)", export, None, 200), runs,
                               [str(BINARY), "check", "--db", db, "--min-online", "10", "--limit", "20"], allowed=(0, 1)))
        label = "Baden-Württemberg" if args.quick else "Deutschland"
        reports = [("csv", 1.3), ("xml", None), ("markdown", None)]
        if args.postgres_only:
            reports = [entry for entry in reports if entry[0] in (wanted or ["csv"])]
        for name, target in reports:
            figures.append(measure(
                Figure(f"PostgreSQL: report {label}, {name}", export, target, 200), runs,
                [str(BINARY), "report", "--db", db, "--format", name, "--output", str(out / f"pg-report.{name}")]
                + (["--scope", "08"] if args.quick else [])))

        figures.append(concurrent_writers(db, 8, 10))

        # History: the same steps as the SQLite history database, then an as-of report.
        if args.postgres_only and not args.postgres_history:
            return figures
        history = with_schema(url, "bench_history")
        psql(url, "-c", "DROP SCHEMA IF EXISTS bench_history CASCADE")
        subprocess.run([str(BINARY), "init", "--db", history], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(BINARY), "import", str(source_csv), "--db", history, "--actor", "bench",
                        "--recorded-at", "2024-01-01"], check=True, stdout=subprocess.DEVNULL)
        work = Path(args.work)
        data = work / "data"
        for name, day in steps:
            step = work / f"bw-{name}" if args.quick else data / "history" / name
            subprocess.run([str(BINARY), "import", str(step), "--db", history, "--actor", "bench",
                            "--recorded-at", day], check=True, stdout=subprocess.DEVNULL)
        middle = steps[len(steps) // 2][1]
        figures.append(measure(
            Figure(f"PostgreSQL: diff {label} (--since {steps[-1][1]}, history store)", export, None, 200), runs,
            [str(BINARY), "diff", "--db", history, "--since", steps[-1][1], "--format", "csv"], allowed=(0, 1)))
        figures.append(measure(
            Figure(f"PostgreSQL: report {label}, csv, --as-of {middle} (history store)", export, None, 200), runs,
            [str(BINARY), "report", "--db", history, "--format", "csv", "--as-of", middle,
             "--output", str(out / "pg-asof.csv")] + (["--scope", "08"] if args.quick else [])))
    finally:
        if cluster:
            subprocess.run([str(ROOT / "scripts" / "pg-cluster.sh"), "stop", cluster], check=False)
    return figures


def server_part(url, runs, out, ingest):
    """Informational, no target: the server's own part of the import, done by psql on the same cluster — the rows
    the import just wrote, as binary COPY rows in `record_version`'s columns (what the writer streams), into a bare table
    with the partial index the import keeps, then the key index (with the writer's `maintenance_work_mem`), `ANALYZE`
    with the writer's statistics target, and the commit, in one transaction. It shows what the server's own work
    costs with psql as the client; it is not a lower bound of the import: on the quiet machine the merged tree of
    session 5 imported in 6.11 s where this took 6.76 s (psql sends its file in one synchronous stream, the import's
    client overlaps reading with the server's COPY)."""
    rows = out / "pg-server-part.bin"
    psql(url, "-c", f"\\copy bench.record_version TO '{rows}' WITH (FORMAT binary)")
    count = int(subprocess.run(["psql", "--no-psqlrc", "--quiet", "--tuples-only", "--no-align", url, "-c",
                                "SELECT count(*) FROM bench.record_version"],
                               check=True, capture_output=True, text=True).stdout.strip())
    memory = max(64 << 10, min(count // 1024 * 100, 1 << 20))  # kB, as PostgresWriter.indexBuildMemory
    script = out / "pg-server-part.sql"
    script.write_text(
        "BEGIN;\n"
        "CREATE TABLE server_part (LIKE bench.record_version);\n"
        "CREATE INDEX ON server_part (region, ozg_id, batch) WHERE region % 16 <> 8;\n"
        f"\\copy server_part FROM '{rows}' WITH (FORMAT binary)\n"
        f"SET LOCAL maintenance_work_mem = '{memory}kB';\n"
        "ALTER TABLE server_part ADD PRIMARY KEY (region, ozg_id, batch);\n"
        "SET LOCAL default_statistics_target = 10;\n"
        "ANALYZE server_part;\n"
        "COMMIT;\n")
    figure = measure(
        Figure("anchor (informational): the import's server part by psql (its rows as binary COPY into a bare "
               "table, then the key index, one transaction)", ingest), runs,
        ["psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", url, "-f", str(script)],
        prepare=lambda: (psql(url, "-c", "DROP TABLE IF EXISTS server_part"), checkpoint(url)))
    figure.note = "informational: the import's server statements with psql as the client (not a bound: see docs/performance.md)"
    psql(url, "-c", "DROP TABLE server_part")
    rows.unlink()
    return figure


def small_commands_side_by_side(args, url, db, sqlite_db):
    """`status` and `set` of one Gemeinde on the national store of both backends, against the server's per-connection
    floor (`psql -c "select 1"`: backend start, authentication, one query): many runs, interleaved (every command once
    per round, so that a burst of load falls on all alike), medians in milliseconds. The target (issue 12) is a
    difference — PostgreSQL within 20 ms of SQLite — which three runs rounded to 10 ms could not show."""
    runs = args.small_runs
    commands = [
        ('anchor: psql -c "select 1" (connection floor)', ["psql", "--no-psqlrc", "--quiet", url, "-c", "select 1"]),
        ("status of one Gemeinde (SQLite)", [str(BINARY), "status", "08111000", "--db", str(sqlite_db)]),
        ("PostgreSQL: status of one Gemeinde", [str(BINARY), "status", "08111000", "--db", db]),
        ("set (SQLite, a real change)", set_command(sqlite_db)),
        ("PostgreSQL: set (national store, a real change)", set_command(db)),
    ]
    figures = {name: Figure(name) for name, _ in commands}
    load = os.getloadavg()[0]
    walls, peaks = run_interleaved(commands, runs)
    for name, _ in commands:
        figures[name].walls = walls[name]
        figures[name].peaks = [peaks[name]]
    floor = figures[commands[0][0]]
    for name, _ in commands:
        figure = figures[name]
        figure.milliseconds = True
        figure.note = f"median of {runs} interleaved runs, min {min(figure.walls) * 1000:.1f} ms"
        if name.startswith("PostgreSQL"):
            figure.anchor = floor
    figures["PostgreSQL: status of one Gemeinde"].within = (figures["status of one Gemeinde (SQLite)"], 0.02)
    figures["PostgreSQL: set (national store, a real change)"].within = (figures["set (SQLite, a real change)"], 0.02)
    print(f"  set/status side by side: {runs} interleaved runs, load average {load:.2f} at the start", file=sys.stderr)
    for name, _ in commands:
        print(f"  {name}: {figures[name].wall * 1000:.1f} ms (min {min(figures[name].walls) * 1000:.1f} ms)", file=sys.stderr)
    return [figures[name] for name, _ in commands]


def concurrent_writers(db, writers, sets):
    """`writers` processes doing `sets` sets each at once on the national store; every write must land."""
    figure = Figure(f"PostgreSQL: {writers} concurrent writers × {sets} sets")
    services = [line[:5] for line in (ROOT / "catalogue" / "ozg" / "leistungen.csv").read_text().splitlines()[1:sets + 1]]
    listing = subprocess.run([str(BINARY), "regions", "list", "--within", "08115", "--level", "gemeinde", "--format", "json"],
                             check=True, capture_output=True, text=True).stdout
    regions = [region["key"] for region in json.loads(listing)][:writers]
    # A note unique to the run, so that every set is a real change (a record may already be not_applicable).
    run = time.strftime("%H%M%S")
    script = "; ".join(
        f"{BINARY} set {{region}} {service} --status not_applicable --note 'bench {run}' --db '{db}' "
        f"--actor w{{region}} >/dev/null || exit 1"
        for service in services)
    started = time.monotonic()
    processes = [subprocess.Popen(["sh", "-c", script.replace("{region}", region)]) for region in regions]
    failed = sum(1 for process in processes if process.wait() != 0)
    wall = time.monotonic() - started
    landed = 0
    for region in regions:
        result = subprocess.run([str(BINARY), "history", region, "--db", db, "--format", "json"], capture_output=True,
                                text=True, check=True)
        landed += sum(1 for change in json.loads(result.stdout) if change.get("actor") == f"w{region}")
    figure.walls.append(wall)
    figure.peaks.append(0)
    figure.note = (f"{writers * sets} sets, {failed} processes failed, {landed} changes in the history, "
                   f"{wall / (writers * sets) * 1000:.0f} ms per set")
    print(f"  {figure.name}: {wall:.2f} s; {figure.note}", file=sys.stderr)
    return figure


def measure_startup(args, work):
    """The CLI start-up table (issue 16 §3): small commands against hello-world programs and sqlite3, in one run."""
    runs = args.startup_runs
    folder = work / "startup"
    folder.mkdir(parents=True, exist_ok=True)
    anchors = []
    for name in ("hello", "hello-foundation"):
        source = ROOT / "scripts" / "bench" / f"{name}.swift"
        binary = folder / name
        if not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime:
            subprocess.run(["swiftc", "-O", str(source), "-o", str(binary)], check=True)
        anchors.append(binary)
    db = work / "national.sqlite"
    if not db.exists():
        db = folder / "startup.sqlite"
        if not db.exists():
            subprocess.run([str(BINARY), "init", "--db", str(db)], check=True, stdout=subprocess.DEVNULL)
            for region in ("08111000", "08115001", "08115"):
                subprocess.run([str(BINARY), "set", region, "10000", "--status", "online", "--db", str(db), "--actor", "bench"],
                               check=True, stdout=subprocess.DEVNULL)
    hello, hello_foundation = anchors
    commands = [
        ("anchor: hello world, no Foundation (swiftc -O)", [str(hello)], None),
        ("anchor: hello world with Foundation (swiftc -O)", [str(hello_foundation)], None),
        ('anchor: sqlite3 DB "select 1"', ["sqlite3", str(db), "select 1"], None),
        ("ozgtrack --version", [str(BINARY), "--version"], None),
        ("ozgtrack catalogue stats", [str(BINARY), "catalogue", "stats"], 0.020),
        ("ozgtrack regions show 08111000", [str(BINARY), "regions", "show", "08111000"], 0.020),
        ("ozgtrack status 08111000", [str(BINARY), "status", "08111000", "--db", str(db)], 0.020),
        ("ozgtrack set 08111000 10000 (a real change)", set_command(db), 0.020),
    ]
    load = os.getloadavg()
    print(f"CLI start-up: {runs} runs per command, interleaved; load average {load[0]:.2f}", file=sys.stderr)
    walls, peaks = run_interleaved([(name, command) for name, command, _ in commands], runs)
    floor = statistics.median(walls[commands[1][0]])
    lines = [
        f"CLI start-up, measured {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores, load average "
        f"{load[0]:.2f} at the start; median of {runs} interleaved runs; peak memory of one run; database {db.name}.",
        "",
        "| what | median | min | peak memory | vs hello world with Foundation | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, _, target in commands:
        median = statistics.median(walls[name])
        verdict = f"≤ {target * 1000:.0f} ms ({'met' if median <= target else 'MISSED'})" if target else ""
        lines.append(f"| {name} | {median * 1000:.1f} ms | {min(walls[name]) * 1000:.1f} ms | {peaks[name]:.0f} MiB | "
                     f"{median / floor:.2f} | {verdict} |")
    table = "\n".join(lines) + "\n"
    print(table)
    (work / "startup.md").write_text(table, encoding="utf-8")
    print(f"written to {work / 'startup.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()

