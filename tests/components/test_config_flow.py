"""The config flow: key and region, custom endpoint, re-authentication, reconfiguration, profiles.

Every check talks to the DashScope simulators over real HTTP; unreachable endpoints are local ports
that nothing listens on.
"""

from __future__ import annotations

from collections.abc import Callable
import socket
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
)
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from homeassistant.helpers.selector import SelectSelector
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_tts.aioqwentts import MODELS, REGION_BASE_URLS, Region
from custom_components.qwen_tts.config_flow import REGION_LABELS
from custom_components.qwen_tts.const import (
    CONF_BASE_URL,
    CONF_INSTRUCTIONS,
    CONF_LEADING_SILENCE,
    CONF_MODEL,
    CONF_REGION,
    CONF_SPEECH_RATE,
    CONF_VOICE,
    CONF_WORKSPACE,
    DOMAIN,
    REGION_CUSTOM,
    REGION_DETECT,
    SUBENTRY_VOICE_PROFILE,
)
from custom_components.qwen_tts.profiles import DEFAULT_PROFILE
from simulator import GENERATION_PATH, DashScopeSimulator, SimulatorConfig
from simulator.catalog import INVALID_VOICE
from tests.components import open_profile_flow
from tests.components.conftest import PROFILE_ID, make_entry
from tests.conftest import CHINA_KEY, INTERNATIONAL_KEY

type Result = FlowResult[Any, Any]
type Fault = Callable[[DashScopeSimulator], None]

UNKNOWN_KEY = "sk-unknown-000000000000"
NEW_CHINA_KEY = "sk-china-new-111111111111"
#: Attempts the client makes for a retryable (429, 5xx) answer before giving up.
ATTEMPTS = 3

CHINA_TITLE = "Qwen TTS (China mainland)"
INTERNATIONAL_TITLE = "Qwen TTS (International)"
#: Run a test once with each region's key.
EACH_REGION = pytest.mark.parametrize(
    ("key", "region", "title"),
    [
        (CHINA_KEY, Region.CHINA, CHINA_TITLE),
        (INTERNATIONAL_KEY, Region.INTERNATIONAL, INTERNATIONAL_TITLE),
    ],
    ids=["china", "international"],
)


# Helpers


@pytest.fixture
def closed_url(socket_enabled: None) -> str:
    """A local URL where nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def fields(result: Result) -> dict[str, probatio.Marker]:
    """The form's fields by name."""
    schema = result["data_schema"]
    assert schema is not None
    return {str(marker.schema): marker for marker in schema.schema}


def suggested(result: Result) -> dict[str, Any]:
    """The values the form suggests, by field name."""
    return {
        name: marker.description["suggested_value"]
        for name, marker in fields(result).items()
        if marker.description and "suggested_value" in marker.description
    }


def select_options(result: Result, name: str) -> list[Any]:
    """The options of a select field of the form."""
    schema = result["data_schema"]
    assert schema is not None
    selector = schema.schema[name]
    assert isinstance(selector, SelectSelector)
    return list(selector.config["options"])


def statuses(sim: DashScopeSimulator) -> list[tuple[str, int]]:
    """The key and answer status of every synthesis request the simulator received."""
    return [
        (r.headers["Authorization"].removeprefix("Bearer "), r.status)
        for r in sim.generation_requests
    ]


def assert_key_hidden(entry: ConfigEntry, key: str) -> None:
    """The key is a secret: it may be in the entry's data, nowhere else."""
    assert key not in entry.title
    assert entry.unique_id is None or key not in entry.unique_id
    for subentry in entry.subentries.values():
        assert key not in subentry.title


def only_entry(hass: HomeAssistant) -> ConfigEntry:
    """The one config entry of the integration."""
    entries = hass.config_entries.async_entries(DOMAIN)
    assert len(entries) == 1
    return entries[0]


def reset(*sims: DashScopeSimulator) -> None:
    """Forget requests, faults and account trouble."""
    for sim in sims:
        sim.clear()
        sim.config = SimulatorConfig()


async def start_user_flow(hass: HomeAssistant) -> Result:
    """Open the user step and check its empty form."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result


async def start_reconfigure(hass: HomeAssistant, entry: ConfigEntry) -> Result:
    """Open the reconfigure step of an entry."""
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )


async def start_profile_reconfigure(hass: HomeAssistant, entry: ConfigEntry) -> Result:
    """Open the model step of the entry's voice profile, to change it."""
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VOICE_PROFILE),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": PROFILE_ID},
    )


async def submit(hass: HomeAssistant, result: Result, user_input: dict[str, Any]) -> Result:
    """Submit a config flow step."""
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


async def submit_profile(hass: HomeAssistant, result: Result, user_input: dict[str, Any]) -> Result:
    """Submit a voice profile flow step."""
    return await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)


# The user step


async def test_user_form(hass: HomeAssistant, regions: dict[Region, DashScopeSimulator]) -> None:
    """The first form asks for key and region, Detect preselected, and sends nothing."""
    result = await start_user_flow(hass)

    assert set(fields(result)) == {CONF_API_KEY, CONF_REGION}
    region = fields(result)[CONF_REGION]
    assert isinstance(region, probatio.Required)
    assert callable(region.default)
    assert region.default() == REGION_DETECT
    assert select_options(result, CONF_REGION) == [
        REGION_DETECT,
        "china",
        "international",
        REGION_CUSTOM,
    ]
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["api_key_url"].startswith("https://")
    assert all(not sim.requests for sim in regions.values())


