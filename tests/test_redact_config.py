"""The configuration's secrets are found by walking it, so a new sink cannot be forgotten."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr

from atalaia.config import AtalaiaConfig
from atalaia.redact import mask_known, mask_url_passwords, url_secrets
from atalaia.redact_config import config_secrets


def test_walk_finds_secret_str_url_passwords_and_secret_named_fields() -> None:
    config = AtalaiaConfig.model_validate(
        {
            "server": {"token": "api-token-1234"},
            "database": {"url": "postgresql://app:DbPass-1@db.local/atalaia"},
            "cameras": [
                {"id": "a", "source": "rtsp://admin:Cam%40Pw-1@10.0.0.2/s"},
                {"id": "b", "source": "http://cam.local/mjpeg?token=QueryTok-9"},
            ],
            "sinks": [
                {"type": "amqp", "url": "amqp://u:AmqpPw-1@mq/"},
                {"type": "findface", "base_url": "http://f", "token": "FfTok-1", "camera": "x"},
                {"type": "frigate", "username": "u", "password": "FrigPw-1"},
            ],
        }
    )
    found = config_secrets(config)
    for secret in (
        "api-token-1234",
        "DbPass-1",
        "Cam%40Pw-1",
        "Cam@Pw-1",  # as written and percent-decoded
        "QueryTok-9",
        "amqp://u:AmqpPw-1@mq/",
        "AmqpPw-1",
        "FfTok-1",
        "FrigPw-1",
    ):
        assert secret in found, secret
    # Names of form fields and routing keys are not secrets, whatever their keys say.
    assert "token" not in found and "{camera}.{label}.{type}" not in found
    assert found == sorted(found, key=lambda v: (-len(v), v))  # longest first


def test_plain_fields_named_like_secrets_count() -> None:
    class Plugin(BaseModel):
        api_key: str = "PlainKey-1"
        auth_token: str = "PlainTok-2"
        routing_key: str = "not.a.secret"
        nested: dict[str, SecretStr] = {"x": SecretStr("Nested-3")}

    found = config_secrets(Plugin())
    assert {"PlainKey-1", "PlainTok-2", "Nested-3"} <= set(found)
    assert "not.a.secret" not in found


def test_url_secrets_and_narrow_masking() -> None:
    assert url_secrets("rtsp://admin:p@ss@host/x") == ["p@ss"]
    assert url_secrets("rtsp://host/x") == []
    text = "Basic entrance at rtsp://admin:pw12@cam/x"
    assert mask_url_passwords(text) == "Basic entrance at rtsp://admin:***@cam/x"
    assert mask_known("a Secret-1 b", ["Secret-1", "abc"]) == "a *** b"
