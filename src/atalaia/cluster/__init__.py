"""Several nodes on one PostgreSQL: node registry, camera leases, balancing by capacity.

`ClusterCoordinator` is what the reconciler asks "which cameras may this node run now?";
`LeaseStore` holds the SQL; `fair_shares` decides how many cameras each live node should hold.
"""

from atalaia.cluster.coordinator import ClusterCoordinator, LeaseView
from atalaia.cluster.leases import LeaseStore
from atalaia.cluster.shares import fair_shares

__all__ = ["ClusterCoordinator", "LeaseStore", "LeaseView", "fair_shares"]
