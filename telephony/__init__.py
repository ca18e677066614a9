"""The softswitch: Kamailio edge, pjsua2 switch workers, routing, control API, CLI."""
