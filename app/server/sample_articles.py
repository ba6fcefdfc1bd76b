"""The bundled sample articles for the reader page: ``app/samples/*.txt``, a title line, a blank line, the text."""

from __future__ import annotations

from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"  # beside templates/ and static/


def load_samples(folder: Path = SAMPLES_DIR) -> list[dict]:
    samples = []
    for path in sorted(folder.glob("*.txt")):
        title, _, text = path.read_text(encoding="utf-8").partition("\n")
        samples.append({"id": path.stem, "title": title.strip(), "text": text.strip() + "\n"})
    return samples
