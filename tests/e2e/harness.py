"""Run a real Home Assistant with this integration as a separate process, and talk to it.

Used by the end-to-end tests (tests/e2e) and by scripts/develop. Everything here goes over the
network the way a browser or a client would: onboarding and the login flow over HTTP with real
tokens, config flows over the REST API, commands over the websocket API.

Every process is started in its own session (process group) and stopped with its whole group.
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Callable, Coroutine, Iterator
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Self

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
#: The environment Home Assistant runs from: .venv (the version the unit tests pin) unless
#: scripts/e2e --ha VERSION names one of scripts/ha-env's, .ha/VERSION. The test runner and the
#: simulator always run in .venv.
HASS_ENV = Path(os.environ.get("QWEN_TTS_HASS_ENV") or ROOT / ".venv").absolute()
#: Python shows DeprecationWarning only in __main__; Home Assistant logs every warning it is shown
#: (logging.captureWarnings), so with these the deprecations it meets end up in its log.
HASS_PYTHONWARNINGS = "default::DeprecationWarning,default::PendingDeprecationWarning"
HOST = "127.0.0.1"
DOMAIN = "qwen_tts"

#: The owner account that onboarding creates.
OWNER_NAME = "Owner"
OWNER_USERNAME = "owner"
OWNER_PASSWORD = "qwen-tts-e2e"

#: A media player that exists without hardware: a universal player whose play_media writes the
#: content id it was asked to play into an input_text, where a test reads it back.
CONFIGURATION_YAML = """\
# Written by tests/e2e/harness.py: a minimal Home Assistant with what the Qwen TTS integration
# needs and what the end-to-end tests use. Nothing here needs hardware or internet.
homeassistant:
  name: Qwen TTS development
  unit_system: metric
  time_zone: UTC
  country: CN
  language: en
{http}api:
frontend:
config:
person:
tts:
media_source:
conversation:
assist_pipeline:
system_health:
logger:
  default: warning
  logs:
    custom_components.qwen_tts: debug
    homeassistant.components.tts: info
input_text:
  last_played:
    name: Last played
    max: 255
media_player:
  - platform: universal
    name: Test speaker
    unique_id: qwen_tts_e2e_test_speaker
    state_template: "idle"
    commands:
      play_media:
        action: input_text.set_value
        target:
          entity_id: input_text.last_played
        data:
          value: "{{{{ media_content_id }}}}"
"""


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


#: Home Assistant takes its HTTP settings from YAML once, as a trial it reverts (with a restart)
#: unless they are confirmed; see Hass.confirm_http_config.
HTTP_YAML = "http:\n  server_host: {host}\n  server_port: {port}\n"


def write_config(config_dir: Path, port: int) -> None:
    """Write configuration.yaml and link this project's integration into custom_components/.

    The http section is written only until Home Assistant has stored its HTTP settings.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    http = "" if (config_dir / ".storage" / "http").exists() else HTTP_YAML
    (config_dir / "configuration.yaml").write_text(
        CONFIGURATION_YAML.format(http=http.format(host=HOST, port=port))
    )
    custom = config_dir / "custom_components"
    custom.mkdir(exist_ok=True)
    link = custom / DOMAIN
    if link.is_symlink() or link.exists():
        if link.is_symlink() and link.resolve() == (ROOT / "custom_components" / DOMAIN):
            return
        if link.is_symlink():
            link.unlink()
        else:
            shutil.rmtree(link)
    link.symlink_to(ROOT / "custom_components" / DOMAIN, target_is_directory=True)


#: Every process started and not yet stopped: stopped at exit, whatever ended the program.
_RUNNING: set[Process] = set()


@atexit.register
def _stop_all() -> None:
    for process in list(_RUNNING):
        process.stop(timeout=10)


