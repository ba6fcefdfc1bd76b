"""What the tests and the benchmarks share to run Brief as its users do: a real gunicorn, the machine's description.

Neither the service (``app``) nor training: support for ``tests/`` and ``bench/``, which import it
and the library, never each other (``tests/test_layers.py``).
"""
