"""Interactive voice response: flow documents, the flat flow interpreter, prompts, mood."""
