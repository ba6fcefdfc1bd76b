"""The ``brief`` command: highlight articles (files, URLs, stdin), and serve, train or evaluate Brief.

    brief highlight article.html https://example.com/story -    # files, URLs and stdin, text or HTML
    brief highlight --json --top 3 --model luhn *.txt            # one JSON line per input
    brief highlight --server http://localhost:8000 story.txt     # a running service scores it
    brief highlight --words 75 --avoid quotes,questions --keywords 5 story.txt   # a word budget, filters, key phrases
    brief batch archive/ highlights.jsonl --top 3                # JSON Lines or Parquet rows, on Ray (docs/batch.md)
    brief serve --port 8000                                      # gunicorn, as `make serve` runs it
    brief keys new news-desk                                     # an API key, and its line for the keys file
    brief train ... / brief evaluate ...                         # python -m training.train / training.evaluate

Each subcommand is one ``Command`` in ``COMMANDS``: its name, help, arguments and what it runs.
Exit codes: 0 done; 2 bad usage; 1 an input that could not be read or scored (the others still are).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from app.core.options import AVOID, MAX_KEYWORDS, MODELS
from app.settings import ROOT, Settings

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]  # adds the command's arguments
    run: Callable[[argparse.Namespace, list[str]], int]  # the exit code; the list holds passed-through arguments
    passthrough: bool = False  # unknown arguments (and --help) go to the program it runs


# --- brief highlight -----------------------------------------------------------------------------


@dataclass
class Input:
    """One input on the command line: a file, ``-`` (stdin) or a URL."""

    name: str

    @property
    def is_url(self) -> bool:
        return self.name.lower().startswith(("http://", "https://"))

    def fields(self, read_as: str) -> dict:
        """The article's fields for the API: ``{"url": ...}``, or ``{"text"|"html": ...}`` read from the file."""
        from app.ingest.extraction import looks_like_html

        if self.is_url:
            return {"url": self.name}
        data = sys.stdin.buffer.read() if self.name == "-" else Path(self.name).read_bytes()
        try:
            document = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 (byte {e.start})") from None
        if read_as == "auto":
            is_html = self.name.lower().endswith(HTML_SUFFIXES) or looks_like_html(document)
            read_as = "html" if is_html else "text"
        return {read_as: document}


class InputError(Exception):
    """An input that could not be read or scored; the message says why, the code is the API's."""

    def __init__(self, message: str, code: str = "unreadable_input"):
        super().__init__(message)
        self.code = code


