"""Interactive voice response: flow documents, the flat flow interpreter, prompts, mood.

Read in this order: `ivr.steps` and `ivr.flow` (what a flow is and how it is validated, over
`ivr.document` for line numbers; `ivr.flow_reader` reads the fields, `ivr.flow_graph` checks the
steps as a graph), `ivr.events` (events in, actions out), `ivr.interpreter`
(the state machine the switch worker drives), then its helpers `ivr.accounts`, `ivr.mood`
and `ivr.prompts`; `ivr.flows_cli` is the ``centralino flows`` command.
"""
