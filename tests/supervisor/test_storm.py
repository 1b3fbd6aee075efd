"""Many callers at once: the monitor thread alone changes children, so concurrent adds,
removes, restarts and kills end in exactly the state the commands imply, with no process
left behind and no caller held up by another's slow stop."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from atalaia.config import SupervisorConfig
from atalaia.logs import LogWriter
from atalaia.supervisor import Supervisor
from tests.supervisor import workers
from tests.supervisor.support import spawned_children, spec, wait_for

STABLE = [f"stable{i}" for i in range(3)]
CHURNERS = 3
CHURN_NAMES = {t: [f"churn{t}-{i}" for i in range(2)] for t in range(CHURNERS)}


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "pipeline.log"


@pytest.fixture
def supervisor(log_file: Path) -> Iterator[Supervisor]:
    writer = LogWriter(level="INFO", file=log_file, console=False)
    cfg = SupervisorConfig(
        heartbeat_interval=0.2,
        heartbeat_timeout=10.0,
        max_restarts=1000,
        restart_window=1.0,  # kills come often: keep the backoff short
        shutdown_timeout=0.5,
    )
    sup = Supervisor(cfg, writer.queue)
    sup.start()
    yield sup
    sup.stop(timeout=10)
    writer.stop()


def _run_all(targets: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(fn,)) for fn in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a caller is stuck"
    return errors


def test_start_stop_restart_storm(
    supervisor: Supervisor, log_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    before = spawned_children()
    for name in STABLE:
        supervisor.add(spec(name, workers.steady))
    present: dict[str, bool] = {}
    kills: dict[str, int] = {}

    def churn(t: int) -> Callable[[], None]:
        def run() -> None:
            rng, mine = random.Random(t), set[str]()
            for _ in range(6):
                name = rng.choice(CHURN_NAMES[t])
                if name in mine:
                    supervisor.remove(name, timeout=rng.choice([None, 0.2]))
                    mine.discard(name)
                else:
                    supervisor.add(spec(name, workers.steady))
                    mine.add(name)
                time.sleep(rng.uniform(0, 0.1))
            present.update({name: name in mine for name in CHURN_NAMES[t]})

        return run

    every_name = STABLE + [n for names in CHURN_NAMES.values() for n in names]

    def restarter() -> None:
        rng = random.Random(100)
        for _ in range(6):
            name = rng.choice(every_name)
            try:
                supervisor.restart(name)
            except KeyError:
                assert name not in STABLE  # a churned child may be absent just then
            time.sleep(rng.uniform(0, 0.1))

    def killer() -> None:
        rng = random.Random(200)
        for _ in range(8):
            name = rng.choice(every_name)
            child = supervisor.child(name)
            if child is not None and child.pid is not None:
                try:
                    os.kill(child.pid, signal.SIGKILL)
                    kills[name] = kills.get(name, 0) + 1
                except ProcessLookupError:
                    pass  # gone meanwhile (removed or restarted)
            time.sleep(rng.uniform(0.05, 0.15))

    errors = _run_all([churn(t) for t in range(CHURNERS)] + [restarter, killer])
    assert errors == []

    expected = set(STABLE) | {name for name, here in present.items() if here}
    assert set(supervisor.status()) == expected

    def settled() -> bool:
        status = supervisor.status()
        pids = {s["pid"] for s in status.values()}
        return (
            all(s["state"] == "running" and s["stats"] for s in status.values())
            and spawned_children() - before == pids
        )

    assert wait_for(settled, timeout=20), (supervisor.status(), spawned_children() - before)
    for name, status in supervisor.status().items():
        assert status["restarts"] <= kills.get(name, 0), (name, status)  # only kills count
    supervisor.stop(timeout=10)
    assert all(s["state"] == "stopped" for s in supervisor.status().values())
    assert wait_for(lambda: spawned_children() - before == set(), timeout=5)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "Traceback" not in log_file.read_text()


def test_remove_racing_restart_leaves_nothing(supervisor: Supervisor) -> None:
    """A restart and a remove of the same child at once: whichever arrives first, the child
    ends removed and its process, old or new, is gone."""
    before = spawned_children()
    supervisor.add(spec("cam", workers.steady))
    assert wait_for(lambda: bool(supervisor.status()["cam"]["stats"]))
    barrier = threading.Barrier(2)

    def restart() -> None:
        barrier.wait()
        with contextlib.suppress(KeyError):  # the remove came first
            supervisor.restart("cam")

    def remove() -> None:
        barrier.wait()
        supervisor.remove("cam")

    assert _run_all([restart, remove]) == []
    assert "cam" not in supervisor.status()
    assert wait_for(lambda: spawned_children() - before == set(), timeout=5)


def test_a_slow_stop_holds_up_nobody(supervisor: Supervisor) -> None:
    """A child that ignores its stop request and SIGTERM takes its timeout plus the SIGTERM
    grace to die; meanwhile the status answers at once and other children come and go."""
    supervisor.add(spec("stubborn", workers.stubborn))
    assert wait_for(lambda: bool(supervisor.status()["stubborn"]["stats"]))
    pid = supervisor.status()["stubborn"]["pid"]
    remover = threading.Thread(target=supervisor.remove, args=("stubborn", 0.5))
    remover.start()
    supervisor.add(spec("other", workers.steady))
    assert remover.is_alive()  # the add did not wait for the stubborn child's stop
    slowest = 0.0
    while remover.is_alive():
        started = time.monotonic()
        supervisor.status()
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.01)
    assert slowest < 0.5  # a loaded machine may stall a thread briefly; the stop takes 2.5 s
    assert supervisor.status()["other"]["state"] == "running"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed after the SIGTERM grace, and reaped
