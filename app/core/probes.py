"""Proof at every start that the encoder gives the vectors the model was trained on.

The model card carries the float32 vectors of ``PROBE_SENTENCES`` from keras-hub's encoder under
TensorFlow (the reference; ``python -m training.probes`` writes them, and so does every training
run). Before a worker reports ready it encodes the same sentences with the encoder it will serve
with: below cosine ``MIN_COSINE`` on any of them, a bfloat16 encoder falls back to float32 (logged),
and a float32 one that still misses is refused.
"""

from __future__ import annotations

import logging

import numpy as np

from app.core.weights import EncoderError

log = logging.getLogger(__name__)

MIN_COSINE = 0.9999

# News prose of every length bucket the encoder batches by (app/core/batching.py's TOKEN_BUCKETS),
# with numbers, quotes, currency, abbreviations, accents and lower case: what the service meets.
PROBE_SENTENCES = (
    "Hi.",
    "Stocks fell on Monday.",
    "The cat sat on the mat.",
    "Interest rates rose again, the Bank of England said.",
    "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn (£600m) for the three months to December.",
    "\"We are very pleased,\" said the coach after Saturday's 3-1 win.",
    "the minister, who spoke on condition of anonymity, said talks would resume next week.",
    "Mr Blair told MPs: \"This is the right decision for Britain.\"",
    "Shares in the firm closed 4.5p lower at 231p.",
    "The café in São Paulo reopened after a naïve attempt at a résumé-based hiring drive.",
    "Police said a 34-year-old man had been arrested on suspicion of murder.",
    "Yukos will file for bankruptcy protection in Houston, Texas, its lawyers said on Tuesday.",
    "Ireland beat England 19-13 at Lansdowne Road to keep their Triple Crown hopes alive.",
    "The film, which cost $200m to make, took $68m in its first weekend at the North American box office.",
    "Scientists at the University of Oxford say the vaccine was 90% effective in trials involving 11,636 volunteers.",
    "BERLIN, Germany (CNN) -- German Chancellor Angela Merkel on Wednesday urged European leaders to act quickly.",
    "by. daily mail reporter. published: 12:01 est, 3 march 2014.",
    "The UK economy grew by 0.7% in the third quarter of the year, according to the Office for National Statistics, "
    "beating analysts' expectations of 0.5% growth and easing fears of a slowdown ahead of next year's election.",
    "Apple's iPod, which has sold more than 10 million units since its launch in 2001, faces growing competition "
    "from rivals including Sony, Samsung and Creative, who have all cut prices in recent months.",
    "Chelsea manager Jose Mourinho said his side were \"the best team in the country\" after they moved nine points "
    "clear at the top of the Premiership with a 2-0 victory over Everton at Stamford Bridge on Saturday evening.",
    "The report, published by the Commons public accounts committee, found that the Ministry of Defence had wasted "
    "at least £1.5bn on equipment projects that were either cancelled or delivered years late, and said that "
    "officials had repeatedly failed to learn the lessons of earlier mistakes despite warnings from auditors.",
    "In a statement released on Thursday, the company said it expected full-year revenue of between $4.2bn and "
    "$4.4bn, down from an earlier forecast of $4.8bn, citing weaker demand in Europe and Asia, a stronger dollar "
    "and the cost of restructuring its manufacturing operations in Mexico, where about 3,000 jobs will go over "
    "the next two years as production moves to lower-cost plants in China and Vietnam.",
    "OK?",
    "No.",
    "2005.",
    "It was, he said, \"a disaster\".",
    "(Reuters) - Oil prices hit a record high of more than $55 a barrel on Monday.",
    "The 47-year-old, who has three children, denies the charges.",
    "Voters in the 25-nation bloc go to the polls on 10 June.",
    "@BBCNews: live updates from Westminster as MPs vote on the bill #brexit",
    "Mr. Smith, Dr. Jones and Prof. Brown arrived at 9 a.m. on Jan. 5th.",
    "The ruling was \"a victory for common sense\", said campaigners outside the High Court in London, where "
    "dozens of supporters had gathered since dawn; the government said it would study the judgment carefully "
    "before deciding whether to appeal to the Supreme Court, a process that could take several months and "
    "would delay the scheme's introduction until at least the spring of next year, according to officials "
    "familiar with the case, who asked not to be named because the discussions were private and ongoing.",
)


def probe_cosines(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Cosine of each vector ``(n, dim)`` to its reference ``(n, dim)``."""
    vectors, reference = np.asarray(vectors, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
    return (vectors * reference).sum(axis=1) / np.maximum(norms, 1e-12)


def prove_encoder(encoder, card) -> float | None:
    """Check ``encoder`` (a ``SentenceEncoder``) against the probe vectors of ``card`` (the model card's ``EncoderCard``).

    Falls back from bfloat16 to float32 below ``MIN_COSINE`` (logged); raises ``EncoderError`` when
    float32 misses too. Returns the smallest cosine of the precision kept, also kept as the encoder's
    ``probe_min_cosine`` (None: the card has no probes, and ``ModelCard.validate`` has required the
    precision the model was fit in instead).
    """
    if card is None or not card.probe_vectors:
        return None
    reference = card.reference()  # (n_probes, 384)
    worst = float(probe_cosines(encoder.encode_uncached(card.probe_sentences), reference).min())
    if worst < MIN_COSINE and encoder.precision != "float32":
        log.warning("encoder %s %s gives the card's probe sentences min cosine %.6f < %s: falling back to float32",
                    encoder.runtime, encoder.precision, worst, MIN_COSINE)
        encoder.use_precision("float32")
        worst = float(probe_cosines(encoder.encode_uncached(card.probe_sentences), reference).min())
    if worst < MIN_COSINE:
        raise EncoderError(f"encoder {encoder.runtime} {encoder.precision} does not reproduce the model card's probe "
                           f"vectors (min cosine {worst:.6f} < {MIN_COSINE}): its vectors are not the ones the model knows")
    log.info("encoder %s %s reproduces the card's %d probe vectors: min cosine %.6f",
             encoder.runtime, encoder.precision, len(reference), worst)
    encoder.probe_min_cosine = worst
    return worst
