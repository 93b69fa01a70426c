"""The ways to reach the service: each moves bytes and turns frames into typed events.

A transport knows one wire protocol (what to send, how to read what comes back) and nothing of
the policy above it: no retries, no deadlines, no concurrency limits, no text clean-up. It yields
`types.TransportEvent`s and raises the client's typed errors; the client applies the policy.
"""
