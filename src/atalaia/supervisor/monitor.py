"""The monitor thread: the one owner of every child's state.

It waits on the wake pipe, every child's pipe and every live process's sentinel at once, so a
command, a message and a death are all seen the moment they happen, and a missed heartbeat
within a poll interval. Everything that changes a child happens here, on this thread: starting
a process, reading its messages, asking it to stop, terminating and killing it, restarting it.
Stopping never blocks the loop: a child being stopped is an `_Exit` in progress (asked, then
terminated, then killed, each with its deadline) that the loop advances as its sentinel fires
or its deadline passes, so other children are watched and other commands served meanwhile,
and several children stop in parallel. After each turn that changed anything the loop
publishes a new immutable snapshot (`ChildStatus` per child) that readers take without a lock.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from atalaia.supervisor.child import ChildContext, child_main
from atalaia.supervisor.commands import Add, Command, Mailbox, Remove, Restart, Send, Shutdown
from atalaia.supervisor.logpipe import forward_entry
from atalaia.supervisor.messages import Heartbeat, Log, Stop
from atalaia.supervisor.policy import RestartPolicy
from atalaia.supervisor.record import ChildRecord, Exit, Phase, Then
from atalaia.supervisor.state import SHUTDOWN_ORDER, ChildStatus, Kind, State

if TYPE_CHECKING:  # the configuration models are heavy to import; a child needs none
    from atalaia.config import SupervisorConfig

log = logging.getLogger(__name__)

_CTX = mp.get_context("spawn")
POLL_S = 0.5  # the longest the loop sleeps: the granularity of the heartbeat-timeout check
SIGNAL_WAIT_S = 2.0  # after SIGTERM, and after SIGKILL, before the next step
MAX_MESSAGES = 256  # read from one child per turn, so a chatty child cannot starve the rest


@dataclass
class _Shutdown:
    """A stop of everything under way: `groups` still to stop, in order, after `stopping`."""

    deadline: float
    groups: list[Kind]
    waiters: list[Future[None]]
    stopping: Kind | None = None


class Monitor:
    """The loop `run` is the supervisor thread's body; `published` is all others may read."""

    def __init__(
        self,
        config: SupervisorConfig,
        mailbox: Mailbox,
        log_queue: Any,
        log_level: str,
        log_queue_size: int,
        on_message: Callable[[str, object], None] | None,
    ) -> None:
        self.config = config
        self.mailbox = mailbox
        self.log_queue = log_queue
        self.log_level = log_level
        self.log_queue_size = log_queue_size
        self.on_message = on_message
        self.published: Mapping[str, ChildStatus] = MappingProxyType({})
        self._children: dict[str, ChildRecord] = {}
        self._leaving: list[ChildRecord] = []  # removed, their process still stopping
        self._shutdown: _Shutdown | None = None
        self._dirty = False
        self._settle: list[tuple[Future[Any], Any]] = []

    # ---- the loop --------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self._finished():
                try:
                    self._turn()
                except Exception:  # a bug here must not leave the children unwatched
                    log.exception("supervisor monitor error; carrying on")
                    time.sleep(0.1)
        finally:
            self._close()

    def _turn(self) -> None:
        records = self._records()
        waitables: list[Any] = [self.mailbox.wake_r]
        by_conn: dict[Connection, ChildRecord] = {}
        for r in records:
            if r.conn is not None and not r.conn_eof:
                waitables.append(r.conn)
                by_conn[r.conn] = r
            if r.process is not None:
                waitables.append(r.process.sentinel)
        for ready in wait(waitables, timeout=self._wait_s(records, time.monotonic())):
            if isinstance(ready, Connection) and ready in by_conn:
                self._receive(by_conn[ready])
        for command in self.mailbox.take():
            self._command(command)
        now = time.monotonic()
        for r in self._records():
            self._check(r, now)
        if self._shutdown is not None:
            self._advance_shutdown(now)
        self._publish()

    def _records(self) -> list[ChildRecord]:
        return [*self._children.values(), *self._leaving]

    def _wait_s(self, records: list[ChildRecord], now: float) -> float:
        due = [r.exit.deadline for r in records if r.exit is not None]
        if self._shutdown is None:  # no restarts while stopping
            due += [r.restart_due for r in records if r.restart_due is not None]
        return max(0.0, min([now + POLL_S, *due]) - now)

    def _finished(self) -> bool:
        sd = self._shutdown
        return (
            sd is not None
            and sd.stopping is None
            and not sd.groups
            and not any(r.exit is not None for r in self._records())
        )

    def _publish(self) -> None:
        """Publish the snapshot, then settle the commands it reflects: a caller whose remove
        returned never sees the removed child in the status."""
        if self._dirty:
            self.published = MappingProxyType(
                {name: r.snapshot() for name, r in self._children.items()}
            )
            self._dirty = False
        settle, self._settle = self._settle, []
        for future, outcome in settle:
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def _close(self) -> None:
        """The loop ended: refuse what is still queued; kill whatever survived (a bug)."""
        for command in self.mailbox.close():
            self._refuse(command)
        for r in self._records():
            if r.process is not None and r.process.is_alive():
                log.error("%s still running as the supervisor ends; killing it", r.spec.name)
                r.process.kill()
                r.process.join(SIGNAL_WAIT_S)
            self._release(r)
            if r.exit is not None:
                self._settle += [(w, None) for w in r.exit.waiters]
            r.state, r.exit = State.STOPPED, None
        self._leaving.clear()
        if self._shutdown is not None:
            self._settle += [(w, None) for w in self._shutdown.waiters]
        self._dirty = True
        self._publish()

    # ---- commands --------------------------------------------------------------------------

    def _command(self, command: Command) -> None:
        if isinstance(command, Shutdown):
            self._begin_shutdown(command)
        elif isinstance(command, Remove):
            self._remove(command)  # also while stopping: it returns once the process is gone
        elif self._shutdown is not None:
            self._refuse(command)
        elif isinstance(command, Add):
            self._add(command)
        elif isinstance(command, Restart):
            self._restart(command)
        else:
            self._send(command)

    def _refuse(self, command: Command) -> None:
        """The supervisor is stopping or stopped: nothing is left to remove or stop; a send
        does not go; an add or a restart fails."""
        if isinstance(command, Remove | Shutdown):
            self._settle.append((command.done, None))
        elif isinstance(command, Send):
            self._settle.append((command.done, False))
        else:
            self._settle.append((command.done, RuntimeError("the supervisor is stopped")))

    def _add(self, command: Add) -> None:
        spec = command.spec
        if spec.name in self._children:
            self._settle.append((command.done, ValueError(f"{spec.name} is already supervised")))
            return
        policy = RestartPolicy(self.config.max_restarts, self.config.restart_window)
        record = ChildRecord(spec, Kind(spec.kind), policy)
        try:
            self._spawn(record)
        except Exception as exc:
            self._settle.append((command.done, exc))
            return
        self._children[spec.name] = record
        self._settle.append((command.done, None))

    def _remove(self, command: Remove) -> None:
        record = self._children.pop(command.name, None)
        self._dirty = True
        if record is None:
            self._settle.append((command.done, None))
            return
        self._leaving.append(record)
        timeout = command.timeout or self.config.shutdown_timeout
        self._stop_process(record, Then.REMOVE, timeout, waiter=command.done)

    def _restart(self, command: Restart) -> None:
        record = self._children.get(command.name)
        if record is None:
            self._settle.append((command.done, KeyError(command.name)))
            return
        if command.spec is not None:
            record.spec, record.kind = command.spec, Kind(command.spec.kind)
        record.reason, record.restart_due = None, None
        record.state = State.RESTARTING
        self._dirty = True
        self._stop_process(record, Then.RESPAWN, self.config.shutdown_timeout, waiter=command.done)

    def _send(self, command: Send) -> None:
        record = self._children.get(command.name)
        sent = False
        if (
            record is not None
            and record.state is State.RUNNING
            and record.exit is None
            and record.conn is not None
        ):
            try:
                record.conn.send(command.message)
                sent = True
            except OSError:
                pass
        self._settle.append((command.done, sent))

    def _begin_shutdown(self, command: Shutdown) -> None:
        if self._shutdown is None:
            budget = command.timeout or self.config.shutdown_timeout
            self._shutdown = _Shutdown(
                time.monotonic() + budget, list(SHUTDOWN_ORDER), [command.done]
            )
        else:
            self._shutdown.waiters.append(command.done)

    def _advance_shutdown(self, now: float) -> None:
        """Cameras first; the detectors once every camera is gone (they feed the detectors)."""
        sd = self._shutdown
        assert sd is not None
        while True:
            if sd.stopping is not None:
                kind = sd.stopping
                if any(r.exit is not None and r.kind is kind for r in self._records()):
                    return
                sd.stopping = None
            if not sd.groups:
                return
            sd.stopping = kind = sd.groups.pop(0)
            timeout = max(0.5, (sd.deadline - now) / 2)
            for record in self._records():  # removed ones too: the budget is for all
                if record.kind is kind:
                    self._stop_process(record, Then.STOPPED, timeout)
            self._dirty = True

    # ---- processes -------------------------------------------------------------------------

    def _spawn(self, record: ChildRecord) -> None:
        parent_conn, child_conn = _CTX.Pipe(duplex=True)
        spec = record.spec
        ctx = ChildContext(
            name=spec.name,
            tag=spec.tag,
            conn=child_conn,
            log_level=self.log_level,
            log_queue_size=self.log_queue_size,
            heartbeat_interval=self.config.heartbeat_interval,
            payload=spec.payload,
            nice=self.config.nice,
        )
        process = _CTX.Process(
            target=child_main, args=(spec.target, ctx), name=spec.name, daemon=False
        )
        try:
            process.start()
        except BaseException:
            parent_conn.close()
            raise
        finally:
            child_conn.close()  # only the child holds its end: EOF tells us it is gone
        now = time.monotonic()
        record.process, record.conn, record.conn_eof = process, parent_conn, False
        record.stats, record.stats_pid = None, process.pid
        record.state, record.restart_due = State.RUNNING, None
        record.progress_at = record.heartbeat_at = now
        record.working = False
        self._dirty = True
        log.info("started %s (pid %s)", spec.name, process.pid)

    def _stop_process(
        self,
        record: ChildRecord,
        then: Then,
        timeout: float,
        why: str = "",
        waiter: Future[None] | None = None,
        kill: bool = False,
    ) -> None:
        """Start taking the process down (or retarget a stop already under way); what `then`
        says happens once it is gone, and `waiter` is settled then."""
        now = time.monotonic()
        current = record.exit
        if current is not None:
            # A remove outranks everything; a shutdown outranks a restart or a failure; a
            # requested restart outranks a failure's delayed restart.
            if then is Then.REMOVE or (
                current.then is not Then.REMOVE
                and (then is Then.STOPPED or current.then is Then.FAILED)
            ):
                current.then, current.why = then, why
            if current.phase is Phase.ASKED and now + timeout < current.deadline:
                current.deadline, current.timeout = now + timeout, timeout
            if waiter is not None:
                current.waiters.append(waiter)
            return
        record.exit = Exit(then, Phase.ASKED, now + timeout, timeout, why)
        if waiter is not None:
            record.exit.waiters.append(waiter)
        if record.process is None:
            self._finish(record, now)
            return
        if kill:
            record.process.kill()
            record.exit.phase, record.exit.deadline = Phase.KILLED, now + SIGNAL_WAIT_S
        elif record.conn is not None:
            with contextlib.suppress(OSError):  # dead already: its sentinel says so
                record.conn.send(Stop())

    def _check(self, record: ChildRecord, now: float) -> None:
        """Advance a stop under way; see deaths and hangs; start what is due to restart."""
        process = record.process
        if record.exit is not None:
            self._advance_exit(record, now)
        elif process is None:
            due = record.restart_due
            if due is not None and now >= due and self._shutdown is None:
                try:
                    self._spawn(record)
                except Exception as exc:
                    log.exception("could not restart %s", record.spec.name)
                    self._failed(record, now, f"could not start: {exc!r}")
        elif (exitcode := process.exitcode) is not None:
            self._release(record)
            self._failed(record, now, f"exited with code {exitcode}")
        elif not self._progressing(record, now):
            if record.working:
                why = (
                    f"no heartbeat progress for {now - record.progress_at:.1f}s "
                    f"(timeout {self.config.heartbeat_timeout}s)"
                )
            else:
                why = (
                    f"still starting after {now - record.progress_at:.1f}s, no progress yet "
                    f"(start_timeout {self._progress_limit(record)}s)"
                )
            self._stop_process(record, Then.FAILED, 0.0, why=why, kill=True)

    def _progress_limit(self, record: ChildRecord) -> float:
        """`heartbeat_timeout` once the child has reported progress; before that it is loading
        and has `start_timeout` (never less than the heartbeat timeout)."""
        if record.working:
            return self.config.heartbeat_timeout
        return max(self.config.start_timeout, self.config.heartbeat_timeout)

    def _progressing(self, record: ChildRecord, now: float) -> bool:
        """Progress within the limit (`_progress_limit`)? When it looks stale, everything the
        child sent is read first: a backlog past `MAX_MESSAGES` may hold a newer heartbeat."""
        if now - record.progress_at <= self._progress_limit(record):
            return True
        self._receive(record, limit=None)
        return now - record.progress_at <= self._progress_limit(record)

    def _advance_exit(self, record: ChildRecord, now: float) -> None:
        exit_, process = record.exit, record.process
        assert exit_ is not None
        if process is None or not process.is_alive():
            self._finish(record, now)
        elif now < exit_.deadline:
            return
        elif exit_.phase is Phase.ASKED:
            log.warning("%s did not stop in %.1fs; terminating", record.spec.name, exit_.timeout)
            process.terminate()
            exit_.phase, exit_.deadline = Phase.TERMINATED, now + SIGNAL_WAIT_S
        elif exit_.phase is Phase.TERMINATED:
            process.kill()
            exit_.phase, exit_.deadline = Phase.KILLED, now + SIGNAL_WAIT_S
        else:
            log.error("%s (pid %s) survives SIGKILL; leaving it", record.spec.name, process.pid)
            self._finish(record, now)

    def _finish(self, record: ChildRecord, now: float) -> None:
        """The process is gone (or given up on): do what its stop was for."""
        exit_ = record.exit
        assert exit_ is not None
        exitcode = record.process.exitcode if record.process is not None else None
        self._release(record)
        record.exit = None
        self._dirty = True
        outcome: BaseException | None = None
        if exit_.then is Then.REMOVE:
            record.state = State.STOPPED
            self._leaving.remove(record)
        elif exit_.then is Then.STOPPED:
            record.state, record.restart_due = State.STOPPED, None
        elif exit_.then is Then.FAILED:
            self._failed(record, now, exit_.why or f"exited with code {exitcode}")
        else:
            try:
                self._spawn(record)
            except Exception as exc:
                log.exception("could not restart %s", record.spec.name)
                self._failed(record, now, f"could not start: {exc!r}")
                outcome = exc
        self._settle += [(w, outcome) for w in exit_.waiters]

    def _release(self, record: ChildRecord) -> None:
        """Read the last words (a crash traceback, final stats), close the pipe, reap."""
        if record.conn is not None:
            self._receive(record, limit=None)
            record.conn.close()
            record.conn = None
        if record.process is not None:
            if not record.process.is_alive():
                record.process.close()
            record.process = None
        self._dirty = True

    def _failed(self, record: ChildRecord, now: float, why: str) -> None:
        name = record.spec.name
        self._dirty = True
        if self._shutdown is not None:
            record.state, record.reason = State.STOPPED, why
        elif record.policy.allow(now):
            record.restarts += 1
            delay = record.policy.backoff(now)
            record.state, record.restart_due = State.RESTARTING, now + delay
            record.reason = f"{why}; restart {record.restarts} in {delay:.1f}s"
            log.warning("%s %s; restarting in %.1fs", name, why, delay)
        else:
            record.state, record.restart_due = State.FAILED, None
            record.reason = (
                f"{why}; not restarted: more than {self.config.max_restarts} restarts within "
                f"{self.config.restart_window:.0f}s"
            )
            log.error(
                "%s %s; giving up: %d restarts within %.0fs",
                name,
                why,
                record.policy.recent(now),
                self.config.restart_window,
            )

    def _receive(self, record: ChildRecord, limit: int | None = MAX_MESSAGES) -> None:
        conn = record.conn
        if conn is None or record.conn_eof:
            return
        pid = record.process.pid if record.process is not None else None
        count = 0
        try:
            while (limit is None or count < limit) and conn.poll():
                count += 1
                message = conn.recv()
                if isinstance(message, Heartbeat):
                    record.heartbeat_at = time.monotonic()
                    record.progress_at = max(record.progress_at, message.progress)
                    record.working = record.working or message.progress > 0
                    record.stats, record.stats_pid = message.stats, pid
                    self._dirty = True
                elif isinstance(message, Log):
                    forward_entry(self.log_queue, message.entry)
                elif self.on_message is not None:
                    self.on_message(record.spec.name, message)
        except (EOFError, OSError):
            record.conn_eof = True  # the process is going; its sentinel reports the death
        except Exception:
            log.exception("bad message from %s", record.spec.name)
