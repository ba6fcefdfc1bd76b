"""Text -> sentences: offsets, abbreviations, offline nltk.sent_tokenize."""

import nltk
import pytest

from app.core.sentences import SentenceSplitter
from training.data import split_run_together

NLTK_DATA = "models/nltk_data"


@pytest.fixture(scope="module")
def splitter():
    return SentenceSplitter(NLTK_DATA)


def test_every_sentence_slices_back_to_its_text(splitter):
    text = "  First sentence here.  Second one follows!\n\nA third, after a blank line? Yes."
    sentences = splitter.split(text)
    assert [s.text for s in sentences] == [
        "First sentence here.",
        "Second one follows!",
        "A third, after a blank line?",
        "Yes.",
    ]
    for s in sentences:
        assert text[s.start : s.end] == s.text


def test_a_blank_line_ends_a_heading_without_a_full_stop(splitter):
    text = "Night Trains Return\n\nOvernight trains are back. They run nightly.\n \nA new paragraph"
    sentences = splitter.split(text)
    assert [s.text for s in sentences] == ["Night Trains Return", "Overnight trains are back.", "They run nightly.", "A new paragraph"]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_titles_with_a_full_stop_do_not_end_a_sentence(splitter):
    text = "Mr. Smith met Dr. Jones in the U.S. capital. They talked."
    assert [s.text for s in splitter.split(text)] == ["Mr. Smith met Dr. Jones in the U.S. capital.", "They talked."]


def test_empty_and_punctuation_only_text_has_no_sentences(splitter):
    assert splitter.split("") == []
    assert splitter.split("   \n\t ") == []
    assert splitter.split("... !!! ???") == []


def test_nltk_sent_tokenize_uses_the_shipped_parameters_offline(splitter):
    # the splitter put models/nltk_data first on nltk.data.path; no download is involved
    text = "Prices rose 2% to $11.1bn. Profits fell."
    assert nltk.sent_tokenize(text) == [s.text for s in splitter.split(text)] == ["Prices rose 2% to $11.1bn.", "Profits fell."]


def test_missing_parameters_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="Punkt"):
        SentenceSplitter(tmp_path)


def test_run_together_summary_sentences_are_split():
    summary = 'Sales rose 2% to $11.1bn from $10.9bn.For the full year, profit was $3.36bn.It said "no".Next one.'
    assert split_run_together(summary) == [
        "Sales rose 2% to $11.1bn from $10.9bn.",
        "For the full year, profit was $3.36bn.",
        'It said "no".',
        "Next one.",
    ]


def test_a_quote_between_sentences_goes_where_the_article_has_it():
    article = 'Markets fell. "The deficit matters," he said. Other news.'
    summary = 'Markets fell."The deficit matters," he said.'
    assert split_run_together(summary, article) == ["Markets fell.", '"The deficit matters," he said.']


def test_punkt_trained_here_is_saved_as_text_and_loads(tmp_path):
    from training.punkt import train_punkt

    texts = ["The firm said profits rose. Its shares fell in New York. Analysts were surprised."] * 20
    folder = train_punkt(texts, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["abbrev_types.txt", "collocations.tab", "ortho_context.tab", "sent_starters.txt"]
    assert "mr" in (folder / "abbrev_types.txt").read_text().split()  # seeded titles
    splitter = SentenceSplitter(tmp_path)
    assert [s.text for s in splitter.split("Mr. Brown arrived. He sat down.")] == ["Mr. Brown arrived.", "He sat down."]
    use_default = SentenceSplitter(NLTK_DATA)  # put the shipped parameters back first for other tests
    assert use_default.split("One. Two.")[1].text == "Two."
