"""Test the console without a switch: a stand-in worker's HTTP side and Chromium kept on
loopback with the agent's first steps; shared by `tests/` and `bench/`."""
