"""Every auth scheme, proved on the wire: a real server on 127.0.0.1 keeps each request it
gets, and each test reads there what the credential looked like, and where it went.

What is shown (a result's ``request``, a dry run, the cURL text) never holds a secret: the
cURL text reads each one from its variable. A credential goes only to its hosts or to a base
URL the caller named; OAuth2 client credentials fetch a token once, and once more on a 401.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import pytest
from pydantic import SecretStr, ValidationError

from rtk_task import AsyncClient, Client, TaskResult
from rtk_task.auth import Credential
from rtk_task.errors import ConfigError, ManifestError
from rtk_task.execute import preview
from rtk_task.manifests.model import Auth, Manifest, Param, Parameters
from rtk_task.request import build_request

from ..recorder import Recorder, Reply, Seen, reply
from .conftest import Serve

# -- the manifests and credentials ----------------------------------------------------------

SECRET = "sk-test-4f9a0c7e51"
USER = "acct-user-31d8"
#: What the environment holds under the same variable: it must never be sent.
ENV_CANARY = "env-canary-9b1f2e77"


def manifest(
    server: str,
    auth: Auth,
    *,
    method: str = "GET",
    idempotent: bool = True,
) -> Manifest:
    """A task ``GET /things?q=`` on ``server`` (a create with ``method="POST"``)."""
    body = (Param(name="title", type="string"),) if method == "POST" else ()
    return Manifest(
        id="test.things.call",
        method=method,
        path="/things",
        servers=(server,),
        auth=auth,
        idempotent=idempotent,
        success_status=(200, 201),
        parameters=Parameters(query=(Param(name="q", type="string"),), body=body),
    )


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


BASIC = Auth(type="basic", username_env="RTKTEST_USER", env="RTKTEST_PASSWORD")

#: Schemes that put the credential in one header: (auth, variables, header, value sent).
HEADER_SCHEMES = [
    pytest.param(
        Auth(type="bearer", env="RTKTEST_API_TOKEN"),
        {"RTKTEST_API_TOKEN": SECRET},
        "Authorization",
        f"Bearer {SECRET}",
        id="bearer",
    ),
    pytest.param(
        Auth(type="bearer", env="RTKTEST_API_TOKEN", header="X-Upstream-Auth"),
        {"RTKTEST_API_TOKEN": SECRET},
        "X-Upstream-Auth",
        f"Bearer {SECRET}",
        id="bearer-in-its-own-header",
    ),
    pytest.param(
        BASIC,
        {"RTKTEST_USER": USER, "RTKTEST_PASSWORD": SECRET},
        "Authorization",
        f"Basic {b64(f'{USER}:{SECRET}')}",
        id="basic",
    ),
    pytest.param(
        BASIC,
        {"RTKTEST_USER": USER},
        "Authorization",
        f"Basic {b64(f'{USER}:')}",
        id="basic-user-and-empty-password",
    ),
    pytest.param(
        Auth(type="basic", username_env="RTKTEST_API_KEY"),
        {"RTKTEST_API_KEY": SECRET},
        "Authorization",
        f"Basic {b64(f'{SECRET}:')}",
        id="basic-key-as-user-like-curl-u-key-colon",
    ),
    pytest.param(
        Auth(type="api_key", env="RTKTEST_API_KEY", name="X-Api-Key", location="header"),
        {"RTKTEST_API_KEY": SECRET},
        "X-Api-Key",
        SECRET,
        id="api-key-header",
    ),
    pytest.param(
        Auth(type="header", env="RTKTEST_API_TOKEN", template="Token {{ secret }}"),
        {"RTKTEST_API_TOKEN": SECRET},
        "Authorization",
        f"Token {SECRET}",
        id="header-template",
    ),
]

QUERY_KEY = Auth(type="api_key", env="RTKTEST_API_KEY", name="api_key", location="query")
COOKIE_KEY = Auth(type="api_key", env="RTKTEST_API_KEY", name="session_key", location="cookie")


def assert_nothing_shown(result: TaskResult, *secrets: str) -> None:
    dumped = result.model_dump_json()
    for secret in secrets:
        assert secret not in dumped, f"a secret ({secret[:6]}...) is in the result: {dumped}"


# -- each scheme on the wire ----------------------------------------------------------------


@pytest.mark.parametrize(("auth", "values", "header", "sent"), HEADER_SCHEMES)
def test_the_server_receives_the_credential_in_the_header_the_scheme_names(
    serve: Serve, auth: Auth, values: dict[str, str], header: str, sent: str
) -> None:
    server = serve()
    with Client(credentials=values) as client:
        result = client.call(manifest(server.url, auth), {"q": "x"})
    assert result.ok, result.error
    [seen] = server.seen
    assert seen.header(header) == [sent], f"{header} was {seen.header(header)}, not [{sent!r}]"
    assert seen.query == "q=x", f"the credential leaked into the query: {seen.query!r}"
    if header.lower() != "authorization":
        assert seen.header("Authorization") == [], "a second credential header was sent"
    assert_nothing_shown(result, *values.values())
    assert result.request is not None
    assert "***" in result.request.headers[header], result.request.headers


def test_an_api_key_in_the_query_is_one_more_query_parameter(serve: Serve) -> None:
    server = serve()
    with Client(credentials={"RTKTEST_API_KEY": SECRET}) as client:
        result = client.call(manifest(server.url, QUERY_KEY), {"q": "a b&c"})
    assert result.ok, result.error
    [seen] = server.seen
    assert parse_qsl(seen.query) == [("q", "a b&c"), ("api_key", SECRET)], seen.query
    assert seen.header("Authorization") == []
    assert_nothing_shown(result, SECRET)
    assert result.request is not None
    assert result.request.url.endswith("api_key=***"), result.request.url


def test_an_api_key_in_a_cookie_joins_the_users_own_cookie_header(serve: Serve) -> None:
    server = serve()
    with Client(credentials={"RTKTEST_API_KEY": SECRET}) as client:
        result = client.call(
            manifest(server.url, COOKIE_KEY), {"q": "x", "headers": {"Cookie": "theme=dark"}}
        )
        alone = client.call(manifest(server.url, COOKIE_KEY), {"q": "x"})
    assert result.ok, result.error
    assert alone.ok, alone.error
    merged, own = server.seen
    assert merged.header("Cookie") == [f"theme=dark; session_key={SECRET}"], merged.headers
    assert own.header("Cookie") == [f"session_key={SECRET}"], own.headers
    assert SECRET.encode() not in merged.query.encode() + merged.body
    assert_nothing_shown(result, SECRET)
    assert_nothing_shown(alone, SECRET)


# -- what is shown: the result, the dry run, the cURL text ----------------------------------

ALL_SCHEMES = [
    *HEADER_SCHEMES,
    pytest.param(QUERY_KEY, {"RTKTEST_API_KEY": SECRET}, "", "", id="api-key-query"),
    pytest.param(COOKIE_KEY, {"RTKTEST_API_KEY": SECRET}, "Cookie", "", id="api-key-cookie"),
]


@pytest.mark.parametrize(("auth", "values", "header", "sent"), ALL_SCHEMES)
def test_the_dry_run_and_its_curl_text_name_the_variables_never_the_values(
    monkeypatch: pytest.MonkeyPatch,
    auth: Auth,
    values: dict[str, str],
    header: str,
    sent: str,
) -> None:
    task = manifest("http://127.0.0.1:9", auth)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with Client(credentials=values) as client:
        dry = client.prepare(task, {"q": "x"})
    result, curl = preview(task, {"q": "x"})
    assert dry.ok, dry.error
    assert result.ok, result.error
    for shown in (dry, result):
        assert_nothing_shown(shown, *values.values())
        assert shown.request is not None
        assert "***" in json.dumps(shown.request.model_dump()), shown.request
    for name, value in values.items():
        assert value not in curl, f"the value of ${name} is in the cURL text:\n{curl}"
        assert f'"${name}"' in curl, f"the cURL text does not read ${name}:\n{curl}"


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")
@pytest.mark.parametrize(("auth", "values", "header", "sent"), ALL_SCHEMES)
def test_the_printed_curl_sends_the_same_credential_as_the_client(
    monkeypatch: pytest.MonkeyPatch,
    serve: Serve,
    auth: Auth,
    values: dict[str, str],
    header: str,
    sent: str,
) -> None:
    server = serve()
    task = manifest(server.url, auth)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    _, curl = preview(task, {"q": "x"})
    with Client(credentials=values) as client:
        assert client.call(task, {"q": "x"}).ok
    done = subprocess.run(
        ["bash", "-c", curl],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin", **values},
    )
    assert done.returncode == 0, done.stderr
    by_client, by_curl = server.seen
    assert by_curl.query == by_client.query, (by_client.query, by_curl.query)
    if header:
        assert by_curl.header(header) == by_client.header(header), (
            f"cURL sent {header}: {by_curl.header(header)}, the client {by_client.header(header)}"
        )


# -- where a credential may go --------------------------------------------------------------

BOUND = Auth(type="bearer", env="RTKTEST_API_TOKEN", hosts=("api.example.com",))


def test_a_manifest_whose_server_is_outside_its_credentials_hosts_fails_to_load() -> None:
    fields: dict[str, Any] = {
        "id": "test.things.call",
        "method": "GET",
        "path": "/things",
        "servers": ["https://api.example.com", "https://collector.example.net"],
        "idempotent": True,
        "auth": {"type": "bearer", "env": "RTKTEST_API_TOKEN", "hosts": ["api.example.com"]},
    }
    with pytest.raises(ValidationError, match=r"only to api\.example\.com") as built:
        Manifest(**fields)
    assert "collector.example.net" in str(built.value), str(built.value)
    with pytest.raises(ManifestError) as loaded:
        Manifest.from_json(json.dumps(fields), "things.json")
    text = loaded.value.render()
    assert "api.example.com" in text, text
    assert "collector.example.net is another host" in text, text
    assert loaded.value.kind == "manifest"


def test_a_credential_is_refused_for_a_server_outside_its_hosts_and_nothing_is_sent(
    serve: Serve,
) -> None:
    server = serve()
    # a manifest that skipped validation: the request builder still refuses the host
    task = manifest("https://api.example.com", BOUND).model_copy(update={"servers": (server.url,)})
    with Client(credentials={"RTKTEST_API_TOKEN": SECRET}) as client:
        result = client.call(task, {"q": "x"})
    assert not result.ok
    assert result.error is not None
    assert result.error.kind == "config", result.error
    assert "api.example.com" in result.error.message, result.error.message
    assert server.seen == [], "the credential was sent to a host outside its hosts"
    assert_nothing_shown(result, SECRET)
    credential = Credential(BOUND, secret=SecretStr(SECRET))
    with pytest.raises(ConfigError, match="nothing was sent"):
        build_request(
            manifest("https://api.example.com", BOUND),
            {"q": "x"},
            base_url=server.url,
            credential=credential,
        )
    assert server.seen == []


@pytest.mark.parametrize("where", ["client", "call"])
def test_a_base_url_the_caller_names_is_trusted(serve: Serve, where: str) -> None:
    server = serve()
    task = manifest("https://api.example.com", BOUND)
    with Client(
        base_url=server.url if where == "client" else None,
        credentials={"RTKTEST_API_TOKEN": SECRET},
    ) as client:
        result = client.call(task, {"q": "x"}, base_url=server.url if where == "call" else None)
    assert result.ok, result.error
    [seen] = server.seen
    assert seen.header("Authorization") == [f"Bearer {SECRET}"]


def test_the_client_reads_its_credentials_mapping_never_the_environment(
    monkeypatch: pytest.MonkeyPatch, serve: Serve
) -> None:
    monkeypatch.setenv("RTKTEST_API_TOKEN", ENV_CANARY)
    server = serve()
    task = manifest(server.url, Auth(type="bearer", env="RTKTEST_API_TOKEN"))
    with Client(credentials={"RTKTEST_API_TOKEN": SECRET}) as client:
        result = client.call(task, {"q": "x"})
    assert result.ok, result.error
    with Client(credentials={}) as client:
        missing = client.call(task, {"q": "x"})
    assert missing.error is not None
    assert missing.error.kind == "config", missing.error
    assert "RTKTEST_API_TOKEN" in missing.error.message
    [seen] = server.seen  # the second client had no credential: it sent nothing
    assert seen.header("Authorization") == [f"Bearer {SECRET}"]
    assert ENV_CANARY.encode() not in server.raw, "the environment's value was sent"


# -- OAuth2 client credentials --------------------------------------------------------------


@dataclass
class OAuth:
    """A token endpoint and an API, each a recording server, and the task between them."""

    tokens: Recorder
    api: Recorder
    client_id: str
    issued: list[str]

    @property
    def values(self) -> dict[str, str]:
        return {"RTKTEST_CLIENT_ID": self.client_id, "RTKTEST_CLIENT_SECRET": SECRET}

    def task(self, *, method: str = "GET", idempotent: bool = True) -> Manifest:
        auth = Auth(
            type="oauth2",
            username_env="RTKTEST_CLIENT_ID",
            env="RTKTEST_CLIENT_SECRET",
            token_url=f"{self.tokens.url}/oauth/token",
            scopes=("things:read", "things:write"),
        )
        return manifest(self.api.url, auth, method=method, idempotent=idempotent)

    def bearers(self) -> list[list[str]]:
        return [seen.header("Authorization") for seen in self.api.seen]


def refuse(token: str) -> Callable[[Seen], Reply]:
    """An API that answers 401 to ``Bearer token`` and 200 to any other."""

    def respond(seen: Seen) -> Reply:
        if seen.header("Authorization") == [f"Bearer {token}"]:
            return reply({"error": "invalid_token"}, 401)
        return reply({"ok": True}, 201 if seen.method == "POST" else 200)

    return respond


@pytest.fixture
def oauth(serve: Serve) -> OAuth:
    """An OAuth2 setup with a client id of its own (the token cache is the process's)."""
    issued: list[str] = []

    def token(seen: Seen) -> Reply:
        issued.append(f"access-{uuid.uuid4().hex}")
        return reply({"access_token": issued[-1], "token_type": "Bearer", "expires_in": 3600})

    return OAuth(serve(token), serve(), f"client-{uuid.uuid4().hex[:12]}", issued)


def assert_token_request(seen: Seen, client_id: str) -> None:
    assert (seen.method, seen.path) == ("POST", "/oauth/token"), (seen.method, seen.path)
    assert seen.header("Authorization") == [f"Basic {b64(f'{client_id}:{SECRET}')}"], (
        "the client did not authenticate with HTTP Basic"
    )
    assert seen.header("Content-Type") == ["application/x-www-form-urlencoded"]
    form = parse_qs(seen.body.decode("ascii"), strict_parsing=True)
    assert form == {"grant_type": ["client_credentials"], "scope": ["things:read things:write"]}, (
        f"the token request's form was {form}"
    )


def test_oauth2_fetches_one_token_and_reuses_it_for_every_call(oauth: OAuth) -> None:
    task = oauth.task()
    with Client(credentials=oauth.values) as client:
        results = [client.call(task, {"q": str(n)}) for n in range(3)]
    assert all(r.ok for r in results), [r.error for r in results]
    [token_request] = oauth.tokens.seen
    assert_token_request(token_request, oauth.client_id)
    [token] = oauth.issued
    assert oauth.bearers() == [[f"Bearer {token}"]] * 3
    for result in results:
        assert_nothing_shown(result, token, SECRET)
        assert result.request is not None
        assert result.request.headers["Authorization"] == "Bearer ***"


def test_oauth2_sends_the_client_in_the_form_when_the_auth_says_body(serve: Serve) -> None:
    tokens = serve(lambda _: reply({"access_token": "body-token-77aa", "expires_in": 60}))
    api = serve()
    client_id = f"client-{uuid.uuid4().hex[:12]}"
    auth = Auth(
        type="oauth2",
        username_env="RTKTEST_CLIENT_ID",
        env="RTKTEST_CLIENT_SECRET",
        token_url=f"{tokens.url}/oauth/token",
        token_auth="body",
    )
    values = {"RTKTEST_CLIENT_ID": client_id, "RTKTEST_CLIENT_SECRET": SECRET}
    with Client(credentials=values) as client:
        assert client.call(manifest(api.url, auth), {"q": "x"}).ok
    [seen] = tokens.seen
    assert seen.header("Authorization") == []
    assert parse_qs(seen.body.decode("ascii")) == {
        "grant_type": ["client_credentials"],
        "client_id": [client_id],
        "client_secret": [SECRET],
    }
    assert api.seen[0].header("Authorization") == ["Bearer body-token-77aa"]


def test_oauth2_fetches_a_new_token_after_one_401_and_resends_once(oauth: OAuth) -> None:
    with Client(credentials=oauth.values) as client:
        first = client.call(oauth.task(), {"q": "x"})
        assert first.ok, first.error
        oauth.api.respond = refuse(oauth.issued[0])  # the server now refuses the cached token
        result = client.call(oauth.task(), {"q": "x"})
    assert result.ok, result.error
    assert result.status_code == 200
    stale, fresh = oauth.issued
    assert len(oauth.tokens.seen) == 2, "the token was not fetched again after the 401"
    assert oauth.bearers() == [[f"Bearer {stale}"], [f"Bearer {stale}"], [f"Bearer {fresh}"]]
    assert_nothing_shown(result, stale, fresh, SECRET)


def test_oauth2_resends_a_create_refused_with_401_only_once(oauth: OAuth) -> None:
    oauth.api.respond = lambda _: reply({"error": "invalid_token"}, 401)
    with Client(credentials=oauth.values) as client:
        result = client.call(oauth.task(method="POST", idempotent=False), {"title": "T"})
    assert not result.ok
    assert result.error is not None
    assert (result.error.kind, result.error.status_code) == ("http", 401), result.error
    assert len(oauth.api.seen) == 2, f"the create was sent {len(oauth.api.seen)} times, not 2"
    assert len(oauth.tokens.seen) == 2
    assert [json.loads(s.body) for s in oauth.api.seen] == [{"title": "T"}] * 2
    assert_nothing_shown(result, *oauth.issued, SECRET)


def test_a_token_endpoint_that_refuses_is_a_config_error_and_the_api_gets_nothing(
    serve: Serve,
) -> None:
    tokens = serve(lambda _: reply({"error": "invalid_client"}, 400))
    api = serve()
    auth = Auth(
        type="oauth2",
        username_env="RTKTEST_CLIENT_ID",
        env="RTKTEST_CLIENT_SECRET",
        token_url=f"{tokens.url}/oauth/token",
    )
    values = {
        "RTKTEST_CLIENT_ID": f"client-{uuid.uuid4().hex[:12]}",
        "RTKTEST_CLIENT_SECRET": SECRET,
    }
    with Client(credentials=values) as client:
        result = client.call(manifest(api.url, auth), {"q": "x"})
    assert not result.ok
    assert result.error is not None
    assert result.error.kind == "config", result.error
    assert "400" in result.error.message, result.error.message
    assert len(tokens.seen) == 1
    assert api.seen == [], "the API got a request without a token"
    assert_nothing_shown(result, SECRET)


def test_a_token_url_outside_the_credentials_hosts_is_refused_and_nothing_is_sent(
    serve: Serve,
) -> None:
    tokens = serve()
    api = serve()
    # localhost reaches the same loopback server, but it is not a host of the credential
    port = tokens.url.rsplit(":", 1)[1]
    auth = Auth(
        type="oauth2",
        username_env="RTKTEST_CLIENT_ID",
        env="RTKTEST_CLIENT_SECRET",
        token_url=f"http://localhost:{port}/oauth/token",
        hosts=("127.0.0.1",),
    )
    values = {
        "RTKTEST_CLIENT_ID": f"client-{uuid.uuid4().hex[:12]}",
        "RTKTEST_CLIENT_SECRET": SECRET,
    }
    with Client(credentials=values) as client:
        result = client.call(manifest(api.url, auth), {"q": "x"})
    assert result.error is not None
    assert result.error.kind == "config", result.error
    assert "localhost" in result.error.message, result.error.message
    assert tokens.seen == [], "the client secret was sent to a host outside the credential's"
    assert api.seen == []


def test_the_oauth2_curl_text_holds_neither_the_token_nor_the_client_secret(
    monkeypatch: pytest.MonkeyPatch, oauth: OAuth
) -> None:
    for name, value in oauth.values.items():
        monkeypatch.setenv(name, value)
    task = oauth.task()
    with Client(credentials=oauth.values) as client:
        sent = client.call(task, {"q": "x"})
    result, curl = preview(task, {"q": "x"})
    assert sent.ok, sent.error
    [token] = oauth.issued
    for text in (curl, result.model_dump_json(), sent.model_dump_json()):
        assert token not in text, f"the access token is shown:\n{text}"
        assert SECRET not in text, f"the client secret is shown:\n{text}"
    assert "$OAUTH_TOKEN" in curl
    assert oauth.tokens.url in curl, "the cURL text does not say where the token comes from"


# -- the async client -----------------------------------------------------------------------


def test_async_oauth2_caches_its_token_and_fetches_again_after_a_401(oauth: OAuth) -> None:
    async def run() -> list[TaskResult]:
        async with AsyncClient(credentials=oauth.values) as client:
            results = [await client.call(oauth.task(), {"q": str(n)}) for n in range(2)]
            oauth.api.respond = refuse(oauth.issued[0])
            results.append(await client.call(oauth.task(), {"q": "2"}))
            return results

    results = asyncio.run(run())
    assert all(r.ok for r in results), [r.error for r in results]
    assert len(oauth.tokens.seen) == 2, "one token, then one more after the 401"
    for seen in oauth.tokens.seen:
        assert_token_request(seen, oauth.client_id)
    stale, fresh = oauth.issued
    assert oauth.bearers() == [[f"Bearer {stale}"]] * 3 + [[f"Bearer {fresh}"]]
    for result in results:
        assert_nothing_shown(result, stale, fresh, SECRET)


def test_async_api_key_in_the_query(serve: Serve) -> None:
    server = serve()

    async def run() -> TaskResult:
        async with AsyncClient(credentials={"RTKTEST_API_KEY": SECRET}) as client:
            return await client.call(manifest(server.url, QUERY_KEY), {"q": "a b&c"})

    result = asyncio.run(run())
    assert result.ok, result.error
    [seen] = server.seen
    assert parse_qsl(seen.query) == [("q", "a b&c"), ("api_key", SECRET)], seen.query
    assert_nothing_shown(result, SECRET)
