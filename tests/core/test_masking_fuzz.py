"""Fuzzing (hypothesis) the masking: random secrets of 1-64 characters (printable ASCII and some
non-ASCII), each echoed in every encoding a server writes, leave no form of the secret shown.

A secret of 8 characters or more is echoed inside text too; a shorter one only as whole values
(a string in a structure, a header value, ``Bearer``/``Basic``). The end-to-end part sends a
random token and secret through the real client to a server on 127.0.0.1 that echoes both in
every encoding in its JSON answer and its headers: the serialized result shows neither.
"""

from __future__ import annotations

import base64
import html
import json
import re
import string
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rtk_task import Client
from rtk_task.manifests.model import Auth, Manifest, Param, Parameters
from rtk_task.secrets import MASK, Redactor

from ..recorder import Recorder, Reply, Seen, reply

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: One request per example, through loopback: bounded well under 200 requests.
WIRE = settings(FUZZ, max_examples=40)
NON_ASCII = "éßüñ€中文😀\u00a0\u2028"
SECRETS = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=32, max_codepoint=126), st.sampled_from(NON_ASCII)
    ),
    min_size=1,
    max_size=64,
)
#: A token as a header carries it: printable ASCII, no spaces.
TOKENS = st.text(
    alphabet=string.ascii_letters + string.digits + "-._~+/=!#$%&'*^`|\"\\:;,?@()[]{}<>",
    min_size=1,
    max_size=64,
)


def _lower_hex(text: str) -> str:
    return re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), text)


def encodings(secret: str) -> dict[str, str]:
    """``secret`` in every form a server may echo it in, by name."""
    data = secret.encode()
    b64 = base64.b64encode(data).decode()
    urlsafe = base64.urlsafe_b64encode(data).decode()
    escaped = html.escape(secret)
    return {
        "raw": secret,
        "json": json.dumps(secret, ensure_ascii=False)[1:-1],
        "json-ascii": json.dumps(secret)[1:-1],
        "json-php": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "json-slash": json.dumps(secret, ensure_ascii=False)[1:-1].replace("/", "\\/"),
        "html": escaped,
        "html-no-quotes": html.escape(secret, quote=False),
        "html-#39": escaped.replace("&#x27;", "&#39;"),
        "html-go": escaped.replace("&#x27;", "&#39;").replace("&quot;", "&#34;"),
        "html-php": escaped.replace("&#x27;", "&#039;"),
        "html-owasp": escaped.replace("/", "&#x2F;"),
        "html-#47": escaped.replace("&#x27;", "&#39;").replace("/", "&#47;"),
        "hex": data.hex(),
        "HEX": data.hex().upper(),
        "quote": quote(secret, safe=""),
        "quote-lower": _lower_hex(quote(secret, safe="")),
        "quote-path": quote(secret),
        "quote-path-lower": _lower_hex(quote(secret)),
        "quote_plus": quote_plus(secret),
        "quote_plus-lower": _lower_hex(quote_plus(secret)),
        "base64": b64,
        "base64-unpadded": b64.rstrip("="),
        "base64-urlsafe": urlsafe,
        "base64-urlsafe-unpadded": urlsafe.rstrip("="),
    }


def auth_values(secret: str) -> list[str]:
    """Header values carrying ``secret``: ``Bearer``, ``Basic`` of ``user:secret`` and of
    ``secret:``."""
    user = base64.b64encode(f"me:{secret}".encode()).decode()
    alone = base64.b64encode(f"{secret}:".encode()).decode()
    return [f"Bearer {secret}", f"Basic {user}", f"basic {alone}", f"Basic {user.rstrip('=')}"]


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys too."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v)


def assert_hidden(secret: str, shown: Any, names: Iterable[str] = ("X-Echo",)) -> None:
    """No form of ``secret`` in ``shown``: inside any string for a long secret, as a whole
    string (alone or as a credential) for a short one. ``names``: strings shown as they are,
    never masked, that echo nothing (header names: a random secret may be part of one)."""
    forms = set(encodings(secret).values())
    whole = forms | set(auth_values(secret)) | {f"Bearer {f}" for f in forms}
    for text in strings(shown):
        if text in names:
            continue
        if len(secret) >= 8:
            found = [f for f in forms if f in text]
            assert not found, f"{secret!r} shows in {text!r} as {found}"
        assert text not in whole, f"{secret!r} shows whole: {text!r}"


