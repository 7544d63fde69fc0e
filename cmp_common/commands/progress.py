"""Progress of long commands on a terminal, quiet in scripts and logs."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def progress(
    total: int | None,
    label: str,
    *,
    unit: str = "event",
    initial: int = 0,
    quiet: bool = False,
) -> Iterator[Callable[[int], object]]:
    """A callback that advances a bar on stderr by each step's count. The bar
    shows only when stderr is a terminal (tqdm's `disable=None`) and not `quiet`;
    bytes (`unit="B"`) are scaled to kB, MB."""
    size = shutil.get_terminal_size()
    bar = tqdm(
        total=total,
        initial=initial,
        desc=label,
        unit=unit,
        unit_scale=unit == "B",
        file=sys.stderr,
        disable=True if quiet else None,
        # A terminal that reports no size (a bare pseudo-terminal) gets 80 by
        # 24: with none, tqdm draws an empty bar, or hides it.
        ncols=size.columns or 80,
        nrows=size.lines or 24,
    )
    try:
        yield bar.update
    finally:
        bar.close()
