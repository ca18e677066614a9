"""Agent hardware: headset bridge (pyaudio <-> SIP) and desk phone provisioning."""
