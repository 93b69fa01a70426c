"""The live check: the protocol facts the project relies on, tested against the real service.

Nothing in the test suite reaches DashScope: the simulator and the client are built from
second-hand protocol notes. With a key, `scripts/live-check` asks the service once through each
transport and model family (a few dozen billed characters, confirmed first) and prints, for
every assumption, what was expected, what the service did, and OK or MISMATCH, then a block to
paste into a bug report. CI runs it only against the simulator (tests/test_live_check.py).

Expectations come from the project: the client's counting (`weighted_length`), its request
bodies, the protocol notes, and where the notes leave a choice, the simulator's default (raw PCM
in streams, honest WAV headers, `response.usage` in realtime answers, the duplex models' Han
counting).
"""
