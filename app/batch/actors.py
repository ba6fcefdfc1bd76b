"""The Ray actor of ``brief batch``: one loaded ``Highlighter``, input rows in, one answer line per row out.

Each actor loads the bundled model through the same call as ``brief highlight`` and ``app.highlight``
(``app.load_highlighter``) and warms it up before its first row, as a service
worker does (``app.server.service``), and answers each row with ``Highlighter.highlight``: the call
``POST /api/evaluate`` answers with, so a row's answer is the API's. Several rows are in flight in
one actor, as several requests are in one worker: their sentences share encoder batches
(``app.core.coalescer``).
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

from app.core.options import Options
from app.settings import Settings

log = logging.getLogger(__name__)

SOURCE_FIELDS = ("text", "html", "url", "title")  # the API's article fields, read from each row
WARM_UP_TEXT = "Brief is starting. This sentence warms up the encoder and the model. It is never shown."


class HighlightActor:
    """Answers batches of input rows (an Arrow table with ``id`` and the article's fields) with a table of
    ``id``, ``line`` (the output row as JSON), ``sentences`` (how many were scored) and ``ready_at`` (Unix
    time this actor finished loading)."""

    def __init__(self, settings: Settings, options: Options, tf_threads: int, rows_in_flight: int):
        # Read by TensorFlow when this process first uses it, as in gunicorn.conf.py for a worker.
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            os.environ[name] = str(tf_threads)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        logging.getLogger("tensorflow").setLevel(logging.ERROR)  # the XLA compile's retracing notes
        from app import fetch_policy, load_highlighter

        self.options = options
        self.highlighter = load_highlighter(settings, fetch_policy(settings))
        self.highlighter.summarizer.score_texts([WARM_UP_TEXT])
        self.rows = ThreadPoolExecutor(rows_in_flight, thread_name_prefix="brief-row")
        self.ready_at = time.time()

    def __call__(self, batch):
        import pyarrow as pa

        answers = list(self.rows.map(self.answer, batch.to_pylist()))
        return pa.table({
            "id": batch.column("id"),
            "line": pa.array([line for line, _ in answers], pa.string()),
            "sentences": pa.array([count for _, count in answers], pa.int64()),
            "ready_at": pa.array([self.ready_at] * len(answers), pa.float64()),
        })

    def answer(self, row: dict) -> tuple[str, int]:
        """The output row for one input row, as a JSON line, and how many sentences it scored: the API's
        answer, or the API's error (code and message) for a row that cannot be scored."""
        from app.api.schema import EvaluateRequest, read_article
        from app.batch.archive import answer_line
        from app.errors import APIError

        try:
            article = read_article({k: row[k] for k in SOURCE_FIELDS if row.get(k) is not None})
            result = self.highlighter.highlight(EvaluateRequest([article], self.options, batch=False))[0]
        except APIError as e:
            return answer_line({"id": row["id"], "error": {"code": e.code, "message": e.message}}), 0
        except Exception as e:  # noqa: BLE001 - a bug fails its row, never the job (the API's 500)
            log.exception("row %r failed", row["id"])
            error = {"code": "internal_error", "message": f"{type(e).__name__}: {e}"}
            return answer_line({"id": row["id"], "error": error}), 0
        answer = result.model_dump(exclude_unset=True)
        return answer_line({"id": row["id"], **answer}), len(answer["scored_article_sentences"])


def without_done(batch, done: frozenset):
    """The rows of an Arrow batch whose id is not in ``done`` (a job started again skips what is written)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not done:
        return batch
    ids = batch.column("id")
    return batch.filter(pc.invert(pc.is_in(ids, value_set=pa.array(list(done), type=ids.type))))
