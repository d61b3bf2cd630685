"""Subcommands of `python -m sla_core`.

Each module here defines `register(subparsers)`, which adds its subcommand(s) and sets
`func=<callable(args) -> int>` as the handler. `__main__` discovers the modules, so a new
subcommand is one new file. Modules starting with `_` are shared helpers, not commands.
"""
