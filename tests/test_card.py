"""The model card: read and written as training always wrote it, and checked against what serves it."""

import json

import pytest

from app import ROOT
from app.core.card import SCORE_EDGES, EncoderCard, ModelCard, score_histogram
from app.core.features import FEATURES
from app.core.model_file import ModelFileError

SHIPPED = ROOT / "models" / "brief.json"
WIDTH = 384 + len(FEATURES)


def test_the_shipped_card_reads_and_writes_back_byte_for_byte(tmp_path):
    card = ModelCard.read(SHIPPED)
    assert card.to_dict() == json.loads(SHIPPED.read_text())
    card.write(tmp_path / "card.json")
    assert (tmp_path / "card.json").read_text() == SHIPPED.read_text()


def test_fields_the_type_does_not_name_are_kept():
    card = ModelCard.from_dict({"id": "m", "distributed": {"workers": 2}})
    assert card.id == "m" and card.pick_rule == "top"
    assert card.to_dict() == {"id": "m", "pick_rule": "top", "length_exponent": 0.0, "distributed": {"workers": 2}}


def test_the_shipped_card_fits_this_featurizer_and_encoder():
    ModelCard.read(SHIPPED).validate(WIDTH, FEATURES, EncoderCard.describe())


@pytest.mark.parametrize("change, message", [
    ({"features": list(reversed(FEATURES))}, "differ from position 0"),
    ({"features": [*FEATURES[:5], "renamed", *FEATURES[6:]]}, "differ from position 5"),
    ({"features": None}, "lists no features"),
    ({"input_dim": WIDTH - 1}, f"says input_dim {WIDTH - 1}"),
])
def test_a_card_that_does_not_fit_the_featurizer_is_refused_with_the_reason(change, message):
    card = ModelCard.from_dict({**json.loads(SHIPPED.read_text()), **change})
    with pytest.raises(ModelFileError, match=message):
        card.validate(WIDTH, FEATURES, EncoderCard.describe())


def test_a_model_of_another_width_is_refused():
    with pytest.raises(ModelFileError, match="retrain it with this version of Brief"):
        ModelCard.read(SHIPPED).validate(WIDTH + 1, FEATURES, EncoderCard.describe())


@pytest.mark.parametrize("field, value", [("weights_sha256", "0" * 64), ("pooling", "cls")])
def test_vectors_from_another_encoder_are_refused(field, value):
    served = EncoderCard(**{**EncoderCard.describe().__dict__, field: value})
    with pytest.raises(ModelFileError, match=f"encoder {field}"):
        ModelCard.read(SHIPPED).validate(WIDTH, FEATURES, served)


def test_another_precision_is_refused_without_probe_vectors_and_left_to_the_probes_with_them():
    served = EncoderCard.describe("bfloat16")
    shipped = ModelCard.read(SHIPPED)
    assert shipped.encoder.probe_vectors  # the check at start (app.core.probes) decides
    shipped.validate(WIDTH, FEATURES, served)
    shipped.encoder.probe_vectors = None
    with pytest.raises(ModelFileError, match="encoder precision 'float32'.*python -m training.probes"):
        shipped.validate(WIDTH, FEATURES, served)


def test_the_score_histogram_uses_the_bins_the_service_counts_in():
    import numpy as np

    histogram = score_histogram(np.array([0.0, 0.04, 0.05, 0.5, 1.0]))
    assert histogram["bin_edges"] == list(SCORE_EDGES) and len(histogram["counts"]) == 20
    assert histogram["counts"][0] == 2 and histogram["counts"][1] == 1 and histogram["counts"][-1] == 1
    assert histogram["n"] == 5 and histogram["mean"] == pytest.approx(0.318)
