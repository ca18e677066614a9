"""Drive a real deployment from Python: scripted pjsua2 phones, switch workers, the Kamailio
edge, the speech service, and test speech; shared by `tests/`, `bench/` and anyone testing
their own call flows (like pipecat, the harness ships inside the package).

`phone` is the scripted SIP phone process and `phones` its driver; `workers` starts switch
workers, `edge` a Kamailio edge, `deployment` a throw-away database with agents, workers and
phones; `speech` the speech service; `signals` and `audio` make and check test audio; `ports`
hands out free loopback ports.
"""
