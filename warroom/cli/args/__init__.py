"""The CLI's grammar: every command's name, options and help, with no implementation behind it.

`warroom --version`, `warroom --help` and the parse before any command runs build every
subparser; importing each command's module for that would load the domain, the store and
asyncio for a command that needs none of them. So these modules import nothing but argparse
and the CLI's own argument types, each subcommand names its handler as text
(`"warroom.cli.incidents:note"`), and `warroom.cli.main` imports that module when the command
runs. Values the domain owns (note kinds, phases, checklist keys) are spelled out here;
tests/test_startup_imports.py checks that they match the domain's.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

# A handler: a callable, or "module:function" imported when the command runs.
Handler = Callable[..., Any] | str


def command_adder(sub: Any, common: argparse.ArgumentParser, module: str | None = None
                  ) -> Callable[..., argparse.ArgumentParser]:
    """`cmd(name, help, handler)` for a module's register(): a subcommand that takes the
    common options and runs `handler(ctx)`. With `module`, a handler given as a bare name is
    that module's function, imported only when the command runs."""

    def cmd(name: str, help: str, handler: Handler, **kw: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common], **kw)
        if isinstance(handler, str) and ":" not in handler and module is not None:
            handler = f"{module}:{handler}"
        p.set_defaults(handler=handler)
        return p

    return cmd


def incident_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("incident", metavar="ID", help="incident id: INC-42 or 42")


def resolve_handler(handler: Handler) -> Callable[..., Any]:
    """The function a subcommand names: imported now, since its command is the one running."""
    if not isinstance(handler, str):
        return handler
    import importlib

    module, _, name = handler.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn


class Parser(argparse.ArgumentParser):
    """Every parser of the CLI: one-line usage errors, and an epilog that may be computed only
    when help is printed (`metrics --help` shows the domain's definitions, which building the
    parser for any other command should not import)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        import sys

        from warroom.domain.common.text import printable

        # One line, like every other refusal; the usage is one --help away. Exit 2 is
        # ExitCode.USAGE, not imported: warroom.store's package imports the whole store.
        sys.stderr.write(f"{self.prog}: error: {printable(message)} (see {self.prog} --help)\n")
        raise SystemExit(2)

    def format_help(self) -> str:
        if callable(self.epilog):
            self.epilog = self.epilog()
        return super().format_help()
