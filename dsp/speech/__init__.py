"""Live speech recognition: Vosk models, a streaming recognizer, the speech service and its client.

Importing this package loads nothing heavy: `vosk` is imported only where a model is loaded.
"""
