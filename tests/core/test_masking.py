"""Secrets in every form stay masked: CR/LF-ended tokens, base64 (standard and URL-safe,
padded or not), cut text, JSON escapes (``\\u``, PHP's ``\\/``), HTML escapes, hex,
percent-encoding in either case, UTF-16, and the same on every CLI path (``test`` and
``run``). A secret under 8 characters is masked only as a whole value, never inside text."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from rtk_task import Client
from rtk_task.secrets import MASK, Redactor, read_env
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.records import write_record
from rtk_task.workflows.runner import run_workflow

from ..helpers import CANARY, run_cli

SECRET = "wf-secret-9f8e7d6c5b4a"
CREATE = "realtimekit.meetings.create"
INPUTS = {"account_id": "acc", "title": "t"}


def _answer(content: bytes, content_type: str, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, content=content, headers={"content-type": content_type})

    return httpx.MockTransport(handler)


def _call(content: bytes, content_type: str) -> str:
    """The result of a create answered with ``content``, as the JSON a user would see."""
    seen: list[httpx.Request] = []
    with Client(base_url="http://api.test", transport=_answer(content, content_type, seen)) as c:
        result = c.call(CREATE, dict(INPUTS), secrets=[SECRET])
    assert seen, "the call was not sent"
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False)


@pytest.mark.parametrize("ending", ["\r\n", "\r", "\n", "\r\n\r\n"])
def test_a_token_with_windows_line_ends_is_stripped_before_use(
    monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CANARY + ending)
    assert read_env("CLOUDFLARE_API_TOKEN") == CANARY
    seen: list[httpx.Request] = []
    body = json.dumps({"success": True, "result": {"id": "m1"}}).encode()
    transport = _answer(body, "application/json", seen)
    with Client(base_url="http://api.test", transport=transport) as client:
        result = client.call(CREATE, dict(INPUTS))
    assert result.ok, result.error
    assert seen[0].headers["authorization"] == f"Bearer {CANARY}"


def test_a_token_with_a_line_break_inside_is_a_config_error_and_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CANARY + "\r\nX-Injected: 1")
    seen: list[httpx.Request] = []
    with Client(base_url="http://api.test", transport=_answer(b"", "", seen)) as client:
        result = client.call(CREATE, dict(INPUTS))
    assert not seen, "a token with a control character was sent"
    assert result.error is not None
    assert result.error.kind == "config"
    assert not result.sent
    assert CANARY not in json.dumps(result.model_dump(mode="json"))


@pytest.mark.parametrize("user", ["", "u", "us", "use", "a-longer-user"])
def test_base64_of_user_and_secret_in_a_basic_header_is_masked(user: str) -> None:
    redactor = Redactor([SECRET])
    encoded = base64.b64encode(f"{user}:{SECRET}".encode()).decode()
    shown = redactor.text(f"Authorization: Basic {encoded}")
    assert encoded not in shown
    assert MASK in shown
    # what is left shown is the user's part and at most one group mixing in the secret
    left = shown.split()[-1].replace(MASK, "")
    assert len(left) <= len(base64.b64encode(f"{user}:".encode())) + 4, shown


def test_base64_of_the_secret_alone_and_in_the_middle_is_masked() -> None:
    redactor = Redactor([SECRET])
    alone = base64.b64encode(SECRET.encode()).decode()
    middle = base64.b64encode(f"x:{SECRET}:tail-of-it".encode()).decode()
    assert redactor.text(alone) == MASK
    shown = redactor.text(middle)
    assert MASK in shown
    assert SECRET.encode()[3:-3] not in base64.b64decode(
        shown.replace(MASK, "A" * 4)[: len(middle) // 4 * 4]
    )


def test_a_secret_in_a_base64_echo_is_masked_in_the_result() -> None:
    token = base64.b64encode(f"me:{SECRET}".encode()).decode()
    shown = _call(json.dumps({"echo": f"Basic {token}"}).encode(), "application/json")
    assert token not in shown


@pytest.mark.parametrize("at", [2040, 2044, 2046, 2047])
def test_a_secret_cut_at_the_display_limit_does_not_show_its_first_part(at: int) -> None:
    body = ("x" * at + SECRET + "y" * 100).encode()
    shown = _call(body, "application/octet-stream")
    assert SECRET[: min(8, 2048 - at)] not in shown or 2048 - at < 4
    assert SECRET not in shown


def test_a_cut_keeps_ordinary_text_and_masks_only_a_long_enough_prefix() -> None:
    redactor = Redactor([SECRET])
    assert redactor.cut("abc" * 10, 12) == "abcabcabcabc"
    assert redactor.cut("a" * 10 + SECRET[:8] + SECRET[8:], 18) == "a" * 10 + MASK
    # a text that ends (at the cut) with the start of a secret: 2 characters are too few to
    # matter and stay; 9 are masked
    assert redactor.cut("a" * 10 + SECRET[:2] + "zzz", 12) == "a" * 10 + SECRET[:2]
    assert redactor.cut("a" * 10 + SECRET[:9] + "zzz", 19) == "a" * 10 + MASK


def test_a_secret_cut_in_a_malformed_json_body_is_masked() -> None:
    body = ('{"a": "' + "x" * 2040 + SECRET + '", broken').encode()
    shown = _call(body, "application/json")
    assert SECRET[:8] not in shown


def test_a_secret_echoed_with_unicode_escapes_is_masked() -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in SECRET)
    body = ('{"success": true, "result": {"id": "m1", "echo": "' + escaped + '"}}').encode()
    shown = _call(body, "application/json")
    assert SECRET not in shown
    assert escaped not in shown


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_a_secret_echoed_in_utf16_json_is_masked(codec: str) -> None:
    body = json.dumps({"success": True, "result": {"id": "m1", "echo": SECRET}}).encode(codec)
    shown = _call(body, "application/json")
    assert SECRET not in shown


#: A template that names the secret's value in an error: by a computed key (refused by the
#: workflow check before anything renders) and as a value the input's enum refuses (quoted).
COMPUTED_KEY = 'title: "{{ secrets[secrets.store] }}"'
ENUM = 'title: t\n      ai_config: {transcription: {language: "{{ secrets.store }}"}}'
TEMPLATE_LEAK = """\
name: leaky
secrets:
  store: RTK_MASKING_SECRET
