"""An ``ArgumentParser`` whose usage errors are one line on standard error (issue 13).

argparse prints the whole usage block and then the error; a cron mail or a log then
holds several lines for one mistake. Here a usage error is ``upslife: error: ...`` and
a hint to ``--help``, on one line, with exit status 2 like every other bad input.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

__all__ = ["OneLineParser", "one_line"]


def one_line(text: str) -> str:
    """``text`` with its line breaks and other control characters shown escaped."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")
        sys.exit(2)
