"""A deterministic routing simulator: the real router, queues, callbacks and agent states on a
throw-away SQLite store, driven in virtual time by simulated callers and agents.

`mix` generates the floor (queues, agents, customers with a history) and the calls; `clock` is
the virtual clock and its event heap; `floor` makes the callers' and agents' moves through
the product's own functions (`telephony.router`, `telephony.callback_policy`, `store.agents`);
`oracle` checks every offer against the promises (line order, negative affinity, callbacks in
flight) independently of the router; `metrics` turns the run into figures. Nothing sleeps.
"""

from bench.routing_sim.floor import simulate
from bench.routing_sim.mix import Mix

__all__ = ["Mix", "simulate"]
