"""A base URL per provider (issue 22): ``--base-url a=URL,b=URL`` sends each task to its own
provider's mock, a provider not named to its own server, and a credential only where its
provider's URL was named."""

from __future__ import annotations

from typing import Any

import pytest

from rtk_task import Client
from rtk_task.errors import ConfigError
from rtk_task.manifests.model import Manifest
from rtk_task.request import resolve_base_url


def _task(provider: str, server: str = "https://api.example.com") -> Manifest:
    data: dict[str, Any] = {
        "manifest_version": 1,
        "id": f"{provider}.items.list",
        "provider": provider,
        "method": "GET",
        "path": "/items",
        "servers": [server],
        "idempotent": True,
        "auth": {"type": "api_key", "env": f"{provider.upper()}_API_KEY", "name": "X-Api-Key"},
    }
    return Manifest.model_validate(data)


def test_each_task_goes_to_its_providers_base_url(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALPHA_API_KEY", "alpha-key-0001")
    monkeypatch.setenv("BETA_API_KEY", "beta-key-0002")
    alpha, beta = serve(), serve()
    urls = f"alpha={alpha.url},beta={beta.url}"
    with Client(base_url=urls) as client:
        assert client.call(_task("alpha"), {}).ok
        assert client.call(_task("beta"), {}).ok
    assert [s.header("x-api-key") for s in alpha.seen] == [["alpha-key-0001"]]
    assert [s.header("x-api-key") for s in beta.seen] == [["beta-key-0002"]]


def test_a_provider_not_named_goes_to_its_own_server() -> None:
    assert resolve_base_url(_task("gamma"), "alpha=http://127.0.0.1:9") == "https://api.example.com"
    assert resolve_base_url(_task("alpha"), "alpha=http://127.0.0.1:9/") == "http://127.0.0.1:9"


@pytest.mark.parametrize("bad", ["alpha", "alpha=ftp://x", "=http://x", "a=http://x,junk"])
def test_a_malformed_mapping_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_base_url(_task("alpha"), bad)
    assert "PROVIDER=URL" in err.value.render()
