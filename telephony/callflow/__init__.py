"""Call flows: what a switch worker runs on each answered customer call, and loading one by name.

`base` is the boundary (`CallFlow`, `CallControl`, `FlowContext`, `FlowFactory`); each other
module is one flow: `greeting` (greet, then an agent) and `ivr` (the IVR on the stored flow
document). ``extra.flow`` names the factory as ``"package.module:name"``.
"""

from __future__ import annotations

import importlib

from store.settings import Settings
from telephony.callflow.base import FlowFactory

#: The flow every worker runs unless ``extra.flow`` names another.
DEFAULT_FLOW = "telephony.callflow.ivr:IvrFlows"
#: Where the flows of earlier releases went (an old ``extra.flow`` gets told the new name).
MOVED = {
    "telephony.ivr_call:IvrFlows": DEFAULT_FLOW,
    "telephony.flow:greeting_then_agent": "telephony.callflow.greeting:greeting_then_agent",
}


def load_flow_factory(spec: str | None, settings: Settings | None = None) -> FlowFactory:
    """The `FlowFactory` named ``"package.module:name"`` (default: the IVR). A class with a
    ``from_settings`` constructor (a flow that needs the store or the speech service) is built
    once here, with the worker's settings, before the worker takes calls."""
    spec = spec or DEFAULT_FLOW
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise ValueError(f"flow {spec!r}: expected 'package.module:function'")
    if spec in MOVED or module_name in ("telephony.flow", "telephony.ivr_call"):
        new = MOVED.get(spec, "telephony.callflow.<flow>:<name>")
        raise ValueError(f"flow {spec!r} has moved: set extra.flow = {new!r}")
    factory = getattr(importlib.import_module(module_name), attribute)
    if isinstance(factory, type) and hasattr(factory, "from_settings"):
        factory = factory.from_settings(settings or Settings())
    if not callable(factory):
        raise ValueError(f"flow {spec!r} is not callable")
    flow_factory: FlowFactory = factory  # checked callable; its signature is the spec's promise
    return flow_factory