def configure_highlight(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="FILE|URL|-",
                        help="articles to read: text or HTML files, http(s) URLs, or - for standard input")
    add_option_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print the API's JSON answer, one line per input, instead of the highlights")
    parser.add_argument("--server", metavar="URL",
                        help="score with a running Brief service at URL instead of loading the model here "
                             "(URL inputs are then fetched by the service, under its own rules)")
    parser.add_argument("--api-key", default=os.environ.get("BRIEF_API_KEY"),
                        help="the key to send to --server, if it wants one (default: $BRIEF_API_KEY)")
    parser.add_argument("--title", help="the article's title (default: the page's own, for HTML)")
    parser.add_argument("--as", dest="read_as", choices=["auto", "text", "html"], default="auto",
                        help="read files as text or HTML (default: HTML for .html files and documents that look "
                             "like a web page)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="a progress bar on stderr for several inputs (default: when stderr is a terminal)")


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    """The API's options (``app.api.schema.RequestOptions``) as flags of the same names."""
    budgets = parser.add_mutually_exclusive_group()  # one budget at most
    budgets.add_argument("--top", type=positive_int,
                         help=f"how many highlights (default {Settings.DEFAULT_TOP}, unless another budget is given)")
    budgets.add_argument("--words", type=positive_int, help="instead of --top: the best highlights whose words "
                         "together fit in this many (at least one)")
    budgets.add_argument("--chars", type=positive_int, help="instead of --top: the same in characters")
    budgets.add_argument("--ratio", type=share, help="instead of --top: this share of the sentences (0 < R <= 1), "
                         "rounded up")
    parser.add_argument("--avoid", type=kinds, metavar=",".join(AVOID),
                        help="never highlight these kinds of sentence (comma-separated; they are still scored)")
    parser.add_argument("--keywords", type=keyword_count, metavar=f"0-{MAX_KEYWORDS}",
                        help="add this many key phrases (default 0)")
    parser.add_argument("--model", choices=MODELS, default="lstm",
                        help="the trained LSTM (default) or Luhn's method")


def option_fields(args: argparse.Namespace) -> dict:
    """The options the flags set, as the API's JSON fields (None: unset). Without any budget, --top's default."""
    budgets = {"top": args.top, "words": args.words, "chars": args.chars, "ratio": args.ratio}
    if all(value is None for value in budgets.values()):
        budgets["top"] = Settings.DEFAULT_TOP
    return {**budgets, "model": args.model, "avoid": args.avoid, "keywords": args.keywords}


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {value!r}")
    return int(value)


def share(value: str) -> float:
    try:
        ratio = float(value)
    except ValueError:
        ratio = float("nan")
    if not 0 < ratio <= 1:
        raise argparse.ArgumentTypeError(f"must be a number above 0 and at most 1, not {value!r}")
    return ratio


def kinds(value: str) -> list[str]:
    given = [kind.strip() for kind in value.split(",") if kind.strip()]
    unknown = [kind for kind in given if kind not in AVOID]
    if unknown:
        raise argparse.ArgumentTypeError(f"choose from {','.join(AVOID)}, not {','.join(unknown)}")
    return given


def keyword_count(value: str) -> int:
    if not value.isdigit() or int(value) > MAX_KEYWORDS:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {MAX_KEYWORDS}, not {value!r}")
    return int(value)


def run_highlight(args: argparse.Namespace, _: list[str]) -> int:
    from tqdm import tqdm

    score = score_remotely if args.server else score_here
    inputs = [Input(name) for name in args.inputs]
    if sum(i.name == "-" for i in inputs) > 1:
        raise UsageError("standard input (-) can be read only once")
    failed = 0
    # tqdm's disable=None: shown only when stderr is a terminal
    hidden = True if len(inputs) < 2 else (None if args.progress is None else not args.progress)
    progress = tqdm(inputs, unit="article", file=sys.stderr, disable=hidden)
    for number, item in enumerate(progress):
        try:
            fields = {**item.fields(args.read_as), "title": args.title}
            result = score(fields, args)
        except (OSError, InputError) as e:
            failed += 1
            code = getattr(e, "code", "unreadable_input")
            message = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            progress.write(f"brief: {item.name}: {message}", file=sys.stderr)
            if args.json:
                print(json.dumps({"error": {"code": code, "message": message}}), flush=True)
            continue
        if args.json:
            print(json.dumps(result, sort_keys=True, ensure_ascii=False, separators=(",", ":")), flush=True)
        else:
            print(format_highlights(result, item.name if len(inputs) > 1 else None, first=number == 0), flush=True)
    progress.close()
    return EXIT_INPUT if failed else EXIT_OK


def score_here(fields: dict, args: argparse.Namespace) -> dict:
    """Score in this process, with the bundled model (loaded on the first input)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from app import local_highlighter
    from app.api.schema import EvaluateRequest, read_article, read_options
    from app.core.options import Options
    from app.errors import APIError

    try:
        article = read_article({k: v for k, v in fields.items() if v is not None})
        options = read_options(option_fields(args), Options(top=Settings.DEFAULT_TOP))
        request = EvaluateRequest([article], options, batch=False)
        return local_highlighter(fetch_any_address=True).highlight(request)[0].model_dump(exclude_unset=True)
    except APIError as e:
        if e.code == "not_ready":  # the model itself cannot load: no input can be scored
            raise SystemExit(f"brief: {e.message}") from None
        raise InputError(e.message, e.code) from None


def score_remotely(fields: dict, args: argparse.Namespace) -> dict:
    """``POST /api/evaluate`` to the service at ``--server``."""
    body = {k: v for k, v in {**fields, **option_fields(args)}.items() if v is not None}
    headers = {"Content-Type": "application/json"}
    if args.api_key:
        headers["Authorization"] = f"Bearer {args.api_key}"
    request = urllib.request.Request(args.server.rstrip("/") + "/api/evaluate", data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        try:
            error = json.loads(e.read())["error"]
        except (ValueError, KeyError, TypeError):
            error = {"code": f"http_{e.code}", "message": f"the service answered {e.code} {e.reason}"}
        raise InputError(error["message"], error["code"]) from None
    except (urllib.error.URLError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
        raise InputError(f"no answer from {args.server}: {reason}", "service_unreachable") from None


def format_highlights(result: dict, name: str | None, first: bool) -> str:
    """The Top Highlights as the reader page lists them: score, scroll position, sentence."""
    by_index = {s["index"]: s for s in result["scored_article_sentences"]}
    head = result.get("title") or "Untitled"
    lines = ([] if first else [""]) + ([f"== {name}"] if name else [])
    lines += [head, f"{len(by_index)} sentences · scored by {result['model']}"]
    if result.get("keywords"):
        lines.append("Key phrases: " + ", ".join(k["phrase"] for k in result["keywords"]))
    lines += ["", "Top Highlights"]
    for index in result["highlights"]:
        s = by_index[index]
        lines.append(f"  score {s['score']:.2f} · {s['scroll']:5.1f}%  {s['sent']}")
    return "\n".join(lines)


# --- brief batch ---------------------------------------------------------------------------------


def configure_batch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT",
                        help="JSON Lines or Parquet rows with an id and one of text, html or url (and an optional "
                             "title): a file, a folder of them or a glob")
    parser.add_argument("output", metavar="OUTPUT",
                        help="JSON Lines file (Parquet for a .parquet name): one row per id, the API's answer or "
                             "its error; written in parts as rows finish, so running again goes on where it stopped")
    add_option_arguments(parser)
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS"),
                        help="the Ray cluster to run on (default: $RAY_ADDRESS; without one, Ray starts on this "
                             "machine)")
    parser.add_argument("--actors", type=positive_int,
                        help="how many actors score, each a loaded model (default: $BRIEF_BATCH_ACTORS, else one "
                             "per $BRIEF_BATCH_ACTOR_CPUS cores of the cluster)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="a progress bar with rate and ETA on stderr (default: when stderr is a terminal)")
    parser.add_argument("--report", type=Path, metavar="FILE",
                        help="also write the run's figures (rows, sentences/s, Ray's start-up) to FILE as JSON")


def run_batch(args: argparse.Namespace, _: list[str]) -> int:
    """Highlight every row of INPUT that OUTPUT lacks, on Ray (``app.batch``)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import pyarrow  # noqa: F401
        import ray  # noqa: F401
    except ModuleNotFoundError as e:
        raise SystemExit(f"brief: brief batch needs {e.name}: pip install 'brief[batch]'") from None
    from app.api.schema import read_options
    from app.batch.archive import ArchiveError
    from app.batch.job import run_batch as run_job
    from app.core.options import Options
    from app.errors import APIError

    settings = Settings.load()
    try:
        options = read_options(option_fields(args), Options(top=settings.DEFAULT_TOP))
        report = run_job(args.input, args.output, options, settings, args.address, args.actors or 0, args.progress)
    except (APIError, ArchiveError) as e:
        raise UsageError(getattr(e, "message", str(e))) from None
    print(report.summary(args.output), file=sys.stderr)
    if args.report:
        args.report.write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return EXIT_OK


# --- brief keys ------------------------------------------------------------------------------------


def configure_keys(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="make a key for a client: the key on line 1, its keys-file line on line 2")
    new.add_argument("name", help="the client's name, as the logs and rate limits will show it")


def run_keys(args: argparse.Namespace, _: list[str]) -> int:
    """Print the new key (line 1, for the client) and its line for the keys file (line 2, for the server)."""
    from app.server.auth import new_key

    try:
        key, line = new_key(args.name)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(key)
    print(line)
    print(f"Give the key on the first line to {args.name}; it is not stored anywhere. Append the second line to "
          "the file BRIEF_API_KEYS_FILE names (the server reads it again when it changes).", file=sys.stderr)
    return EXIT_OK


# --- brief serve, train, evaluate ----------------------------------------------------------------


def configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)),
                        help="port (default $PORT or %(default)s)")