@EACH_REGION
async def test_user_detect(
    hass: HomeAssistant,
    regions: dict[Region, DashScopeSimulator],
    key: str,
    region: Region,
    title: str,
) -> None:
    """Detect asks both regions at once and keeps the one that took the key."""
    result = await start_user_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: key, CONF_REGION: REGION_DETECT})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    assert result["data"] == {
        CONF_API_KEY: key,
        CONF_REGION: str(region),
        CONF_BASE_URL: regions[region].base_url,
    }
    entry = only_entry(hass)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data == result["data"]
    assert_key_hidden(entry, key)
    [profile] = entry.subentries.values()
    assert profile.subentry_type == SUBENTRY_VOICE_PROFILE
    assert profile.data == DEFAULT_PROFILE
    assert profile.title == "Qwen Cherry"
    # One request per region during the flow; the set-up that follows trusts its check.
    other = next(r for r in Region if r is not region)
    assert statuses(regions[region]) == [(key, 200)]
    assert statuses(regions[other]) == [(key, 401)]
    assert len(regions[region].requests) == 1  # not even the free check
    assert regions[region].billed_characters == 1


async def test_user_invalid_key_then_recovery(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator]
) -> None:
    """A key neither region knows is blamed on the key field; a good key then goes through."""
    result = await start_user_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: UNKNOWN_KEY, CONF_REGION: REGION_DETECT})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}
    assert suggested(result)[CONF_REGION] == REGION_DETECT
    for sim in regions.values():
        assert statuses(sim) == [(UNKNOWN_KEY, 401)]
    assert not hass.config_entries.async_entries(DOMAIN)

    result = await submit(hass, result, {CONF_API_KEY: CHINA_KEY, CONF_REGION: REGION_DETECT})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_REGION] == "china"


async def test_user_empty_key(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator]
) -> None:
    """An empty key is refused without asking the service."""
    result = await start_user_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: "", CONF_REGION: REGION_DETECT})

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}
    assert all(not sim.requests for sim in regions.values())


@EACH_REGION
async def test_user_explicit_region(
    hass: HomeAssistant,
    regions: dict[Region, DashScopeSimulator],
    key: str,
    region: Region,
    title: str,
) -> None:
    """A region chosen by hand that takes the key makes the entry."""
    result = await start_user_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: key, CONF_REGION: str(region)})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    assert result["data"] == {
        CONF_API_KEY: key,
        CONF_REGION: str(region),
        CONF_BASE_URL: regions[region].base_url,
    }
    assert_key_hidden(only_entry(hass), key)
    assert regions[region].generation_requests[0].status == 200
    # A right choice costs one request: the other region is asked only after a rejection.
    other = next(r for r in Region if r is not region)
    assert statuses(regions[other]) == []


@pytest.mark.parametrize(
    ("key", "wrong", "right"),
    [
        (INTERNATIONAL_KEY, Region.CHINA, Region.INTERNATIONAL),
        (CHINA_KEY, Region.INTERNATIONAL, Region.CHINA),
    ],
    ids=["international-key-as-china", "china-key-as-international"],
)
async def test_user_wrong_region_then_recovery(
    hass: HomeAssistant,
    regions: dict[Region, DashScopeSimulator],
    key: str,
    wrong: Region,
    right: Region,
) -> None:
    """A key of the other region is blamed on the region, which the error names."""
    result = await start_user_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: key, CONF_REGION: str(wrong)})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {CONF_REGION: "wrong_region"}
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["other_region"] == REGION_LABELS[right]
    assert suggested(result)[CONF_REGION] == str(wrong)
    assert statuses(regions[wrong]) == [(key, 401)]
    assert statuses(regions[right]) == [(key, 200)]

    result = await submit(hass, result, {CONF_API_KEY: key, CONF_REGION: str(right)})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_REGION] == str(right)
    assert result["data"][CONF_BASE_URL] == regions[right].base_url


async def test_user_wrong_region_other_region_denies_model(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator]
) -> None:
    """A region that took the key but refused the model still counts as the key's region."""
    regions[Region.INTERNATIONAL].config.denied_models = frozenset({"qwen3-tts-flash"})
    result = await start_user_flow(hass)

    result = await submit(
        hass, result, {CONF_API_KEY: INTERNATIONAL_KEY, CONF_REGION: str(Region.CHINA)}
    )

    assert result["errors"] == {CONF_REGION: "wrong_region"}
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["other_region"] == "International (Singapore)"


async def test_user_explicit_region_other_unreachable(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator], closed_url: str
) -> None:
    """A key refused by its chosen region, the other one unreachable: the key is blamed."""
    with patch.dict(REGION_BASE_URLS, {Region.INTERNATIONAL: closed_url}):
        result = await start_user_flow(hass)
        result = await submit(
            hass, result, {CONF_API_KEY: INTERNATIONAL_KEY, CONF_REGION: str(Region.CHINA)}
        )

    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}
    assert statuses(regions[Region.CHINA]) == [(INTERNATIONAL_KEY, 401)]


def _fail(status: int, code: str, message: str = "Simulated failure.", count: int = 1) -> Fault:
    def arm(sim: DashScopeSimulator) -> None:
        sim.fail_next(status, code, message, count=count)

    return arm


def _set(**changes: Any) -> Fault:
    def apply(sim: DashScopeSimulator) -> None:
        for name, value in changes.items():
            setattr(sim.config, name, value)

    return apply


