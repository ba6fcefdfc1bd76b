"""The encode stage on its own: fill the vector cache for data sets before training or evaluating.

    nohup python -m training.encode --data bbc:train --data cnndm:train_lowercased~12000 > runs/encode.log 2>&1 &
    python -m training.encode --ray --address ray-head:6379 --data cnndm:train_lowercased   # on Ray actors

Encoding is most of a large run's time (about a million CNN/DailyMail sentences take an hour on
two cores), so it can run in the background with a log: every chunk is appended to the cache as
soon as it is encoded, progress lines give the rate and an ETA, and a run that was stopped goes on
where it stopped when started again. ``training.train`` and ``training.evaluate`` then find every
vector cached. Sets are encoded in the order given, so name the ones needed first first.
With ``--ray`` the encoding runs on Ray actors (``training.ray_encoder``): embedded on this machine, or on
the cluster at ``--address`` (or ``RAY_ADDRESS``); the cache is filled and resumed the same way.
"""

from __future__ import annotations

import argparse
import logging
import os

from app.core.encoder import SentenceEncoder
from app.core.sentences import SentenceSplitter
from app.settings import NLTK_DATA, VECTOR_CACHE, Settings
from training.data import LoadReport, add_data_arguments, load_dataset
from training.vector_cache import VectorCache

log = logging.getLogger("training.encode")


def encode_sets(specs: list[str], data_root: str, cache: VectorCache, splitter: SentenceSplitter,
                encoder: SentenceEncoder) -> dict[str, int]:
    """Encode every sentence of each set that the cache lacks; returns how many were encoded per set."""
    encoded = {}
    for spec in specs:
        articles = load_dataset(spec, data_root, LoadReport(), dedupe=False)
        sentences = [s.text for a in articles for s in splitter.split(a.text)]
        log.info("%s: %d articles, %d sentences, %d not cached", spec, len(articles), len(sentences),
                 len(cache.missing(sentences)))
        encoded[spec] = cache.fill(sentences, encoder)
    return encoded


def main(argv: list[str] | None = None) -> dict[str, int]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--nltk-data", default=NLTK_DATA)
    parser.add_argument("--cache", default=VECTOR_CACHE)
    parser.add_argument("--ray", action="store_true", help="encode on Ray actors (embedded, or the cluster at --address)")
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS"), help="with --ray: the Ray cluster "
                        "(default $RAY_ADDRESS; none: Ray starts on this machine)")
    parser.add_argument("--actors", type=int, default=0, help="with --ray: encoder actors (default: one per "
                        "BRIEF_BATCH_ACTOR_CPUS cores of the cluster)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.ray:
        from app.batch.cluster import ray_session
        from app.batch.job import pool_size
        from training.ray_encoder import RayEncoder

        threads = Settings.load().BATCH_ACTOR_CPUS
        with ray_session(args.address):
            encoder = RayEncoder(args.actors or pool_size(threads), threads)
            return encode_sets(args.data, args.data_root, VectorCache(args.cache, encoder.signature),
                               SentenceSplitter(args.nltk_data), encoder)
    encoder = SentenceEncoder()
    return encode_sets(args.data, args.data_root, VectorCache(args.cache, encoder.signature),
                       SentenceSplitter(args.nltk_data), encoder)


if __name__ == "__main__":
    main()
