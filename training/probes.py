"""Give model cards the probe vectors a worker checks its encoder against at start (``app.core.probes``).

    python -m training.probes models/brief.json models/members/news.json

Training writes them into every card it makes; this adds them to cards made before. The vectors
are keras-hub's encoder under TensorFlow in float32, whatever precision the model was fit in.
"""

from __future__ import annotations

import argparse
import dataclasses

from app.core.card import EncoderCard, ModelCard


def add_probes(card: ModelCard, probes: EncoderCard) -> ModelCard:
    """``card`` with the probe sentences and reference vectors of ``probes`` (``EncoderCard.with_probes``)."""
    encoder = card.encoder or EncoderCard.describe()
    return dataclasses.replace(card, encoder=dataclasses.replace(
        encoder, probe_sentences=probes.probe_sentences, probe_vectors=probes.probe_vectors))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cards", nargs="+", help="model card JSON files, rewritten in place")
    args = parser.parse_args(argv)
    probes = EncoderCard.describe().with_probes()
    for path in args.cards:
        add_probes(ModelCard.read(path), probes).write(path)
        print(f"{path}: {len(probes.probe_sentences)} probe vectors")


if __name__ == "__main__":
    main()
