"""Sentences -> vectors: the real MiniLM encoder, its shape, normalisation, determinism and weights check."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.core.coalescer import Coalescer
from app.core.encoder import DIM, SentenceEncoder
from app.core.weights import EncoderError, verify_weights, weights_dir


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


def test_threads_that_wait_together_share_one_encoder_call():
    calls = []
    first_call_running, release = threading.Event(), threading.Event()

    def fn(items):
        calls.append(list(items))
        if len(calls) == 1:  # hold the first call until the other callers are queued behind it
            first_call_running.set()
            release.wait(5)
        return np.array([[len(x)] for x in items])

    together = Coalescer(fn, max_items=100)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(together, ["a"])
        first_call_running.wait(5)
        rest = [pool.submit(together, [x * 2, x * 3]) for x in "bcd"]
        while len(together._queue) < 3:
            threading.Event().wait(0.01)
        release.set()
        assert first.result().tolist() == [[1]]
        assert [f.result().tolist() for f in rest] == [[[2], [3]]] * 3  # each caller gets its own rows
    assert len(calls) == 2 and sorted(calls[1]) == sorted(["bb", "bbb", "cc", "ccc", "dd", "ddd"])
    assert (together.calls, together.jobs) == (2, 4)


def test_a_shared_call_never_exceeds_max_items_unless_one_caller_needs_more():
    sizes = []
    together = Coalescer(lambda items: sizes.append(len(items)) or np.zeros((len(items), 1)), max_items=5)
    together._running = True  # as if a call were under way: these three callers queue
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(together, ["x"] * n) for n in (3, 3, 7)]
        while len(together._queue) < 3:
            threading.Event().wait(0.01)
        with together._changed:
            together._running = False
            together._changed.notify_all()
        assert [len(f.result()) for f in futures] == [3, 3, 7]
    assert sorted(sizes) == [3, 3, 7]


def test_a_failed_shared_call_fails_its_callers_and_the_next_call_runs():
    def fn(items):
        if "boom" in items:
            raise RuntimeError("encoder failed")
        return np.ones((len(items), 1))

    together = Coalescer(fn, max_items=10)
    with pytest.raises(RuntimeError, match="encoder failed"):
        together(["boom"])
    assert together(["fine", "fine"]).shape == (2, 1)


def test_concurrent_requests_get_the_vectors_they_would_get_alone():
    encoder = SentenceEncoder(cache_size=0)
    articles = [[f"Article {a} says thing number {i} about the economy." for i in range(3 + a)] for a in range(6)]
    articles[5][0] = articles[4][0]  # the same sentence in two concurrent requests
    alone = [encoder.encode(a) for a in articles]
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(encoder.encode, articles))
    for a, b in zip(alone, together):
        np.testing.assert_allclose(a, b, atol=1e-5)
