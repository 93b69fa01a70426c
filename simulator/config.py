"""The simulator's knobs, which tests may change between requests."""

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class SimulatorConfig:
    """How the simulated service behaves; read afresh by every request."""

    first_chunk_latency: float = 0.0
    """Seconds before the first SSE event; also part of the non-streaming response time."""
    chunk_interval: float = 0.0
    """Seconds between SSE audio events."""
    chunk_seconds: float = 0.1
    """Audio seconds per SSE chunk (0.1 s is 4800 bytes of 24 kHz 16-bit mono)."""
    stream_audio_format: Literal["pcm", "wav"] = "pcm"
    """"pcm": raw PCM per chunk (documented); "wav": a WAV file cut across chunks (2026 probe)."""
    wav_header_frame_count: Literal["correct", "wrong"] = "correct"
    """"wrong": served WAV headers announce a bogus data size (seen on the real service)."""
    audio_url_delay: float = 0.0
    """Seconds before a GET of an audio URL answers."""
    rate_limit: tuple[int, float] | None = None
    """(max requests, window seconds) for the whole simulator; beyond: 429 Throttling.RateQuota."""
    blocked_words: tuple[str, ...] = ("FORBIDDEN",)
    """Text containing one of these fails content moderation (400 DataInspectionFailed)."""
    denied_models: frozenset[str] = field(default_factory=frozenset)
    """Models this account may not use (403 Model.AccessDenied)."""
    free_tier_exhausted: bool = False
    """403 AllocationQuota.FreeTierOnly for every synthesis."""
    arrearage: bool = False
    """400 Arrearage for every synthesis."""
    retry_after: str | None = None
    """Retry-After header value for 429 responses (the real service sends none)."""
    design_latency: float = 0.01
    """Seconds a voice design takes before its answer (the real service: 10 s or more)."""
    ffmpeg: str = "ffmpeg"
    """The ffmpeg binary (a name on PATH, or a path) decoding MP3/M4A recordings and encoding
    mp3/opus previews; a missing one makes MP3/M4A recordings undecodable."""
    duplex_idle_timeout: float = 23.0
    """Duplex: seconds a running task waits for a client message before it fails."""
    duplex_connection_idle: float = 60.0
    """Duplex: seconds a connection without a task stays open."""
    duplex_start_latency: float = 0.05
    """Duplex: seconds between run-task and task-started (text sent earlier fails the task)."""