steps:
  - id: create
    task: realtimekit.meetings.create
    with:
      account_id: acc
      TEMPLATE
"""


@pytest.mark.parametrize(
    ("template", "secret"),
    [(COMPUTED_KEY, SECRET), (ENUM, SECRET), (ENUM, "s3c!")],
    ids=["computed-key", "enum", "enum-short-secret"],
)
@pytest.mark.parametrize("command", ["test", "run"])
def test_a_template_error_naming_a_secret_is_masked_by_test_and_run(
    tmp_path: Path, command: str, template: str, secret: str
) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(TEMPLATE_LEAK.replace("TEMPLATE", template))
    args = ["test", str(wf), "--step", "create"] if command == "test" else ["run", str(wf)]
    for extra in ([], ["--json"]):
        done = run_cli(
            *args,
            *extra,
            "--base-url",
            "http://127.0.0.1:9",
            cwd=tmp_path,
            env={"RTK_MASKING_SECRET": secret + "\r\n"},
        )
        shown = done.stdout + done.stderr
        assert done.returncode == 2, shown
        if template == ENUM:
            assert "Input should be" in shown, shown
            assert secret not in shown.replace("'en-US'", ""), f"{command} {extra}: {shown}"
        assert SECRET not in shown, f"{command} {extra} showed the secret"
    for record in tmp_path.glob(".rtk-task/runs/*.json"):
        assert secret not in record.read_text()


# -- every form a server writes a secret in ------------------------------------------------

#: A secret with every character HTML, JSON and URLs escape.
ODD = "k/y+z 'q\"&<a>=é€"


def _lower_hex(text: str) -> str:
    return re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), text)


def _shown(echo: str, secret: str = ODD) -> str:
    """What the result shows of an answer echoing ``echo`` (a JSON string, written as is)."""
    body = '{"success": true, "result": {"id": "m1", "echo": "' + echo + '"}}'
    seen: list[httpx.Request] = []
    transport = _answer(body.encode(), "application/json", seen)
    with Client(base_url="http://api.test", transport=transport) as client:
        result = client.call(CREATE, dict(INPUTS), secrets=[secret])
    assert result.ok, result.error
    return result.model_dump_json()


def test_a_secret_echoed_with_escaped_slashes_is_masked_in_the_result() -> None:
    # PHP's json_encode writes / as \/ (and non-ASCII as \u escapes)
    php = json.dumps(ODD)[1:-1].replace("/", "\\/")
    assert "\\/" in php
    shown = _shown("before " + php + " after")
    assert "before *** after" in shown
    for part in ("k/y", "k\\/y", "z 'q"):
        assert part not in shown
    assert Redactor([ODD]).text(php) == MASK
    upper = php.replace("\\u00e9", "\\u00E9").replace("\\u20ac", "\\u20AC")  # Jackson
    assert Redactor([ODD]).text(upper) == MASK


def test_a_secret_echoed_with_escaped_slashes_is_masked_in_the_run_record(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = "wf/secret/9f8e7d6c"
    echo = json.dumps({"success": True, "result": {"id": "m1", "echo": f"<{secret}>"}})
    php = echo.replace("/", "\\/").encode()
    monkeypatch.setenv("RTK_MASKING_SECRET", secret)
    wf = parse_workflow(TEMPLATE_LEAK.replace("TEMPLATE", 'title: "{{ secrets.store }}"'), "w")
    run = run_workflow(
        wf,
        {},
        base_url="http://127.0.0.1:1/v4",
        transport=_answer(php, "application/json", []),
    )
    path = write_record(
        "wf.yaml",
        wf.name,
        run.steps,
        ok=run.ok,
        inputs={},
        redactor=Redactor([secret]),
        root=tmp_path,
    )
    record = path.read_text()
    assert run.ok
    for part in (secret, secret.replace("/", "\\/"), "wf/secret", "wf\\/secret", "9f8e7d6c"):
        assert part not in record, part


@pytest.mark.parametrize(
    "escaped",
    [
        html.escape(ODD),
        html.escape(ODD, quote=False),
        html.escape(ODD).replace("&#x27;", "&#39;"),  # lodash, Rails, Spring
        html.escape(ODD).replace("&#x27;", "&#039;"),  # PHP
        html.escape(ODD).replace("&#x27;", "&#39;").replace("&quot;", "&#34;"),  # Go
        html.escape(ODD).replace("/", "&#x2F;"),  # OWASP
        html.escape(ODD).replace("&#x27;", "&#39;").replace("/", "&#47;"),
    ],
    ids=["html.escape", "no-quotes", "#39", "#039", "go", "owasp-x2F", "#47"],
)
def test_an_html_escaped_secret_is_masked(escaped: str) -> None:
    assert escaped != ODD
    redactor = Redactor([ODD])
    assert redactor.text(f"<p>{escaped}</p>") == f"<p>{MASK}</p>"
    assert redactor.contains(f"<p>{escaped}</p>".encode())
    assert escaped not in _shown(escaped.replace('"', '\\"'))


@pytest.mark.parametrize("case", ["lower", "upper"])
def test_a_hex_encoded_secret_is_masked(case: str) -> None:
    encoded = ODD.encode().hex()
    encoded = encoded.upper() if case == "upper" else encoded
    redactor = Redactor([ODD])
    assert redactor.text(f"digest={encoded};") == f"digest={MASK};"
    assert redactor.contains(encoded.encode())
    assert encoded not in _shown(encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        quote(ODD, safe=""),
        _lower_hex(quote(ODD, safe="")),
        quote_plus(ODD),
        _lower_hex(quote_plus(ODD)),
        quote(ODD),  # / kept, as in a path
        _lower_hex(quote(ODD)),
    ],
    ids=["quote", "quote-lower", "quote_plus", "quote_plus-lower", "path", "path-lower"],
)
def test_a_percent_encoded_secret_is_masked_in_upper_and_lower_case(encoded: str) -> None:
    assert "%2f" in encoded.lower() or "/" in encoded
    redactor = Redactor([ODD])
    assert redactor.text(f"https://x.test/cb?next={encoded}&a=1") == (
        f"https://x.test/cb?next={MASK}&a=1"
    )
    assert encoded not in _shown(encoded)


@pytest.mark.parametrize(
    "encode",
    [base64.b64encode, base64.urlsafe_b64encode],
    ids=["standard", "urlsafe"],
)
@pytest.mark.parametrize("padded", [True, False])
@pytest.mark.parametrize("user", ["", "u:", "us:", "use:"])
def test_a_base64_secret_is_masked_standard_or_urlsafe_padded_or_not(
    encode: Any, padded: bool, user: str
) -> None:
    secret = "\u00ff\u00fe?>>~~" + SECRET  # bytes whose base64 holds + and /, - and _
    encoded = encode(f"{user}{secret}".encode()).decode()
    encoded = encoded if padded else encoded.rstrip("=")
    shown = Redactor([secret]).text(f"token {encoded} end")
    assert MASK in shown
    left = shown.split()[1].replace(MASK, "")
    assert len(left) <= len(base64.b64encode(user.encode())) + 4, shown


def test_a_urlsafe_base64_echo_is_masked_in_the_result() -> None:
    encoded = base64.urlsafe_b64encode(ODD.encode()).decode().rstrip("=")
    assert encoded not in _shown(encoded)


def test_a_secret_echoed_as_a_number_is_masked() -> None:
    secret = "4111111111111111"
    redactor = Redactor([secret])
    assert redactor.value({"card": 4111111111111111, "n": 7, "ok": True}) == {
        "card": MASK,
        "n": 7,
        "ok": True,
    }
    assert Redactor(["1234"]).value([1234, 12345, "1234"]) == [MASK, 12345, MASK]


# -- short secrets: only whole values ------------------------------------------------------

SHORT = "pin7"


@pytest.mark.parametrize("secret", ["a", "ab", "x/y", "pin7", "é€", "sev7en!"])
def test_a_short_secret_is_masked_as_a_whole_value(secret: str) -> None:
    redactor = Redactor([secret])
    assert redactor.short() == (secret,)
    forms = [
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        html.escape(secret),
        quote(secret, safe=""),
        _lower_hex(quote(secret, safe="")),
        secret.encode().hex(),
        secret.encode().hex().upper(),
        base64.b64encode(secret.encode()).decode(),
        base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
    ]
    for form in forms:
        assert redactor.text(form) == MASK, form
        assert redactor.value({"k": form, "l": [form, {form: 1}]}) == {
            "k": MASK,
            "l": [MASK, {MASK: 1}],
        }, form
        assert redactor.headers([("X-Echo", form), ("X-Auth", f"Bearer {form}")]) == {
            "X-Echo": MASK,
            "X-Auth": f"Bearer {MASK}",
        }, form
        assert redactor.contains(form), form
        assert redactor.contains(form.encode()), form


@pytest.mark.parametrize("user", ["", "u", "user@example.com", "a:b"])
def test_a_short_secret_in_a_basic_header_value_is_masked(user: str) -> None:
    redactor = Redactor([SHORT])
    values = [f"{user}:{SHORT}", f"{SHORT}:"]
    for value in values:
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(value.encode()).decode()
            for shown in (encoded, encoded.rstrip("=")):
                assert redactor.headers([("X-Echo", f"Basic {shown}")]) == {
                    "X-Echo": f"Basic {MASK}"
                }
                assert redactor.value({"auth": f"basic {shown}"}) == {"auth": f"basic {MASK}"}
                assert redactor.contains(f'{{"auth": "Basic {shown}"}}'.encode())
    other = base64.b64encode(f"{user}:{SHORT}x".encode()).decode()
    assert redactor.text(f"Basic {other}") == f"Basic {other}"


def test_a_short_secret_is_masked_as_a_whole_json_string_or_query_value() -> None:
    redactor = Redactor([SHORT])
    assert redactor.text('{"pin": "pin7", "note": "pin7 is not whole"}') == (
        '{"pin": "***", "note": "pin7 is not whole"}'
    )
    assert redactor.text("https://x.test/a?pin=pin7&b=pin7x#f") == (
        "https://x.test/a?pin=***&b=pin7x#f"
    )
    assert redactor.text("pin=pin7") == "pin=***"
    assert redactor.text('Input should be "a" or "b" (got "pin7")') == (
        'Input should be "a" or "b" (got "***")'
    )


@pytest.mark.parametrize(
    "text",
    [
        "pin7 and more",
        "spin7",
        "pin77",
        "the pin7.",
        "Bearer pin7 extra",
        "x-pin7-y",
        "cGluNw== and more",
        "70696e37ff",
        "path/pin7/x",
    ],
)
def test_a_short_secret_inside_other_text_is_not_masked(text: str) -> None:
    redactor = Redactor([SHORT])
    assert redactor.text(text) == text
    assert redactor.value({"k": text, "l": [text]}) == {"k": text, "l": [text]}
    assert redactor.headers([("X-Echo", text)]) == {"X-Echo": text}
    assert redactor.cut(text * 300, 100) == (text * 300)[:100]


def test_the_empty_string_is_never_a_secret() -> None:
    redactor = Redactor(["", None])
    assert not redactor
    assert redactor.values == ()
    assert redactor.text("anything") == "anything"
    assert redactor.value({"": ""}) == {"": ""}
    assert not redactor.contains(b"anything")
    assert Redactor(["", SHORT]).values == (SHORT,)


def test_short_names_the_secrets_under_8_characters() -> None:
    redactor = Redactor(["1234567", "12345678", "a", None, ""]).extend(["é" * 7, "é" * 8])
    assert sorted(redactor.short()) == sorted(["1234567", "a", "é" * 7])
    assert len(redactor.values) == 5
    assert Redactor([SECRET]).short() == ()


def test_a_short_secret_echoed_whole_is_masked_in_the_result() -> None:
    for form in (SHORT, SHORT.encode().hex(), base64.b64encode(SHORT.encode()).decode()):
        shown = json.loads(_shown(form, SHORT))
        assert shown["body"]["result"]["echo"] == MASK
    long_text = json.loads(_shown(f"my {SHORT} text", SHORT))
    assert long_text["body"]["result"]["echo"] == f"my {SHORT} text"