def stop_on_sigterm() -> None:
    """Turn SIGTERM (from `timeout`, CI, kill) into KeyboardInterrupt, so cleanup code runs.

    SIGINT too, also where it was ignored (a shell's background job).
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)


class Process:
    """A child process in its own process group, its output in a log file."""

    def __init__(
        self,
        name: str,
        args: list[str],
        log_path: Path,
        cwd: Path = ROOT,
        env: dict[str, str] | None = None,
    ) -> None:
        """Start it, with env added to this process's environment."""
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.popen = subprocess.Popen(
            args,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        _RUNNING.add(self)

    def log_text(self) -> str:
        """What the process printed so far."""
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float) -> re.Match[str]:
        """Wait until the log matches pattern; fail early when the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := re.search(pattern, self.log_text()):
                return match
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}")
            time.sleep(0.1)
        raise TimeoutError(f"{self.name}: no {pattern!r} in its log after {timeout} s")

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop the whole process group: SIGTERM, then SIGKILL after timeout."""
        try:
            if self.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGTERM)
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.popen.pid, signal.SIGKILL)
                    self.popen.wait(10)
            # Whatever the process left behind in its group goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        finally:
            self._log.close()
            _RUNNING.discard(self)
        return self.popen.returncode


def start_simulator(key: str, log_path: Path, port: int = 0) -> tuple[Process, str]:
    """Start the DashScope simulator; return it and its base URL."""
    process = Process(
        "simulator",
        [
            str(VENV_BIN / "python"),
            "-m",
            "simulator",
            "--host",
            HOST,
            "--port",
            str(port),
            "--key",
            key,
            "--region",
            "cn",
        ],
        log_path,
    )
    try:
        match = process.wait_for_log(r"listening on (http://\S+)", timeout=30)
    except BaseException:
        process.stop()
        raise
    return process, match.group(1)


def start_hass(config_dir: Path, log_path: Path) -> Process:
    """Start Home Assistant on config_dir; it never installs packages (--skip-pip)."""
    return Process(
        "hass",
        [str(HASS_ENV / "bin" / "hass"), "--config", str(config_dir), "--skip-pip"],
        log_path,
        env={"PYTHONWARNINGS": HASS_PYTHONWARNINGS},
    )


def hass_version() -> str:
    """The version of Home Assistant installed in HASS_ENV."""
    program = "from homeassistant.const import __version__; print(__version__)"
    return subprocess.run(
        [HASS_ENV / "bin" / "python", "-c", program],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


#: The first line of a record in Home Assistant's log, e.g.
#: "2026-12-02 02:35:43.984 WARNING (MainThread) [homeassistant.loader] We found ..." (2026.11 adds
#: the UTC offset: "02:35:43.984+00:00"); the lines up to the next record (a traceback, a
#: warning's source line) belong to it.
LOG_RECORD = re.compile(
    r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)? "
    r"(?P<level>[A-Z]+) \([^)]*\) \[[^\]]*\] "
)
#: A warning Python printed itself, before Home Assistant's logging took warnings over:
#: "/path/file.py:12: DeprecationWarning: message". It is a record of its own.
PRINTED_WARNING = re.compile(r"\S+:\d+: \w*Warning: ")
#: Every record at these levels that mentions this integration fails the end-to-end tests: its own
#: warnings and errors, Home Assistant's deprecation reports ("Detected that custom integration
#: 'qwen_tts' ...", "... was used from qwen_tts"), Python's DeprecationWarnings raised from its
#: files, tracebacks through them.
PROBLEM_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})
#: What Home Assistant says about every custom integration at each start: not a defect.
EXPECTED_RECORDS = (
    re.compile(r"We found a custom integration qwen_tts which has not been tested"),
)


def log_records(log: str) -> list[tuple[str, str]]:
    """A Home Assistant log as (level, record text) pairs, continuation lines included.

    Lines before the first record (output before logging was set up) are a record of level "".
    """
    records: list[tuple[str, list[str]]] = []
    for line in log.splitlines():
        if match := LOG_RECORD.match(line):
            records.append((match["level"], [line]))
        elif PRINTED_WARNING.match(line):
            records.append(("WARNING", [line]))
        elif records:
            records[-1][1].append(line)
        else:
            records.append(("", [line]))
    return [(level, "\n".join(lines)) for level, lines in records]


def integration_problems(log: str, root: Path = ROOT) -> list[str]:
    """The warning and error records of a Home Assistant log that mention this integration.

    Paths under root are left out of the match: a project folder named after the integration
    must not make every traceback through .venv look like one through the integration.
    """
    return [
        record
        for level, record in log_records(log)
        if level in PROBLEM_LEVELS
        and DOMAIN in record.replace(str(root), "<root>")
        and not any(expected.search(record) for expected in EXPECTED_RECORDS)
    ]


