"""Text -> highlights, with no web framework: sentences, vectors, features, the LSTM's scores, the picks.

Training imports these modules too, so that it builds exactly the rows the service scores.
"""