#: (fault armed on the region that owns the key, form error, requests that region receives)
FORM_ERRORS = [
    pytest.param(
        _fail(403, "Model.AccessDenied", "Model access denied."), "model_access", 1, id="403"
    ),
    pytest.param(_fail(404, "ModelNotFound", "Model not exist."), "model_access", 1, id="404"),
    pytest.param(_set(free_tier_exhausted=True), "quota_exhausted", 1, id="free-tier"),
    pytest.param(_set(arrearage=True), "quota_exhausted", 1, id="arrearage"),
    pytest.param(
        _fail(429, "Throttling.RateQuota", count=ATTEMPTS), "rate_limited", ATTEMPTS, id="429"
    ),
    pytest.param(_set(rate_limit=(0, 60.0)), "rate_limited", ATTEMPTS, id="rate-limit"),
    pytest.param(
        _fail(500, "InternalError", count=ATTEMPTS), "cannot_connect", ATTEMPTS, id="500-storm"
    ),
    pytest.param(
        _fail(503, "ServiceUnavailable", count=ATTEMPTS), "cannot_connect", ATTEMPTS, id="503"
    ),
    pytest.param(lambda sim: sim.cut_stream(0), "cannot_connect", 1, id="stream-cut"),
    pytest.param(lambda sim: sim.malformed_frame(1), "bad_answer", 1, id="malformed-frame"),
    pytest.param(
        _fail(400, "InvalidParameter", "Unsupported parameter."), "invalid_endpoint", 1, id="400"
    ),
    pytest.param(_fail(400, "InvalidParameter", INVALID_VOICE), "invalid_voice", 1, id="voice"),
    pytest.param(_fail(418, "Teapot", "I'm a teapot."), "unknown", 1, id="unknown"),
]


@pytest.mark.parametrize(("fault", "error", "attempts"), FORM_ERRORS)
@pytest.mark.parametrize(
    ("key", "owner", "region"),
    [
        (CHINA_KEY, Region.CHINA, REGION_DETECT),
        (INTERNATIONAL_KEY, Region.INTERNATIONAL, REGION_DETECT),
        (CHINA_KEY, Region.CHINA, str(Region.CHINA)),
    ],
    ids=["detect-china", "detect-international", "china"],
)
async def test_user_form_errors_then_recovery(
    hass: HomeAssistant,
    regions: dict[Region, DashScopeSimulator],
    fault: Fault,
    error: str,
    attempts: int,
    key: str,
    owner: Region,
    region: str,
) -> None:
    """A region that took the key but failed otherwise shows why; once healed, it goes through."""
    fault(regions[owner])
    result = await start_user_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: key, CONF_REGION: region})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": error}
    assert len(regions[owner].generation_requests) == attempts
    assert not hass.config_entries.async_entries(DOMAIN)

    reset(*regions.values())
    result = await submit(hass, result, {CONF_API_KEY: key, CONF_REGION: region})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_REGION] == str(owner)


async def test_user_unreachable(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator], closed_url: str
) -> None:
    """Neither region reachable: cannot_connect, not a wrong key."""
    with patch.dict(REGION_BASE_URLS, dict.fromkeys(Region, closed_url)):
        result = await start_user_flow(hass)
        result = await submit(hass, result, {CONF_API_KEY: CHINA_KEY, CONF_REGION: REGION_DETECT})

    assert result["errors"] == {"base": "cannot_connect"}


