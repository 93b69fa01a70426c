"""Tests of the DashScope simulator itself."""
