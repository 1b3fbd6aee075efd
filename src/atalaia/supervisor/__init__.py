"""Process supervision: spawn, heartbeats, restart window, ordered shutdown."""

from atalaia.supervisor.child import ChildContext
from atalaia.supervisor.policy import RestartPolicy
from atalaia.supervisor.supervisor import ChildSpec, Supervisor

__all__ = ["ChildContext", "ChildSpec", "RestartPolicy", "Supervisor"]