async def test_user_already_configured(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator]
) -> None:
    """The same key for the same region twice is refused, however the region was chosen."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: CHINA_KEY, CONF_REGION: str(Region.CHINA)})
    assert result["type"] is FlowResultType.CREATE_ENTRY

    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: CHINA_KEY, CONF_REGION: REGION_DETECT})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


@pytest.mark.parametrize("region", [REGION_DETECT, str(Region.CHINA)])
async def test_duplicate_costs_no_request(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator], region: str
) -> None:
    """A key already set up for a region is refused before anything is sent."""
    MockConfigEntry(
        domain=DOMAIN,
        data={
            CONF_API_KEY: CHINA_KEY,
            CONF_REGION: str(Region.CHINA),
            CONF_BASE_URL: regions[Region.CHINA].base_url,
        },
    ).add_to_hass(hass)

    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: CHINA_KEY, CONF_REGION: region})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert not regions[Region.CHINA].requests
    assert not regions[Region.INTERNATIONAL].requests


async def test_user_other_key_same_region_is_another_entry(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator]
) -> None:
    """A second key of the same region is a second account, not a duplicate."""
    regions[Region.CHINA].api_keys.add(NEW_CHINA_KEY)
    for key in (CHINA_KEY, NEW_CHINA_KEY):
        result = await start_user_flow(hass)
        result = await submit(hass, result, {CONF_API_KEY: key, CONF_REGION: REGION_DETECT})
        assert result["type"] is FlowResultType.CREATE_ENTRY

    entries = hass.config_entries.async_entries(DOMAIN)
    assert [e.data[CONF_API_KEY] for e in entries] == [CHINA_KEY, NEW_CHINA_KEY]


# The custom endpoint step


async def _start_custom(hass: HomeAssistant, key: str = CHINA_KEY) -> Result:
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: key, CONF_REGION: REGION_CUSTOM})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "custom"
    assert result["errors"] == {}
    return result


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://x", "invalid_url_scheme"),
        ("not a url", "invalid_url_scheme"),
        ("http://", "invalid_url_host"),
        ("   ", "invalid_url_scheme"),
        ("//host:80", "invalid_url_scheme"),
        ("http://[::1", "invalid_url_host"),
        ("http://host:99999", "invalid_url_host"),
        ("https://user:secret@dashscope.aliyuncs.com", "invalid_url_userinfo"),
        ("https://dashscope.aliyuncs.com?region=cn", "invalid_url_query"),
        ("https://dashscope.aliyuncs.com/?", "invalid_url_query"),
        ("https://dashscope.aliyuncs.com#top", "invalid_url_fragment"),
        ("https://dashscope.aliyuncs.com/api/v1/services", "invalid_url_path"),
        ("https://proxy.example/dashscope", "invalid_url_path"),
    ],
)
async def test_custom_invalid_url_then_recovery(
    hass: HomeAssistant, china: DashScopeSimulator, url: str, error: str
) -> None:
    """Only a plain http(s) host is tried, each refusal saying why; then a good one is kept."""
    result = await _start_custom(hass)
    assert set(fields(result)) == {CONF_BASE_URL, CONF_WORKSPACE, CONF_API_KEY}
    assert suggested(result) == {}

    result = await submit(hass, result, {CONF_BASE_URL: url})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "custom"
    assert result["errors"] == {CONF_BASE_URL: error}
    assert suggested(result) == {CONF_BASE_URL: url}
    assert not china.requests

    # Trailing slashes, spaces and the SDK's /api/v1 suffix are what users paste: accepted.
    result = await submit(hass, result, {CONF_BASE_URL: f"  {china.base_url}/api/v1/  "})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    host = china.base_url.removeprefix("http://")
    assert result["title"] == f"Qwen TTS ({host})"
    assert result["data"] == {
        CONF_API_KEY: CHINA_KEY,
        CONF_REGION: REGION_CUSTOM,
        CONF_BASE_URL: china.base_url,
        CONF_WORKSPACE: "",
    }
    entry = only_entry(hass)
    assert entry.state is ConfigEntryState.LOADED
    assert_key_hidden(entry, CHINA_KEY)
    assert [p.data for p in entry.subentries.values()] == [DEFAULT_PROFILE]
    assert all("X-DashScope-WorkSpace" not in r.headers for r in china.generation_requests)


async def test_custom_workspace(hass: HomeAssistant, china: DashScopeSimulator) -> None:
    """The workspace is stored trimmed and sent as X-DashScope-WorkSpace."""
    result = await _start_custom(hass)

    result = await submit(
        hass, result, {CONF_BASE_URL: china.base_url, CONF_WORKSPACE: " ws-0123456789 "}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_WORKSPACE] == "ws-0123456789"
    # The flow's check carries it (the set-up that follows trusts that check).
    (request,) = china.requests
    assert request.headers["X-DashScope-WorkSpace"] == "ws-0123456789"


async def test_custom_errors_then_recovery(
    hass: HomeAssistant, china: DashScopeSimulator, closed_url: str
) -> None:
    """Unreachable, wrong path and refused endpoints each say so; the form keeps what was typed."""
    result = await _start_custom(hass)

    result = await submit(hass, result, {CONF_BASE_URL: closed_url, CONF_WORKSPACE: "ws-1"})
    assert result["step_id"] == "custom"
    assert result["errors"] == {"base": "cannot_connect"}
    assert suggested(result) == {CONF_BASE_URL: closed_url, CONF_WORKSPACE: "ws-1"}

    # The /api path belongs to the client, not to the base URL: refused before any request.
    result = await submit(hass, result, {CONF_BASE_URL: f"{china.base_url}/api"})
    assert result["errors"] == {CONF_BASE_URL: "invalid_url_path"}
    assert china.requests == []

    # A host that is not DashScope at all (the simulator refuses unknown paths as the service
    # refuses a wrong host): the service's own words.
    china.fail_next(400, "InvalidParameter", "url error, please check url！")
    result = await submit(hass, result, {CONF_BASE_URL: china.base_url})
    assert result["errors"] == {"base": "invalid_endpoint"}

    china.fail_next(403, "Workspace.AccessDenied", "Workspace access denied.")
    result = await submit(hass, result, {CONF_BASE_URL: china.base_url})
    assert result["errors"] == {"base": "model_access"}

    result = await submit(hass, result, {CONF_BASE_URL: china.base_url})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_URL] == china.base_url


async def test_custom_wrong_key(hass: HomeAssistant, china: DashScopeSimulator) -> None:
    """A key the custom endpoint refuses is reported on the custom form."""
    result = await _start_custom(hass, UNKNOWN_KEY)

    result = await submit(hass, result, {CONF_BASE_URL: china.base_url})

    assert result["step_id"] == "custom"
    assert result["errors"] == {"base": "invalid_auth"}
    assert statuses(china) == [(UNKNOWN_KEY, 401)]

    # The custom form takes a new key: no need to start over.
    result = await submit(hass, result, {CONF_BASE_URL: china.base_url, CONF_API_KEY: CHINA_KEY})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API_KEY] == CHINA_KEY
    assert statuses(china)[:2] == [(UNKNOWN_KEY, 401), (CHINA_KEY, 200)]


async def test_custom_already_configured(hass: HomeAssistant, china: DashScopeSimulator) -> None:
    """The same key on the same endpoint twice is refused (the trailing slash does not matter)."""
    for url in (china.base_url, china.base_url + "/"):
        result = await _start_custom(hass)
        result = await submit(hass, result, {CONF_BASE_URL: url})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


# Re-authentication


async def test_reauth(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A revoked key: the old one is still refused, the new one is saved and the entry reloaded."""
    china.api_keys = {NEW_CHINA_KEY}
    china.clear()
    entry.async_start_reauth(hass)
    await hass.async_block_till_done()
    [flow] = entry.async_get_active_flows(hass, {SOURCE_REAUTH})
    result: Result = await hass.config_entries.flow.async_configure(flow["flow_id"])

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert set(fields(result)) == {CONF_API_KEY}
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["title"] == CHINA_TITLE

    result = await submit(hass, result, {CONF_API_KEY: CHINA_KEY})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": "invalid_auth"}
    assert entry.data[CONF_API_KEY] == CHINA_KEY

    result = await submit(hass, result, {CONF_API_KEY: NEW_CHINA_KEY})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == {
        CONF_API_KEY: NEW_CHINA_KEY,
        CONF_REGION: "china",
        CONF_BASE_URL: china.base_url,
    }
    assert entry.title == CHINA_TITLE
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # Refused old key, the flow's check of the new one; the reload trusts that check.
    assert statuses(china) == [(CHINA_KEY, 401), (NEW_CHINA_KEY, 200)]


