"""Process supervision: spawn, heartbeats, restart window, ordered shutdown."""

from atalaia.supervisor.child import ChildContext
from atalaia.supervisor.policy import RestartPolicy
from atalaia.supervisor.state import ChildSpec, ChildStatus, Kind, State
from atalaia.supervisor.supervisor import Supervisor

__all__ = [
    "ChildContext",
    "ChildSpec",
    "ChildStatus",
    "Kind",
    "RestartPolicy",
    "State",
    "Supervisor",
]
