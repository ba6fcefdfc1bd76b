"""The ``brief`` command: ``brief keys new NAME`` makes an API key (see ``app.server.auth``)."""

from __future__ import annotations

import argparse
import sys

from app.server.auth import new_key


def keys_new(args: argparse.Namespace) -> int:
    """Print the new key (line 1, for the client) and its line for the keys file (line 2, for the server)."""
    try:
        key, line = new_key(args.name)
    except ValueError as e:
        print(f"brief keys new: {e}", file=sys.stderr)
        return 2
    print(key)
    print(line)
    print(f"Give the key on the first line to {args.name}; it is not stored anywhere. Append the second line to "
          "the file BRIEF_API_KEYS_FILE names (the server reads it again when it changes).", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brief", description="Brief: highlights the sentences a summary would keep.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    keys = commands.add_parser("keys", help="make API keys", description="Make API keys for BRIEF_API_KEYS_FILE.")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    new = keys_commands.add_parser("new", help="make a key for a client and print it with its keys-file line")
    new.add_argument("name", help="the client's name, as the logs and rate limits will show it")
    new.set_defaults(run=keys_new)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
