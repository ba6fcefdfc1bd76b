"""One batch job: the input rows not yet in OUTPUT -> Ray Data -> ``HighlightActor``s -> OUTPUT's parts -> OUTPUT.

The pipeline is Ray Data's: the input files are read in blocks, and ``map_batches`` hands batches of
rows to a pool of actors, each holding a loaded model (``app.batch.actors``). Ray retries the batch of
an actor that dies (a killed worker, a lost node) on a restarted one. This process receives the
answered rows as they come, writes them to OUTPUT's parts (``app.batch.archive``) and keeps each id
once, so a row answered twice (a retried batch) is still written once.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from app.batch.actors import HighlightActor
from app.batch.archive import Output, find_inputs, read_ids
from app.batch.cluster import ray_session
from app.core.options import Options
from app.settings import Settings

PART_ROWS = 500  # a part is written once this many rows are waiting...
PART_SECONDS = 10.0  # ...or this long after the last one: a killed job loses at most this much work
# Ray Data's blocks are small (about 20 news stories): a block goes to one actor whole, and its answers come
# back whole, so big blocks (Ray's default is 128 MiB) would give a one-file archive to one actor and
# write nothing until its end.
BLOCK_BYTES = 64 << 10


@dataclass
class BatchReport:
    """What a job did, and how fast (the benchmark reads it)."""

    input_rows: int
    already_done: int  # ids found in OUTPUT (or its parts) at the start
    answered: int = 0  # rows written by this run, error rows included
    errors: int = 0
    sentences: int = 0  # scored by this run
    actors: int = 0
    ray_start_s: float = 0.0  # starting (or connecting to) Ray
    actors_ready_s: float = 0.0  # from the job's start (Ray up) until every actor had loaded its model
    scoring_s: float = 0.0  # from the first actor ready to the last row written
    output_rows: int = 0

    @property
    def sentences_per_s(self) -> float:
        return self.sentences / self.scoring_s if self.scoring_s else 0.0

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "sentences_per_s": round(self.sentences_per_s, 1)}

    def summary(self, output: Path) -> str:
        scored = (f"{self.answered} rows answered ({self.errors} error rows), {self.sentences} sentences in "
                  f"{self.scoring_s:.1f} s ({self.sentences_per_s:.0f} sentences/s) by {self.actors} actors; "
                  f"Ray started in {self.ray_start_s:.1f} s, the actors were ready "
                  f"{self.actors_ready_s:.1f} s later; " if self.answered else "nothing left to score; ")
        return f"brief batch: {scored}{output}: {self.output_rows} rows, every id once"


def run_batch(input_spec: str, output: str | Path, options: Options, settings: Settings,
              address: str | None = None, actors: int = 0, show_progress: bool | None = None) -> BatchReport:
    """Score every row of INPUT that OUTPUT lacks and write OUTPUT (see ``app.batch.archive``).

    ``address``: a Ray cluster (None: Ray embedded here); ``actors``: how many score (0: as
    ``settings.BATCH_ACTORS``, whose 0 is one per ``BATCH_ACTOR_CPUS`` cores of the cluster).
    Raises ``ArchiveError`` for an INPUT or OUTPUT that cannot be used; an interrupted job keeps the
    parts it wrote, so the same call goes on where it stopped.
    """
    files, fmt = find_inputs(input_spec)
    out = Output(output)
    ids = read_ids(files, fmt)
    done = out.done_ids()
    todo = {i for i in ids if i not in done}
    report = BatchReport(input_rows=len(ids), already_done=len(set(ids) & done))
    if not todo:
        report.output_rows = out.finish() if out.part_files() or not out.path.exists() else len(done)
        return report
    out.begin(dataclasses.asdict(options))
    with ray_session(address) as report.ray_start_s:
        report.actors = actors or settings.BATCH_ACTORS or pool_size(settings.BATCH_ACTOR_CPUS)
        answers = answer_rows(files, fmt, frozenset(done), options, settings, report.actors)
        write_answers(answers, out, len(todo), report, show_progress)
    report.output_rows = out.finish()
    return report


def pool_size(actor_cpus: int) -> int:
    """One actor per ``actor_cpus`` cores of the Ray cluster (at least one)."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)) // actor_cpus)


def answer_rows(files: list[Path], fmt: str, done: frozenset, options: Options, settings: Settings, actors: int):
    """The Ray Data pipeline from INPUT's rows (those whose id is not ``done``) to answered rows."""
    import ray

    from app.batch.actors import without_done

    from ray.data import ActorPoolStrategy, DataContext

    DataContext.get_current().target_max_block_size = BLOCK_BYTES
    # Reading and filtering take no core of their own: the actors hold every core, and the readers must
    # still run beside them (they are light next to the encoder).
    paths = [str(p) for p in files]
    read = ray.data.read_parquet if fmt == "parquet" else ray.data.read_json
    rows = read(paths, num_cpus=0)
    if done:
        rows = rows.map_batches(without_done, fn_kwargs={"done": done}, batch_format="pyarrow", num_cpus=0)
    return rows.map_batches(
        HighlightActor,
        fn_constructor_kwargs={"settings": settings, "options": options, "tf_threads": settings.BATCH_ACTOR_CPUS,
                               "rows_in_flight": settings.BATCH_ROWS_IN_FLIGHT},
        batch_size=settings.BATCH_ROWS, batch_format="pyarrow", compute=ActorPoolStrategy(size=actors),
        num_cpus=settings.BATCH_ACTOR_CPUS)


def write_answers(answers, out: Output, todo: int, report: BatchReport, show_progress: bool | None) -> None:
    """Write the answered rows to OUTPUT's parts as they come, each id once, with a progress bar."""
    from tqdm import tqdm

    hidden = not sys.stderr.isatty() if show_progress is None else not show_progress
    bar = tqdm(total=todo, unit="article", file=sys.stderr, disable=hidden, smoothing=0.05,
               desc=f"loading the model ({report.actors} actors)")
    job_started = time.time()
    first_ready = last_ready = None
    written: set = set()
    pending: list[str] = []
    last_part = time.monotonic()
    try:
        for batch in answers.iter_batches(batch_size=None, batch_format="pyarrow"):
            ready = batch.column("ready_at").to_pylist()
            first_ready = min(ready + ([first_ready] if first_ready else []))
            last_ready = max(ready + ([last_ready] if last_ready else []))
            for id_, line, sentences in zip(batch.column("id").to_pylist(), batch.column("line").to_pylist(),
                                            batch.column("sentences").to_pylist()):
                if id_ in written:  # a duplicate id in INPUT, or a batch Ray ran twice
                    continue
                written.add(id_)
                pending.append(line)
                report.answered += 1
                report.errors += sentences == 0  # every answer has a sentence; an error row has none
                report.sentences += sentences
            bar.desc = "scoring"
            bar.update(report.answered - bar.n)
            report.scoring_s = time.time() - first_ready
            bar.set_postfix_str(f"{report.sentences_per_s:.0f} sentences/s", refresh=False)
            if len(pending) >= PART_ROWS or time.monotonic() - last_part >= PART_SECONDS:
                out.write_part(pending)
                pending, last_part = [], time.monotonic()
    finally:  # Ctrl-C or a failure: what was answered is kept for the next run
        if pending:
            out.write_part(pending)
        bar.close()
    if first_ready is not None:
        report.actors_ready_s = last_ready - job_started
        report.scoring_s = time.time() - first_ready
