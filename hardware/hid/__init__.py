"""Headset buttons and lamps over HID: the report-descriptor parser (`descriptor`), the telephony
mapping of reports to answer / hang up / mute / volume and of call state to LEDs (`telephony`),
and the hidapi device (`device`). Parsing and mapping are pure and tested on captured
descriptors of real headsets."""
