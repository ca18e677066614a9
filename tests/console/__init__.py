"""Tests for the console package."""
