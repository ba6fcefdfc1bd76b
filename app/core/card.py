"""The model card: what a saved LSTM is, how it was made, and what it must be served with.

Training writes it beside the ``.h5`` (``models/brief.json``); serving, evaluation and the
benchmarks read it, and serving refuses a model whose card does not match the featurizer and the
encoder it would be served with (their rows would not be the rows it was fit on, and nothing else
would say so). The JSON is the one ``training/train.py`` has always written: fields this type does
not name are kept as they are (``extra``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from app.core.encoder import DIM, POOLING, encoder_signature, reference_vectors
from app.core.probes import PROBE_SENTENCES
from app.core.model_file import ModelFileError, load_keras_model
from app.core.weights import ENCODER_ID, WEIGHTS_SHA256

# The drift reference in the card is a histogram of validation scores in these bins on [0, 1];
# the service counts live scores in the same bins (app/server/metrics.py), so the two compare.
SCORE_BINS = 20
SCORE_EDGES = tuple(round(i / SCORE_BINS, 4) for i in range(SCORE_BINS + 1))
SCORE_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class EncoderCard:
    """The sentence encoder a model was fit on: vectors of any other are not the ones it knows."""

    id: str | None = None
    weights_sha256: str | None = None
    dim: int | None = None
    pooling: str | None = None
    precision: str | None = None  # of the vectors the model was fit on
    signature: str | None = None
    # Sentences and their float32 vectors from keras-hub under TensorFlow: what a worker checks its
    # encoder against before it is ready (app/core/probes.py).
    probe_sentences: list[str] | None = None
    probe_vectors: list[str] | None = None  # each vector's 384 float32 (little-endian), base64: exact and 2 kB a line

    def reference(self) -> np.ndarray:
        """The probe vectors ``(n_probes, 384)``."""
        return np.stack([np.frombuffer(base64.b64decode(v), dtype="<f4") for v in self.probe_vectors])

    @classmethod
    def describe(cls, precision: str = "float32") -> "EncoderCard":
        """This version's encoder (``app.core.encoder``), run in ``precision``: what a card records of it."""
        return cls(ENCODER_ID, WEIGHTS_SHA256, DIM, POOLING, precision, encoder_signature(precision))

    def with_probes(self) -> "EncoderCard":
        """This description with the reference vectors of ``PROBE_SENTENCES``, computed now (TensorFlow float32)."""
        vectors = reference_vectors(PROBE_SENTENCES)  # (n_probes, 384)
        return dataclasses.replace(self, probe_sentences=list(PROBE_SENTENCES), probe_vectors=[
            base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") for v in vectors])


@dataclass
class ModelCard:
    id: str = "brief"
    created: str | None = None
    model_file: str | None = None
    model_sha256: str | None = None  # the .h5's; checked before it is loaded
    encoder: EncoderCard | None = None
    features: list[str] | None = None  # the document features after the vector, in order (app/core/features.py)
    input_dim: int | None = None  # vector + features, per sentence
    punkt: dict | None = None  # the splitter's parameter files and their sha256
    labeler: str | None = None
    training_data: dict | None = None
    hyperparameters: dict | None = None
    chosen: str | None = None
    k: int | None = None  # highlights per article when the model was chosen
    pick_rule: str = "top"  # how the API picks highlights from this model's scores (app/core/ranking.py)
    length_exponent: float = 0.0  # picks rank by score / words ** this (app/core/ranking.py), chosen with the rule
    selection_criterion: str | None = None
    validation_criterion: float | None = None
    validation_rouge: dict | None = None
    validation_lead: dict | None = None  # Lead-K's ROUGE on each validation set: what the shipping guard compares
    above_lead_on_validation: bool | None = None  # the guard: above Lead-K's R-1 on every validation set
    test_rouge: dict | None = None
    validation_scores: dict | None = None  # score_histogram of the validation sentences: the drift reference
    versions: dict | None = None
    train_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # fields of the JSON this type does not name

    @classmethod
    def from_dict(cls, data: dict) -> "ModelCard":
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        encoder = known.get("encoder")
        if isinstance(encoder, dict):
            known["encoder"] = EncoderCard(**{k: v for k, v in encoder.items()
                                              if k in {f.name for f in dataclasses.fields(EncoderCard)}})
        elif isinstance(encoder, str):  # cards before the encoder had a signature named it only
            known["encoder"] = EncoderCard(id=encoder)
        return cls(**known, extra={k: v for k, v in data.items() if k not in names})

    def to_dict(self) -> dict:
        """The card's JSON object: every field that is set, then ``extra``."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "extra" or value is None:
                continue
            out[f.name] = ({k: v for k, v in dataclasses.asdict(value).items() if v is not None}
                           if isinstance(value, EncoderCard) else value)
        return out | self.extra

    @classmethod
    def read(cls, path: str | Path) -> "ModelCard":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ModelFileError(f"cannot read model card {path}: {e}") from e
        if not isinstance(data, dict):
            raise ModelFileError(f"cannot read model card {path}: not a JSON object")
        return cls.from_dict(data)

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def validate(self, input_dim: int, features: Sequence[str], encoder: EncoderCard) -> None:
        """Refuse to serve this model with a featurizer or an encoder other than the ones it was fit on.

        ``input_dim`` is the loaded model's, ``features`` and ``encoder`` what serving would feed it.
        """
        width = (encoder.dim or 0) + len(features)
        if input_dim != width:
            raise ModelFileError(
                f"model {self.model_file or self.id} takes {input_dim} features per sentence, but this featurizer "
                f"makes {width}: retrain it with this version of Brief"
            )
        if self.input_dim is not None and self.input_dim != input_dim:
            raise ModelFileError(f"the card of {self.id} says input_dim {self.input_dim}, its model takes {input_dim}")
        if self.features is None:
            raise ModelFileError(f"the card of {self.id} lists no features: it cannot be checked against this featurizer")
        if list(self.features) != list(features):
            where = next((i for i, (a, b) in enumerate(zip(self.features, features)) if a != b),
                         min(len(self.features), len(features)))
            raise ModelFileError(
                f"model {self.id} was fit on the features {list(self.features)}, but this featurizer makes "
                f"{list(features)} (they differ from position {where}): retrain it with this version of Brief")
        mine = self.encoder or EncoderCard()
        # With probe vectors the precision is proven instead, at start (app.core.probes.prove_encoder):
        # a model fit on float32 vectors may be served in bfloat16 where those agree with them.
        for name in ("weights_sha256", "pooling") + (() if mine.probe_vectors else ("precision",)):
            theirs = getattr(encoder, name)
            if getattr(mine, name) != theirs:
                raise ModelFileError(
                    f"model {self.id} was fit on vectors with encoder {name} {getattr(mine, name)!r}, but this "
                    f"encoder has {theirs!r}: serve it with the encoder it was trained with, or retrain it"
                    + (" (or give its card probe vectors: python -m training.probes)" if name == "precision" else ""))


def score_histogram(scores: np.ndarray) -> dict:
    """Histogram (``SCORE_BINS`` bins on [0, 1]) and quantiles of predicted scores: a card's ``validation_scores``."""
    counts, edges = np.histogram(scores, bins=SCORE_BINS, range=(0.0, 1.0))
    return {
        "n": int(scores.size),
        "bin_edges": [round(float(e), 4) for e in edges],
        "counts": counts.tolist(),
        "quantiles": {str(q): round(float(np.quantile(scores, q)), 6) for q in SCORE_QUANTILES},
        "mean": round(float(scores.mean()), 6),
    }


def load_model_with_card(model_path: str | Path, card_path: str | Path, features: Sequence[str],
                         encoder: EncoderCard, load: Callable[..., Any] = load_keras_model) -> tuple[ModelCard, Any]:
    """The saved LSTM and its card, checked as serving checks them: the ``.h5``'s sha256 against the
    card, then (``ModelCard.validate``) the featurizer and the encoder it would be fed by.

    ``load(path, sha256)``: Keras (training averages and fits the models it loads), or serving's
    ``app.core.model_file.load_scoring_model``."""
    card = ModelCard.read(card_path)
    model = load(model_path, card.model_sha256)
    card.validate(int(model.input_shape[0][-1]), features, encoder)
    return card, model
