"""`python -m sla_core <command>`: assess, train, predict, fit-fusion, evaluate, ..."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sla_core", description="Spoken language assessment (CEFR 2.0-5.5).")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in sorted(pkgutil.iter_modules(cli.__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue  # helpers of the commands, not commands
        importlib.import_module(f"{cli.__name__}.{module.name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
