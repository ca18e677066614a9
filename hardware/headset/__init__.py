"""The agent's headset as their phone: ``centralino headset`` registers at the edge as the
agent's device and bridges calls to a USB/Bluetooth headset through PyAudio (`sound`), with a
jitter buffer and drift compensation per direction (`bridge`), headset buttons and lamps over
HID (`hardware.hid`), and state reports to the console (`report`)."""
