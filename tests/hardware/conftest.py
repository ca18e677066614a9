"""The hardware tests that make real calls use the telephony tests' running edge (Kamailio
on its own ports, 0.5 s heartbeats, stale after 2 s), defined once in
tests/telephony/conftest.py."""

from tests.telephony.conftest import edge

__all__ = ["edge"]
