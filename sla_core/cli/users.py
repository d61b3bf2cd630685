"""`python -m sla_core users add FILE NAME`: add a teacher to the app's login file (see `app.py --auth`).

The password is asked for twice on the terminal (or read from $SLA_NEW_PASSWORD, for scripts); the file
holds only scrypt hashes and is created owner-only.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("users", help="manage the app's teacher logins", description=__doc__)
    sub = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add a teacher (or change a password with --replace)")
    add.add_argument("file", help="the login file, e.g. teachers.auth (created when absent)")
    add.add_argument("name", help="the teacher's login name")
    add.add_argument("--replace", action="store_true", help="change the password of an existing teacher")
    add.set_defaults(func=run_add)
    listing = sub.add_parser("list", help="list the teachers (the first owns data saved before login)")
    listing.add_argument("file")
    listing.set_defaults(func=run_list)


def run_add(args: argparse.Namespace) -> int:
    from ..results.users import add_user

    password = os.environ.get("SLA_NEW_PASSWORD")
    if password is None:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("the passwords differ; nothing was changed", file=sys.stderr)
            return 2
    try:
        add_user(args.file, args.name, password, replace=args.replace)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    print(f"{args.name} can now log in (file {args.file})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ..results.users import read_users

    for k, user in enumerate(read_users(args.file)):
        print(user + ("  (owns data saved before login)" if k == 0 else ""))
    return 0