def echoes(secret: str) -> dict[str, Any]:
    """A structure echoing ``secret`` in every form: whole values, and (a long secret) inside
    text."""
    forms = encodings(secret)
    out: dict[str, Any] = {
        "whole": forms,
        "list": [*forms.values(), *auth_values(secret)],
        "keys": dict.fromkeys(forms.values(), 1),
    }
    if len(secret) >= 8:
        out["text"] = {name: f"before {form} after" for name, form in forms.items()}
        out["joined"] = " ".join(forms.values())
    return out


@FUZZ
@given(SECRETS)
def test_no_form_of_a_secret_survives_text_value_and_headers(secret: str) -> None:
    assume(secret != MASK)
    redactor = Redactor([secret])
    assert redactor.short() == ((secret,) if len(secret) < 8 else ())
    echoed = echoes(secret)
    assert_hidden(secret, redactor.value(echoed))
    # a whole value as the text itself, in headers, and as JSON text
    for form in [*encodings(secret).values(), *auth_values(secret)]:
        assert redactor.contains(form)
        assert redactor.contains(form.encode())
        assert_hidden(secret, redactor.text(form))
        assert_hidden(secret, redactor.headers([("X-Echo", form)]))
    dumped = json.dumps(echoed)
    assert redactor.contains(dumped.encode())
    if len(secret) >= 8:
        for text in [*echoed["text"].values(), echoed["joined"], dumped]:
            assert_hidden(secret, redactor.text(text))
            assert_hidden(secret, redactor.headers([("X-Echo", text)]))
            assert_hidden(secret, redactor.cut(text, 40))


@FUZZ
@given(SECRETS.filter(lambda s: len(s) < 8))
def test_a_short_secret_inside_other_text_is_left_alone(secret: str) -> None:
    redactor = Redactor([secret])
    for text in (f"pre[{secret}]post", f"{secret} and more text", f"some text ({secret})"):
        assert redactor.text(text) == text
        assert redactor.value([text]) == [text]
        assert redactor.headers([("X-Echo", text)]) == {"X-Echo": text}


def _echo_server(seen: Seen) -> Reply:
    """Echoes the call's secret (the query's ``q``: the recorder answers from the request's
    head) and the token (from the Authorization header) in every encoding: in its JSON answer,
    and (as ASCII text) in its headers."""
    secret = seen.params["q"]
    token = seen.header("authorization")[0].removeprefix("Bearer ")
    data = {"id": "m1", "secret": echoes(secret), "token": echoes(token)}
    headers = {}
    for who, value in (("Secret", secret), ("Token", token)):
        for name, form in encodings(value).items():
            if form.isascii() and form.isprintable() and form == form.strip():
                headers[f"X-{who}-{name}"] = form
        if value.isascii() and value.isprintable() and value == value.strip():
            headers[f"X-{who}-Auth"] = f"Bearer {value}"
    return reply({"success": True, "result": data}, 201, headers)


def test_a_server_echoing_a_token_and_secret_in_every_encoding_shows_neither() -> None:
    with Recorder(_echo_server) as server:  # one server for every example

        @WIRE
        @given(secret=SECRETS, token=TOKENS)
        def call(secret: str, token: str) -> None:
            assume(MASK not in (secret, token))
            task = Manifest(
                id="test.masking.echo",
                method="POST",
                path="/echo",
                servers=(server.url,),
                auth=Auth(type="bearer", env="RTKFUZZ_TOKEN"),
                idempotent=False,
                success_status=(201,),
                parameters=Parameters(
                    query=(Param(name="q", type="string"),),
                    body=(Param(name="title", type="string"),),
                ),
            )
            sent = len(server.seen)
            with Client(credentials={"RTKFUZZ_TOKEN": token}) as client:
                result = client.call(task, {"q": secret, "title": secret}, secrets=[secret])
            seen = server.seen[sent:]
            assert len(seen) == 1
            assert json.loads(seen[0].body) == {"title": secret}
            assert result.ok, result.error
            assert result.status_code == 201
            shown = json.loads(result.model_dump_json())
            assert shown["request"]["headers"]["Authorization"] == f"Bearer {MASK}"
            # never masked, and none echoes: the task, the method and the headers' names
            names = {shown["task"], shown["request"]["method"]}
            names |= {*shown["headers"], *shown["request"]["headers"], *_keys(shown)}
            assert_hidden(secret, shown, names)
            assert_hidden(token, shown, names)

        call()
        assert len(server.seen) <= 200


def _keys(value: Any) -> set[str]:
    """Every key of a JSON structure (field names: a secret equal to one shows as the name)."""
    if isinstance(value, dict):
        return {str(k) for k in value} | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()
