"""Conversation analytics: every ended call measured and summarised from what the store holds."""
