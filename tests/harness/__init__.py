"""Test-only harness: a raw SIP client for attack tests, stand-in call flows, a throw-away
PostgreSQL. What tests and benchmarks share lives in `telephony.testing` and `console.testing`."""
