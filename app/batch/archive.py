"""The files of a batch job: the input rows, and the output written in parts as rows finish.

INPUT is JSON Lines or Parquet: one file, a folder of them, or a glob. Each row has an ``id`` and one of
``text``, ``html`` or ``url`` (and an optional ``title``).

While a job runs, finished rows go to ``OUTPUT.parts/part-NNNNNN.jsonl``, each part written whole and then
renamed into place, so that a part is either complete or absent. At the end the parts (and an earlier
OUTPUT, if any) become OUTPUT (JSON Lines, or Parquet for a ``.parquet`` name) with every id once, and the
parts folder is removed. The ids found in OUTPUT and in its parts are the rows done: a job started again
scores only the others.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator

FORMATS = {".jsonl": "json", ".ndjson": "json", ".json": "json", ".parquet": "parquet"}
PART_SUFFIX = ".jsonl"
OPTIONS_FILE = "options.json"  # in the parts folder: the options the rows were scored with


class ArchiveError(ValueError):
    """INPUT or OUTPUT cannot be used as given; the message says why."""


def find_inputs(spec: str) -> tuple[list[Path], str]:
    """The files INPUT names (a file, a folder of ``FORMATS`` files, or a glob), sorted, and their format."""
    path = Path(spec)
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FORMATS
                 and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)]
    elif path.is_file():
        files = [path]
    else:
        files = [Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file()]
        if not files and not glob.has_magic(spec):
            raise ArchiveError(f"{spec}: no such file or folder")
    files = sorted(files)
    if not files:
        raise ArchiveError(f"{spec}: no JSON Lines (.jsonl) or Parquet (.parquet) files")
    formats = {FORMATS.get(p.suffix.lower(), "json") for p in files}
    if len(formats) > 1:
        raise ArchiveError(f"{spec}: mixes JSON Lines and Parquet files; give one kind")
    return files, formats.pop()


def read_ids(files: list[Path], fmt: str) -> list[Any]:
    """Every row's id, in order (read by this process: it counts the job and finds the rows done)."""
    import pyarrow as pa

    ids: list[Any] = []
    for path in files:
        table = read_table(path, fmt, columns=["id"])
        if "id" not in table.column_names:
            raise ArchiveError(f"{path}: the rows have no id (each row needs an id and one of text, html or url)")
        column = table.column("id")
        if column.null_count:
            row = next(i for i, v in enumerate(column.to_pylist()) if v is None)
            raise ArchiveError(f"{path}: row {row + 1} has no id")
        if pa.types.is_floating(column.type) or pa.types.is_nested(column.type):
            raise ArchiveError(f"{path}: ids must be strings or whole numbers, not {column.type}")
        ids += column.to_pylist()
    return ids


def read_table(path: Path, fmt: str, columns: list[str] | None = None):
    """One input file as an Arrow table; an ``ArchiveError`` naming the file when it cannot be read."""
    import pyarrow as pa
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    try:
        if fmt == "parquet":
            names = pq.read_schema(path).names
            return pq.read_table(path, columns=[c for c in columns if c in names] if columns else None)
        table = pajson.read_json(path)
        return table.select([c for c in columns if c in table.column_names]) if columns else table
    except (pa.ArrowInvalid, OSError) as e:
        raise ArchiveError(f"{path}: not {'Parquet' if fmt == 'parquet' else 'JSON Lines'}: {e}") from None


class Output:
    """OUTPUT and the parts folder beside it (``OUTPUT.parts``) that holds the rows finished so far."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.format = "parquet" if self.path.suffix.lower() == ".parquet" else "json"
        self.parts = self.path.with_name(self.path.name + ".parts")
        if self.path.is_dir():
            raise ArchiveError(f"{self.path} is a folder; OUTPUT is a file (.jsonl, or .parquet)")

    def rows(self) -> Iterator[dict]:
        """The rows written so far: OUTPUT's, then each part's in the order written."""
        if self.path.exists():
            if self.format == "parquet":
                yield from read_table(self.path, "parquet").to_pylist()
            else:
                yield from _json_lines(self.path)
        for part in self.part_files():
            yield from _json_lines(part)

    def done_ids(self) -> set:
        """The ids already in OUTPUT or its parts."""
        if self.format == "parquet" and self.path.exists():
            done = set(read_table(self.path, "parquet", columns=["id"]).column("id").to_pylist())
            return done | {row["id"] for part in self.part_files() for row in _json_lines(part)}
        return {row["id"] for row in self.rows()}

    def part_files(self) -> list[Path]:
        return sorted(self.parts.glob(f"part-*{PART_SUFFIX}")) if self.parts.is_dir() else []

    def begin(self, options: dict) -> None:
        """Open the parts folder for rows scored with ``options``; a folder left by a run with other options
        is refused (its rows would mix with these)."""
        self.parts.mkdir(parents=True, exist_ok=True)
        for stale in self.parts.glob("*.tmp"):  # a part whose writing was cut short
            stale.unlink()
        options = json.loads(json.dumps(options))  # as the file holds them (a tuple reads back as a list)
        recorded = self.parts / OPTIONS_FILE
        if recorded.exists() and self.part_files():
            before = json.loads(recorded.read_text())
            if before != options:
                raise ArchiveError(f"{self.parts} holds rows scored with other options ({before}, not {options}): "
                                   "run with those, or remove it to start again")
        recorded.write_text(json.dumps(options, sort_keys=True) + "\n")

    def write_part(self, lines: list[str]) -> Path:
        """Write finished rows (JSON lines) as the next part, whole or not at all."""
        files = self.part_files()
        number = int(files[-1].name[len("part-"):-len(PART_SUFFIX)]) + 1 if files else 1
        path = self.parts / f"part-{number:06d}{PART_SUFFIX}"
        temporary = path.with_name(path.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
        return path

    def finish(self) -> int:
        """Assemble OUTPUT from itself and the parts, every id once (the first written), then remove the
        parts; returns the number of rows in OUTPUT."""
        rows = _first_of_each_id(self.rows())
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "parquet":
            write_parquet(rows, temporary)
        else:
            with open(temporary, "w", encoding="utf-8") as f:
                for row in rows:
                    f.write(answer_line(row) + "\n")
        os.replace(temporary, self.path)
        shutil.rmtree(self.parts, ignore_errors=True)
        return len(rows)


def answer_line(row: dict) -> str:
    """One output row as a JSON line (UTF-8 as is, no spaces)."""
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def write_parquet(rows: list[dict], path: Path) -> None:
    """Rows of differing fields (answers, error rows) as one Parquet table: a field a row lacks is null."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = list(dict.fromkeys(key for row in rows for key in row))
    pq.write_table(pa.Table.from_pylist([{k: row.get(k) for k in fields} for row in rows]), path)


def _json_lines(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _first_of_each_id(rows: Iterable[dict]) -> list[dict]:
    seen, kept = set(), []
    for row in rows:
        if row["id"] not in seen:
            seen.add(row["id"])
            kept.append(row)
    return kept
