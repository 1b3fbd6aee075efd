"""Fixtures for the logging tests: every writer is stopped and the root logger restored."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from atalaia.logs import LogWriter, remove_process_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """Leave the root logger as the test found it, whatever the test did to it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    remove_process_logging()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def start_writer() -> Iterator[Callable[..., LogWriter]]:
    """Start `LogWriter`s (console off unless asked) and stop them all after the test."""
    writers: list[LogWriter] = []

    def start(**kwargs: Any) -> LogWriter:
        kwargs.setdefault("console", False)
        writer = LogWriter(**kwargs)
        writers.append(writer)
        return writer

    yield start
    remove_process_logging()  # announces outstanding drops while the writer still runs
    for writer in writers:
        writer.stop(timeout=10)