async def test_reauth_after_failed_setup(hass: HomeAssistant, china: DashScopeSimulator) -> None:
    """A key refused at setup starts re-authentication; the new key loads the entry once."""
    china.api_keys = {NEW_CHINA_KEY}
    entry = make_entry(china.base_url)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert [e.state for e in hass.config_entries.async_entries(DOMAIN)] == [
        ConfigEntryState.SETUP_ERROR
    ]
    [flow] = entry.async_get_active_flows(hass, {SOURCE_REAUTH})
    assert flow["step_id"] == "reauth_confirm"

    result = await submit(hass, flow, {CONF_API_KEY: NEW_CHINA_KEY})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_API_KEY] == NEW_CHINA_KEY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # The refused set-up's free check, the flow's check; the set-up with the new key trusts it.
    assert [(r.path, r.status) for r in china.requests] == [
        ("/api/v1/models", 401),
        (GENERATION_PATH, 200),
    ]
    assert statuses(china) == [(NEW_CHINA_KEY, 200)]


async def test_reauth_keeps_workspace(hass: HomeAssistant, china: DashScopeSimulator) -> None:
    """A custom entry's new key is checked against its endpoint, with its workspace."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Qwen TTS (custom)",
        data={
            CONF_API_KEY: UNKNOWN_KEY,
            CONF_REGION: REGION_CUSTOM,
            CONF_BASE_URL: china.base_url,
            CONF_WORKSPACE: "ws-7",
        },
    )
    entry.add_to_hass(hass)
    result: Result = await entry.start_reauth_flow(hass)
    china.fail_next(429, "Throttling.RateQuota", count=ATTEMPTS)

    result = await submit(hass, result, {CONF_API_KEY: CHINA_KEY})
    assert result["errors"] == {"base": "rate_limited"}

    result = await submit(hass, result, {CONF_API_KEY: CHINA_KEY})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_API_KEY] == CHINA_KEY
    assert entry.data[CONF_WORKSPACE] == "ws-7"
    assert all(r.headers["X-DashScope-WorkSpace"] == "ws-7" for r in china.generation_requests)


# Reconfiguration


async def test_reconfigure_form(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator], entry: MockConfigEntry
) -> None:
    """The form suggests the current region and never shows the current key."""
    result = await start_reconfigure(hass, entry)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {}
    assert suggested(result) == {CONF_REGION: "china"}
    assert isinstance(fields(result)[CONF_API_KEY], probatio.Optional)


async def test_reconfigure_new_key_and_region(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator], entry: MockConfigEntry
) -> None:
    """A key of the other region, detected: data and title follow it."""
    result = await start_reconfigure(hass, entry)

    result = await submit(
        hass, result, {CONF_API_KEY: INTERNATIONAL_KEY, CONF_REGION: REGION_DETECT}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        CONF_API_KEY: INTERNATIONAL_KEY,
        CONF_REGION: "international",
        CONF_BASE_URL: regions[Region.INTERNATIONAL].base_url,
    }
    assert entry.title == INTERNATIONAL_TITLE
    assert_key_hidden(entry, INTERNATIONAL_KEY)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # The reload checked the new key on the new region.
    assert statuses(regions[Region.INTERNATIONAL])[-1] == (INTERNATIONAL_KEY, 200)
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_reconfigure_keep_key_errors_and_recovery(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator], entry: MockConfigEntry
) -> None:
    """An empty key keeps the current one; a wrong region, a bad key, then the right region."""
    china = regions[Region.CHINA]
    china.clear()
    result = await start_reconfigure(hass, entry)

    result = await submit(hass, result, {CONF_REGION: str(Region.INTERNATIONAL)})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {CONF_REGION: "wrong_region"}
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["other_region"] == "China mainland (Beijing)"
    assert suggested(result) == {CONF_REGION: "international"}
    # The current key was the one tried.
    assert statuses(regions[Region.INTERNATIONAL]) == [(CHINA_KEY, 401)]

    result = await submit(hass, result, {CONF_API_KEY: UNKNOWN_KEY, CONF_REGION: "china"})
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}
    assert entry.data[CONF_API_KEY] == CHINA_KEY

    china.fail_next(403, "Model.AccessDenied", "Model access denied.")
    result = await submit(hass, result, {CONF_API_KEY: "", CONF_REGION: "china"})
    assert result["errors"] == {"base": "model_access"}

    result = await submit(hass, result, {CONF_API_KEY: "", CONF_REGION: "china"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        CONF_API_KEY: CHINA_KEY,
        CONF_REGION: "china",
        CONF_BASE_URL: china.base_url,
    }
    assert entry.title == CHINA_TITLE


async def test_reconfigure_to_custom_endpoint(
    hass: HomeAssistant,
    regions: dict[Region, DashScopeSimulator],
    entry: MockConfigEntry,
    closed_url: str,
) -> None:
    """Switching to a custom endpoint suggests the current URL, checks the new one, saves it."""
    china = regions[Region.CHINA]
    result = await start_reconfigure(hass, entry)

    result = await submit(hass, result, {CONF_REGION: REGION_CUSTOM})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "custom"
    assert suggested(result) == {CONF_BASE_URL: china.base_url}

    result = await submit(hass, result, {CONF_BASE_URL: closed_url})
    assert result["errors"] == {"base": "cannot_connect"}
    assert suggested(result) == {CONF_BASE_URL: closed_url}

    china.clear()
    result = await submit(hass, result, {CONF_BASE_URL: china.base_url + "/", CONF_WORKSPACE: "w"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        CONF_API_KEY: CHINA_KEY,
        CONF_REGION: REGION_CUSTOM,
        CONF_BASE_URL: china.base_url,
        CONF_WORKSPACE: "w",
    }
    assert entry.title == f"Qwen TTS ({china.base_url.removeprefix('http://')})"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert [r.headers.get("X-DashScope-WorkSpace") for r in china.generation_requests] == [
        "w",
    ]


async def test_reconfigure_custom_entry(
    hass: HomeAssistant, regions: dict[Region, DashScopeSimulator]
) -> None:
    """A custom entry's form suggests its endpoint and workspace; it can go back to a region."""
    china = regions[Region.CHINA]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Qwen TTS (proxy)",
        data={
            CONF_API_KEY: CHINA_KEY,
            CONF_REGION: REGION_CUSTOM,
            CONF_BASE_URL: "http://proxy.invalid:8080",
            CONF_WORKSPACE: "ws-9",
        },
    )
    entry.add_to_hass(hass)
    result = await start_reconfigure(hass, entry)
    assert suggested(result) == {CONF_REGION: REGION_CUSTOM}

    custom = await submit(hass, result, {CONF_REGION: REGION_CUSTOM})
    assert custom["step_id"] == "custom"
    assert suggested(custom) == {
        CONF_BASE_URL: "http://proxy.invalid:8080",
        CONF_WORKSPACE: "ws-9",
    }
    assert CHINA_KEY not in str(suggested(custom))
    hass.config_entries.flow.async_abort(custom["flow_id"])

    result = await start_reconfigure(hass, entry)
    result = await submit(hass, result, {CONF_REGION: REGION_DETECT})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        CONF_API_KEY: CHINA_KEY,
        CONF_REGION: "china",
        CONF_BASE_URL: china.base_url,
    }
    assert entry.title == CHINA_TITLE