def run_serve(args: argparse.Namespace, _: list[str]) -> int:
    """gunicorn -c gunicorn.conf.py 'app:create_app()', in place of this process (signals reach it directly)."""
    os.environ["BRIEF_BIND"] = f"{args.host}:{args.port}"
    os.chdir(ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "app:create_app()"])


def configure_passthrough(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-h", "--help", action="store_true", help="the program's own help")


def run_module(module: str) -> Callable[[argparse.Namespace, list[str]], int]:
    def run(args: argparse.Namespace, passed: list[str]) -> int:
        # A child process: app/ never imports training/ (and the training extras may be missing).
        command = [sys.executable, "-m", module, *(["--help"] if args.help else []), *passed]
        os.execv(sys.executable, command)

    return run


COMMANDS = [
    Command("highlight", "score articles (text or HTML files, URLs, stdin) and print their top highlights",
            configure_highlight, run_highlight),
    Command("batch", "highlight an archive (JSON Lines or Parquet rows) on Ray, embedded here or on a cluster; "
                     "resumable", configure_batch, run_batch),
    Command("serve", "serve the API and the reader page with gunicorn, as `make serve` does",
            configure_serve, run_serve),
    Command("keys", "make API keys for BRIEF_API_KEYS_FILE", configure_keys, run_keys),
    Command("train", "train a model: python -m training.train with these arguments (`brief train --help`; "
                     "with none, the shipped recipe: `python -m training.recipe` prints it)",
            configure_passthrough, run_module("training.train"), passthrough=True),
    Command("evaluate", "ROUGE of the model and the baselines: python -m training.evaluate with these arguments",
            configure_passthrough, run_module("training.evaluate"), passthrough=True),
]


class UsageError(Exception):
    """Bad usage found after parsing (exit 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brief", description="Brief highlights the sentences of an article that "
                                     "a summary would keep.", epilog="Exit codes: 0 done, 2 bad usage, 1 an input "
                                     "that could not be read or scored (the others are still processed).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.help,
                                  add_help=not command.passthrough)
        command.configure(sub)
        sub.set_defaults(command_spec=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    command: Command = args.command_spec
    if extra and not command.passthrough:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return command.run(args, extra)
    except UsageError as e:
        parser.error(str(e))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
