"""Distillation: training labels from a teacher's scores instead of from the summary.

An average of several LSTMs scores better on validation than any one of them, but each member
costs the service its own XLA graphs, memory and time per article
(``docs/experiments/three-lstm-serving``). ``--teacher`` fits one LSTM to such an average instead:
every training sentence's label becomes the teachers' mean score for it, the score the service
would give it (the whole article, as served, before ``--max-sentences`` cuts it for a batch).
Validation keeps the labeler's labels, so early stopping and the choice of fit still measure the
real target, not the teacher.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from app.core.scorer import predict_rows
from training.examples import Example

log = logging.getLogger("training")


def teacher_labels(examples: list[Example], teachers: list) -> list[Example]:
    """``examples`` with each sentence's label replaced by the mean of the ``teachers``' scores for it."""
    if not teachers:
        return examples
    rows = [e.rows for e in examples]
    total = [np.zeros(len(r), dtype=np.float64) for r in rows]
    for i, teacher in enumerate(teachers):
        log.info("teacher %d of %d: scoring %d training articles", i + 1, len(teachers), len(rows))
        for acc, scores in zip(total, predict_rows(teacher, rows)):
            acc += scores
    return [dataclasses.replace(e, labels=(acc / len(teachers)).astype(np.float32)) for e, acc in zip(examples, total)]