# Voice profiles


async def start_profile_flow(hass: HomeAssistant, entry: ConfigEntry) -> Result:
    """Open a new voice profile's model step (the first of the menu's three ways)."""
    return await open_profile_flow(hass, entry)


async def test_profile_model_form(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Every known model is offered, the default suggested."""
    result = await start_profile_flow(hass, entry)

    assert select_options(result, CONF_MODEL) == list(MODELS)
    assert suggested(result) == {CONF_MODEL: "qwen3-tts-flash"}


@pytest.mark.parametrize(
    ("model", "instructions"),
    [
        ("qwen3-tts-flash", False),
        ("qwen3-tts-flash-2025-11-27", False),
        ("qwen3-tts-instruct-flash", True),
        ("qwen-tts", False),
        ("qwen-tts-latest", False),
    ],
)
async def test_profile_voice_form(
    hass: HomeAssistant, entry: MockConfigEntry, model: str, instructions: bool
) -> None:
    """The voice step offers the model's voices, and a style field for instruct models only."""
    result = await start_profile_flow(hass, entry)

    result = await submit_profile(hass, result, {CONF_MODEL: model})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "voice"
    assert result["errors"] == {}
    options = select_options(result, CONF_VOICE)
    assert options == [{"value": v.id, "label": v.display_name} for v in MODELS[model].voices]
    expected_fields = {CONF_VOICE, CONF_SPEECH_RATE, CONF_LEADING_SILENCE, CONF_NAME} | (
        {CONF_INSTRUCTIONS} if instructions else set()
    )
    assert set(fields(result)) == expected_fields
    assert suggested(result)[CONF_VOICE] == "Cherry"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["model"] == model


async def test_profile_voice_lists_differ(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """qwen-tts offers four voices, qwen3-tts-flash many more, dialects included."""
    voice_ids: dict[str, list[str]] = {}
    for model in ("qwen3-tts-flash", "qwen-tts"):
        result = await start_profile_flow(hass, entry)
        result = await submit_profile(hass, result, {CONF_MODEL: model})
        voice_ids[model] = [o["value"] for o in select_options(result, CONF_VOICE)]
        hass.config_entries.subentries.async_abort(result["flow_id"])

    assert voice_ids["qwen-tts"] == ["Cherry", "Serena", "Ethan", "Chelsie"]
    assert "Dylan" in voice_ids["qwen3-tts-flash"]
    # The alias speaks the 2025-11-27 snapshot's voices, which the legacy models do not have.
    assert "Aiden" in voice_ids["qwen3-tts-flash"]
    assert "Aiden" not in voice_ids["qwen-tts"]
    assert "Dylan" not in voice_ids["qwen-tts"]


@pytest.mark.parametrize(
    ("model", "user_input", "title", "data"),
    [
        (
            "qwen3-tts-flash",
            {CONF_VOICE: " Ethan "},
            "Qwen Ethan",
            {CONF_MODEL: "qwen3-tts-flash", CONF_VOICE: "Ethan", CONF_SPEECH_RATE: 1.0},
        ),
        (
            "qwen3-tts-instruct-flash",
            {CONF_VOICE: "Dylan", CONF_SPEECH_RATE: 1.25, CONF_INSTRUCTIONS: "calm and warm"},
            "Qwen Dylan (qwen3-tts-instruct-flash)",
            {
                CONF_MODEL: "qwen3-tts-instruct-flash",
                CONF_VOICE: "Dylan",
                CONF_SPEECH_RATE: 1.25,
                CONF_INSTRUCTIONS: "calm and warm",
            },
        ),
        (
            "qwen-tts",
            {CONF_VOICE: "Serena", CONF_SPEECH_RATE: 0.75},
            "Qwen Serena (qwen-tts)",
            {CONF_MODEL: "qwen-tts", CONF_VOICE: "Serena", CONF_SPEECH_RATE: 0.75},
        ),
    ],
    ids=["default-model", "instruct", "legacy"],
)
async def test_profile_create(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    model: str,
    user_input: dict[str, Any],
    title: str,
    data: dict[str, Any],
) -> None:
    """A checked profile becomes a subentry; the check spoke with exactly its settings."""
    result = await start_profile_flow(hass, entry)
    result = await submit_profile(hass, result, {CONF_MODEL: f" {model} "})
    china.clear()

    result = await submit_profile(hass, result, user_input)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    assert result["data"] == data
    profiles = {s.subentry_id: s for s in entry.subentries.values()}
    assert len(profiles) == 2
    [new] = [s for s in profiles.values() if s.subentry_id != PROFILE_ID]
    assert new.title == title
    assert new.data == data
    assert new.subentry_type == SUBENTRY_VOICE_PROFILE
    body = china.generation_requests[0].body
    assert body is not None
    assert body["model"] == model
    assert body["input"]["voice"] == data[CONF_VOICE]
    assert body["input"].get("instructions") == data.get(CONF_INSTRUCTIONS)
    rate = data[CONF_SPEECH_RATE]
    assert body["parameters"] == ({} if rate == 1.0 else {"speech_rate": rate})
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_profile_invalid_voice_then_recovery(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A voice the model does not have is refused by the service, then a real one is saved."""
    result = await start_profile_flow(hass, entry)
    result = await submit_profile(hass, result, {CONF_MODEL: "qwen-tts"})

    result = await submit_profile(hass, result, {CONF_VOICE: "Dylan", CONF_SPEECH_RATE: 1.5})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "voice"
    assert result["errors"] == {"base": "invalid_voice"}
    # The refused voice is not suggested again: the model's first voice is.
    assert suggested(result) == {CONF_VOICE: "Cherry", CONF_SPEECH_RATE: 1.5}
    assert china.generation_requests[-1].error_code == "InvalidParameter"

    result = await submit_profile(hass, result, {CONF_VOICE: "Chelsie"})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Qwen Chelsie (qwen-tts)"
    assert len(entry.subentries) == 2


@pytest.mark.parametrize(
    ("model", "form", "field"),
    [
        ("qwen3-tts-flash", {CONF_VOICE: "   "}, CONF_VOICE),
        (
            "qwen3-tts-instruct-flash",
            {CONF_VOICE: "Cherry", CONF_INSTRUCTIONS: "x" * 1601},
            CONF_INSTRUCTIONS,
        ),
    ],
)
async def test_profile_refused_locally_then_recovery(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    model: str,
    form: dict[str, Any],
    field: str,
) -> None:
    """What the client's checks refuse is marked on its field, with no request; then saved."""
    result = await start_profile_flow(hass, entry)
    result = await submit_profile(hass, result, {CONF_MODEL: model})
    china.clear()

    result = await submit_profile(hass, result, form)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: "invalid_option"}
    assert china.generation_requests == []

    result = await submit_profile(
        hass,
        result,
        {**form, CONF_VOICE: "Cherry", CONF_INSTRUCTIONS: "calm"}
        if field == CONF_INSTRUCTIONS
        else {CONF_VOICE: "Cherry"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (_set(denied_models=frozenset({"qwen3-tts-instruct-flash"})), "model_access"),
        (_set(free_tier_exhausted=True), "quota_exhausted"),
        (_fail(429, "Throttling.RateQuota", count=ATTEMPTS), "rate_limited"),
        (_fail(401, "InvalidApiKey", "Invalid API-key provided."), "invalid_auth"),
        (_fail(500, "InternalError", count=ATTEMPTS), "cannot_connect"),
        (_fail(418, "Teapot"), "unknown"),
    ],
    ids=["model-access", "quota", "rate-limited", "auth", "server", "unknown"],
)
async def test_profile_errors_then_recovery(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    fault: Fault,
    error: str,
) -> None:
    """The voice step says why the service refused the profile, and keeps what was entered."""
    result = await start_profile_flow(hass, entry)
    result = await submit_profile(hass, result, {CONF_MODEL: "qwen3-tts-instruct-flash"})
    fault(china)
    user_input = {CONF_VOICE: "Kiki", CONF_SPEECH_RATE: 0.5, CONF_INSTRUCTIONS: "slowly"}

    result = await submit_profile(hass, result, user_input)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["model"] == "qwen3-tts-instruct-flash"
    assert placeholders["console_url"].startswith("https://")
    assert len(entry.subentries) == 1
    if error == "model_access":
        # Only another model (or enabling this one) helps: back to the model step.
        assert result["step_id"] == "model"
        reset(china)
        result = await submit_profile(hass, result, {CONF_MODEL: "qwen3-tts-instruct-flash"})
    else:
        assert result["step_id"] == "voice"
        assert suggested(result) == user_input

    reset(china)
    result = await submit_profile(hass, result, user_input)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_MODEL: "qwen3-tts-instruct-flash", **user_input}


async def test_profile_model_not_in_region(
    hass: HomeAssistant, international: DashScopeSimulator
) -> None:
    """The legacy models exist only in China mainland: an international key cannot use them."""
    entry = make_entry(international.base_url, key=INTERNATIONAL_KEY)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await start_profile_flow(hass, entry)
    result = await submit_profile(hass, result, {CONF_MODEL: "qwen-tts"})

    result = await submit_profile(hass, result, {CONF_VOICE: "Cherry"})

    assert result["errors"] == {"base": "model_access"}
    assert international.generation_requests[-1].error_code == "ModelNotFound"


async def test_profile_unknown_model(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A model typed by hand gets the default model's voices and is judged by the service."""
    result = await start_profile_flow(hass, entry)

    result = await submit_profile(hass, result, {CONF_MODEL: " qwen3-tts-flash-2099-01-01 "})

    assert result["step_id"] == "voice"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["model"] == "qwen3-tts-flash-2099-01-01"
    assert [o["value"] for o in select_options(result, CONF_VOICE)] == [
        v.id for v in MODELS["qwen3-tts-flash"].voices
    ]
    assert CONF_INSTRUCTIONS not in fields(result)
    assert suggested(result)[CONF_VOICE] == "Cherry"

    result = await submit_profile(hass, result, {CONF_VOICE: "my-cloned-voice"})

    # An unknown model: back to the model step, with the typed model still there.
    assert result["errors"] == {"base": "model_access"}
    assert result["step_id"] == "model"
    assert suggested(result)[CONF_MODEL] == "qwen3-tts-flash-2099-01-01"
    body = china.generation_requests[-1].body
    assert body is not None
    assert body["model"] == "qwen3-tts-flash-2099-01-01"


async def test_profile_entry_not_loaded(hass: HomeAssistant, china: DashScopeSimulator) -> None:
    """Profiles are checked with the entry's client: an entry not loaded cannot add one."""
    entry = make_entry(china.base_url)
    entry.add_to_hass(hass)

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VOICE_PROFILE), context={"source": SOURCE_USER}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"
    assert not china.requests


async def test_profile_entry_unloaded_mid_flow(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """An entry unloaded between the model and voice steps ends the flow cleanly."""
    result = await start_profile_flow(hass, entry)
    result = await submit_profile(hass, result, {CONF_MODEL: "qwen3-tts-flash"})
    assert await hass.config_entries.async_unload(entry.entry_id)
    reset(china)

    result = await submit_profile(hass, result, {CONF_VOICE: "Ethan"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"
    assert not china.requests


async def test_profile_reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """An existing profile is changed in place: new model and voice, new title."""
    result = await start_profile_reconfigure(hass, entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "model"
    assert suggested(result) == {CONF_MODEL: "qwen3-tts-flash"}

    result = await submit_profile(hass, result, {CONF_MODEL: "qwen-tts"})
    assert result["step_id"] == "voice"
    assert suggested(result) == {CONF_VOICE: "Cherry", CONF_SPEECH_RATE: 1.0}

    result = await submit_profile(hass, result, {CONF_VOICE: "Serena", CONF_SPEECH_RATE: 0.8})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    [profile] = entry.subentries.values()
    assert profile.subentry_id == PROFILE_ID
    assert profile.data == {CONF_MODEL: "qwen-tts", CONF_VOICE: "Serena", CONF_SPEECH_RATE: 0.8}
    assert profile.title == "Qwen Serena (qwen-tts)"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # The form's check spoke with the new model and voice; the reload asked nothing more.
    body = china.generation_requests[-1].body
    assert body is not None
    assert (body["model"], body["input"]["voice"]) == ("qwen-tts", "Serena")
    assert len(china.generation_requests) == 1


async def test_profile_names(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A name the user gives is the profile's title, kept when the voice changes; an empty one
    makes a title from the voice."""
    result = await start_profile_flow(hass, entry)
    result = await submit_profile(hass, result, {CONF_MODEL: "qwen3-tts-flash"})
    result = await submit_profile(
        hass, result, {CONF_VOICE: "Rocky", CONF_NAME: "  Cantonese announcements "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Cantonese announcements"
    assert CONF_NAME not in result["data"]
    await hass.async_block_till_done()
    named = next(s for s in entry.subentries.values() if s.title == "Cantonese announcements")

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VOICE_PROFILE),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": named.subentry_id},
    )
    result = await submit_profile(hass, result, {CONF_MODEL: "qwen3-tts-flash"})
    assert suggested(result)[CONF_NAME] == "Cantonese announcements"
    result = await submit_profile(
        hass, result, {CONF_VOICE: "Kiki", CONF_NAME: "Cantonese announcements"}
    )
    assert entry.subentries[named.subentry_id].title == "Cantonese announcements"
    await hass.async_block_till_done()
    assert hass.states.get("tts.cantonese_announcements") is not None


async def test_profile_reconfigure_voice_of_other_model(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """A voice the newly chosen model lacks is replaced by that model's first voice."""
    profile = {
        CONF_MODEL: "qwen3-tts-instruct-flash",
        CONF_VOICE: "Kiki",
        CONF_SPEECH_RATE: 1.5,
        CONF_INSTRUCTIONS: "cheerful",
    }
    entry = make_entry(china.base_url, profile=profile)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    result = await start_profile_reconfigure(hass, entry)
    assert suggested(result) == {CONF_MODEL: "qwen3-tts-instruct-flash"}
    same = await submit_profile(hass, result, {CONF_MODEL: "qwen3-tts-instruct-flash"})
    # Same model: everything is suggested as it was.
    assert suggested(same) == {
        CONF_VOICE: "Kiki",
        CONF_SPEECH_RATE: 1.5,
        CONF_INSTRUCTIONS: "cheerful",
    }
    hass.config_entries.subentries.async_abort(same["flow_id"])

    result = await start_profile_reconfigure(hass, entry)
    result = await submit_profile(hass, result, {CONF_MODEL: "qwen-tts-latest"})
    assert suggested(result) == {CONF_VOICE: "Cherry", CONF_SPEECH_RATE: 1.5}
    assert CONF_INSTRUCTIONS not in fields(result)

    result = await submit_profile(hass, result, {CONF_VOICE: "Jada", CONF_SPEECH_RATE: 1.5})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    # The instructions of the old model are dropped with it.
    assert entry.subentries[PROFILE_ID].data == {
        CONF_MODEL: "qwen-tts-latest",
        CONF_VOICE: "Jada",
        CONF_SPEECH_RATE: 1.5,
    }
    assert entry.subentries[PROFILE_ID].title == "Qwen Jada (qwen-tts-latest)"
