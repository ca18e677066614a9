"""Test harness: real SIP peers (pjsua2 test phone, raw SIP client) and process fixtures."""
