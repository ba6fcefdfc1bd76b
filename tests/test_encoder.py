"""Sentences -> vectors: the real MiniLM encoder, its shape, normalisation, determinism and weights check."""

import numpy as np
import pytest

from app.encoder import DIM, EncoderError, SentenceEncoder, verify_weights, weights_dir


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder(cache_size=4)


def test_vectors_are_384_d_and_unit_length(encoder):
    vectors = encoder.encode(["The cat sat on the mat.", "Stocks fell on Monday.", "Hi."])
    assert vectors.shape == (3, DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_paraphrases_are_closer_than_unrelated_sentences(encoder):
    a, b, c = encoder.encode(["The cat sat on the mat.", "A cat was sitting on a mat.", "Interest rates rose again."])
    assert a @ b > 0.8
    assert a @ c < 0.3


def test_same_sentence_same_vector_whatever_its_batch(encoder):
    sentence = "Quarterly profits at the media giant jumped 76%."
    alone = encoder.encode_uncached([sentence])[0]
    in_batch = encoder.encode_uncached(["Short.", sentence, "A much longer sentence " * 20])[1]
    np.testing.assert_allclose(alone, in_batch, atol=1e-5)
    np.testing.assert_array_equal(encoder.encode_uncached([sentence])[0], alone)


def test_very_long_sentences_are_truncated_not_rejected(encoder):
    vectors = encoder.encode_uncached(["word " * 2000])
    assert vectors.shape == (1, DIM) and np.isfinite(vectors).all()


def test_cache_serves_repeats_and_stays_bounded(encoder):
    encoder.encode(["one.", "two.", "three."])
    hits = encoder.cache_hits
    encoder.encode(["one.", "two."])
    assert encoder.cache_hits == hits + 2
    encoder.encode([f"sentence {i}." for i in range(10)])
    assert len(encoder._cache) <= 4


def test_weights_with_another_hash_are_refused():
    with pytest.raises(EncoderError, match="sha256"):
        verify_weights(weights_dir(), expected="0" * 64)