@dataclass
class Tokens:
    """What /auth/token gave."""

    access_token: str
    refresh_token: str


@dataclass
class Hass:
    """A Home Assistant reached over HTTP at url."""

    url: str
    tokens: Tokens | None = None
    _http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        """Open the HTTP client."""
        self._http = httpx.Client(base_url=self.url, timeout=60)

    @property
    def client_id(self) -> str:
        """The client id the frontend uses: the address it is served from."""
        return f"{self.url}/"

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()

    def wait_until_up(self, process: Process, timeout: float = 240) -> None:
        """Wait until the HTTP server answers (after onboarding, /api/onboarding is gone)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"hass exited with {process.popen.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                # Before onboarding it answers 400 ("onboarding_required"): up all the same.
                if self._http.get("/auth/providers", timeout=5).status_code < 500:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"Home Assistant did not answer within {timeout} s")

    def wait_until_running(self, timeout: float = 240) -> None:
        """Wait until Home Assistant has started: GET /api/config says RUNNING."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                answer = self._http.get("/api/config", headers=self.headers, timeout=5)
                if answer.status_code == 200 and answer.json().get("state") == "RUNNING":
                    return
            time.sleep(0.5)
        raise TimeoutError(f"Home Assistant was not running within {timeout} s")

    def confirm_http_config(self, config_dir: Path) -> None:
        """Confirm the HTTP settings taken from YAML, and drop them from configuration.yaml.

        Home Assistant 2026.10 moves them into its storage as a trial and reverts it (restarting
        itself) after five minutes unless they are confirmed, as the frontend's dialog does.
        """
        with self.websocket() as ws:
            if ws.call("http/config")["pending"] is not None:
                ws.call("http/config/promote")
        write_config(config_dir, read_port(config_dir))

    # Onboarding and login: the requests the frontend makes.

    def onboarding_steps(self) -> dict[str, bool]:
        """The onboarding steps and whether each is done."""
        answer = self._http.get("/api/onboarding")
        answer.raise_for_status()
        return {step["step"]: step["done"] for step in answer.json()}

    def onboard(self, username: str = OWNER_USERNAME, password: str = OWNER_PASSWORD) -> None:
        """Create the owner, log in with the auth code, and finish every onboarding step."""
        answer = self._http.post(
            "/api/onboarding/users",
            json={
                "client_id": self.client_id,
                "name": OWNER_NAME,
                "username": username,
                "password": password,
                "language": "en",
            },
        )
        answer.raise_for_status()
        self.tokens = self._token(grant_type="authorization_code", code=answer.json()["auth_code"])
        for step, body in (
            ("core_config", None),
            ("analytics", None),
            (
                "integration",
                {"client_id": self.client_id, "redirect_uri": f"{self.url}/?auth_callback=1"},
            ),
        ):
            answer = self._http.post(f"/api/onboarding/{step}", json=body, headers=self.headers)
            answer.raise_for_status()
        if step == "integration":
            # The frontend logs in with this code after onboarding: it must be accepted.
            self._token(grant_type="authorization_code", code=answer.json()["auth_code"])

    def login(self, username: str = OWNER_USERNAME, password: str = OWNER_PASSWORD) -> None:
        """Log in through the login flow, as the login page does."""
        answer = self._http.post(
            "/auth/login_flow",
            json={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
        )
        answer.raise_for_status()
        flow = answer.json()
        answer = self._http.post(
            f"/auth/login_flow/{flow['flow_id']}",
            json={"client_id": self.client_id, "username": username, "password": password},
        )
        answer.raise_for_status()
        result = answer.json()
        if result.get("type") != "create_entry":
            raise RuntimeError(f"login failed: {result}")
        self.tokens = self._token(grant_type="authorization_code", code=result["result"])

    def _token(self, **form: str) -> Tokens:
        answer = self._http.post("/auth/token", data={"client_id": self.client_id, **form})
        answer.raise_for_status()
        body = answer.json()
        return Tokens(body["access_token"], body.get("refresh_token", ""))

    @property
    def headers(self) -> dict[str, str]:
        """The bearer token of the logged-in owner."""
        if self.tokens is None:
            raise RuntimeError("not logged in")
        return {"Authorization": f"Bearer {self.tokens.access_token}"}

    # REST

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET with the owner's token."""
        return self._http.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        """POST JSON with the owner's token."""
        return self._http.post(path, json=body, headers=self.headers, **kwargs)

    def delete(self, path: str) -> httpx.Response:
        """DELETE with the owner's token."""
        return self._http.delete(path, headers=self.headers)

    def json(self, method: str, path: str, body: Any = None) -> Any:
        """Make a request, check it succeeded, return its JSON."""
        if method == "GET":
            answer = self.get(path)
        elif method == "DELETE":
            answer = self.delete(path)
        else:
            answer = self.post(path, body)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json()

    def flow(self, path: str, handler: Any, *steps: dict[str, Any]) -> list[dict[str, Any]]:
        """Start a data entry flow at path and answer its forms; return every result."""
        results = [self.json("POST", path, {"handler": handler})]
        for user_input in steps:
            flow_id = results[-1]["flow_id"]
            results.append(self.json("POST", f"{path}/{flow_id}", user_input))
        return results

    def entries(self) -> list[dict[str, Any]]:
        """This integration's config entries."""
        entries: list[dict[str, Any]] = self.json(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        return entries

    def websocket(self) -> WebSocket:
        """A websocket API connection, authenticated with the owner's token."""
        if self.tokens is None:
            raise RuntimeError("not logged in")
        return WebSocket(self.url.replace("http", "ws", 1) + "/api/websocket", self.tokens)


class WebSocket:
    """A synchronous websocket API client; its asyncio loop runs in a thread of its own.

    A thread of its own, so that it works beside Playwright's synchronous API, which keeps an
    event loop of its own in the test's thread.
    """

    def __init__(self, url: str, tokens: Tokens) -> None:
        """Connect and authenticate."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._id = 0
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        try:
            self._run(self._connect(url, tokens.access_token))
        except BaseException:
            self.close()
            raise

    def _run[T](self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _connect(self, url: str, access_token: str) -> None:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(url)
        assert (await self._ws.receive_json())["type"] == "auth_required"
        await self._ws.send_json({"type": "auth", "access_token": access_token})
        answer = await self._ws.receive_json()
        if answer["type"] != "auth_ok":
            raise RuntimeError(f"websocket authentication failed: {answer}")

    def __enter__(self) -> Self:
        """Use as a context manager."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close on leaving."""
        self.close()

    def close(self) -> None:
        """Close the connection and stop the loop."""

        async def _close() -> None:
            if self._ws is not None:
                await self._ws.close()
            if self._session is not None:
                await self._session.close()

        with contextlib.suppress(Exception):
            self._run(_close(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def call(self, command: str, **data: Any) -> Any:
        """Send a command; return its result, or raise its error."""
        message = self._send(command, **data)
        answer = self._receive(message["id"], lambda m: m["type"] == "result")
        if not answer["success"]:
            raise RuntimeError(f"{command}: {answer['error']}")
        return answer["result"]

    def events(
        self,
        command: str,
        until: Callable[[dict[str, Any]], bool],
        timeout: float = 120,
        **data: Any,
    ) -> list[dict[str, Any]]:
        """Send a command that answers with events; collect them until one matches until."""
        message = self._send(command, **data)
        collected: list[dict[str, Any]] = []

        def done(answer: dict[str, Any]) -> bool:
            if answer["type"] == "result":
                if not answer["success"]:
                    raise RuntimeError(f"{command}: {answer['error']}")
                return False
            collected.append(answer["event"])
            return until(answer["event"])

        self._receive(message["id"], done, timeout)
        return collected

    def _send(self, command: str, **data: Any) -> dict[str, Any]:
        self._id += 1
        message = {"id": self._id, "type": command, **data}
        assert self._ws is not None
        self._run(self._ws.send_json(message))
        return message

    def _receive(
        self, message_id: int, done: Callable[[dict[str, Any]], bool], timeout: float = 120
    ) -> dict[str, Any]:
        async def receive() -> dict[str, Any]:
            assert self._ws is not None
            while True:
                answer: dict[str, Any] = await self._ws.receive_json()
                if answer.get("id") == message_id and done(answer):
                    return answer

        return self._run(asyncio.wait_for(receive(), timeout), timeout + 5)


def add_entry(hass: Hass, api_key: str, base_url: str | None) -> dict[str, Any]:
    """Add the integration through the config flow: the custom endpoint, or region detection."""
    if base_url is None:
        steps = hass.flow(
            "/api/config/config_entries/flow",
            DOMAIN,
            {"api_key": api_key, "region": "detect"},
        )
    else:
        steps = hass.flow(
            "/api/config/config_entries/flow",
            DOMAIN,
            {"api_key": api_key, "region": "custom"},
            {"base_url": base_url, "workspace": ""},
        )
    result = steps[-1]
    if result["type"] != "create_entry":
        raise RuntimeError(f"adding the integration failed: {result}")
    entry: dict[str, Any] = result["result"]
    return entry


@contextlib.contextmanager
def running_hass(config_dir: Path, log_path: Path) -> Iterator[tuple[Process, Hass]]:
    """Start Home Assistant and stop it on leaving, whatever happened."""
    port = read_port(config_dir)
    process = start_hass(config_dir, log_path)
    hass = Hass(f"http://{HOST}:{port}")
    try:
        hass.wait_until_up(process)
        yield process, hass
    finally:
        hass.close()
        process.stop()


def read_port(config_dir: Path) -> int:
    """The HTTP port Home Assistant stored, or that configuration.yaml sets."""
    stored = config_dir / ".storage" / "http"
    if stored.exists():
        data = json.loads(stored.read_text())["data"]
        return int((data.get("pending") or data["stable"])["server_port"])
    match = re.search(r"server_port: (\d+)", (config_dir / "configuration.yaml").read_text())
    if match is None:
        raise RuntimeError(f"no server_port in {config_dir / 'configuration.yaml'}")
    return int(match.group(1))


def develop() -> None:
    """scripts/develop: a Home Assistant in ./config with this integration, until Ctrl-C."""
    config_dir = ROOT / "config"
    logs = ROOT / "artifacts" / "develop"
    stored = (config_dir / ".storage" / "http").exists()
    # Once Home Assistant has stored its HTTP settings, they are what counts.
    port = read_port(config_dir) if stored else int(os.environ.get("HASS_PORT", "8123"))
    api_key = os.environ.get("DASHSCOPE_API_KEY", "").strip()
    simulator_key = "sk-simulator-develop"
    for what, number in (("Home Assistant", port), ("the simulator", _simulator_port())):
        if not api_key or what == "Home Assistant":
            with socket.socket() as sock:
                if sock.connect_ex((HOST, number)) == 0:
                    sys.exit(f"Port {number} for {what} is in use (another scripts/develop?).")
    write_config(config_dir, port)
    stop_on_sigterm()
    simulator: Process | None = None
    base_url: str | None = None
    try:
        if not api_key:
            simulator, base_url = start_simulator(
                simulator_key, logs / "simulator.log", _simulator_port()
            )
            print(f"No DASHSCOPE_API_KEY: using the DashScope simulator at {base_url}", flush=True)
        print(f"Starting Home Assistant (config: {config_dir}, log: {logs / 'hass.log'})")
        with running_hass(config_dir, logs / "hass.log") as (process, hass):
            if not hass.onboarding_steps().get("user"):
                hass.onboard()
            else:
                hass.login()
            hass.wait_until_running()
            hass.confirm_http_config(config_dir)
            if not hass.entries():
                entry = add_entry(hass, api_key or simulator_key, None if api_key else base_url)
                print(f"Added {entry['title']}", flush=True)
            print(
                f"\nHome Assistant is running: {hass.url}\n"
                f"Log in as {OWNER_USERNAME!r} with password {OWNER_PASSWORD!r}.\n"
                f"Qwen TTS is under Settings → Devices & services; try Media → Text-to-speech.\n"
                "Press Ctrl-C to stop.",
                flush=True,
            )
            with contextlib.suppress(KeyboardInterrupt):
                while process.popen.poll() is None:
                    time.sleep(1)
            print("Stopping Home Assistant…", flush=True)
    finally:
        if simulator is not None:
            simulator.stop()


def _simulator_port() -> int:
    return int(os.environ.get("SIMULATOR_PORT", "8750"))


def main(argv: list[str]) -> None:
    """Command line: python -m tests.e2e.harness develop."""
    if argv[1:] == ["develop"]:
        develop()
    else:
        sys.exit("usage: python -m tests.e2e.harness develop")


if __name__ == "__main__":
    main(sys.argv)
