"""Cloudflare and RealtimeKit: the envelopes, names and paths the generic code must not know.

- Errors: Cloudflare's ``errors: [{code, message}]`` and RealtimeKit's ``error: {code,
  message}`` (or a bare string) envelopes.
- Paging: RealtimeKit lists take ``page_no``/``per_page`` and answer ``data`` with
  ``paging.total_count``; the other common spellings are accepted too.
- Paths: every RealtimeKit operation answers on its live path
  ``/accounts/{account_id}/realtime/kit/{app_id}/...`` and on the legacy
  ``/accounts/{account_id}/realtimekit/...``; the live one is canonical.
- Task ids: ``realtimekit.<resource>[.<sub>].<verb>`` (:meth:`RealtimeKit.task_id` states the
  rule, :data:`NAMED` the operations whose method says less than they do).
- Rate limits (documented): RealtimeKit 250 requests per 10 s per account, recordings also
  1,000 per 60 s; the rest of the v4 API 1,200 per 5 minutes per user.
- Outputs come from the ``{success, data, paging}`` envelope (the rest of the v4 API:
  ``{success, result, result_info}``); :data:`LIST_SHAPES` corrects the lists whose published
  schema does not match what they answer.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from .base import PLACEHOLDER, Envelope, ListShape, Provider, literal_words
from .model import Auth, RateLimit

__all__ = [
    "CLOUDFLARE_AUTH",
    "LIST_SHAPES",
    "NAMED",
    "PAGE_PARAMS",
    "REPEATABLE",
    "SIZE_PARAMS",
    "CloudflareV4",
    "RealtimeKit",
    "api_errors",
    "cloudflare_v4",
    "realtimekit",
]

#: The Cloudflare API token: read from the variable the official SDK reads, sent only to
#: Cloudflare's API host (a base URL the caller names itself, like the emulator's, too).
CLOUDFLARE_AUTH = Auth(
    type="bearer",
    env="CLOUDFLARE_API_TOKEN",
    hosts=("api.cloudflare.com",),
    note="Cloudflare API token",
)

#: Query parameters that name a page number, first match wins.
PAGE_PARAMS = ("page_no", "page", "page_number")
#: Query parameters that name a page size, first match wins.
SIZE_PARAMS = ("per_page", "page_size", "limit")

_ACCOUNT = "/accounts/{account_id}"
_LEGACY = re.compile(r"^(/accounts/\{account_id\})/realtimekit(/.*)?$")
_LIVE = re.compile(r"^(/accounts/\{account_id\})/realtime/kit/\{app_id\}(/.*)?$")
#: The apps themselves live above any one app.
_APPS = re.compile(r"^/accounts/\{account_id\}/realtime/kit(/apps(/.*)?)$")

#: Operations whose method says less than they do, by ``(METHOD, path after the app prefix)``:
#: the id after ``realtimekit.``. Adding a participant and refreshing its token keep the ids
#: they shipped with; what the active session does to people is done to participants; starts
#: and stops are named so; ``/webhooks/all`` lists event names, not webhooks.
NAMED: dict[tuple[str, str], str] = {
    ("POST", "/meetings/{meeting_id}/participants"): "meetings.participants.add",
    (
        "POST",
        "/meetings/{meeting_id}/participants/{participant_id}/token",
    ): "meetings.participants.refresh_token",
    ("POST", "/meetings/{meeting_id}/active-session/kick"): "meetings.participants.kick",
    ("POST", "/meetings/{meeting_id}/active-session/kick-all"): "meetings.participants.kick_all",
    ("POST", "/meetings/{meeting_id}/active-session/mute"): "meetings.participants.mute",
    ("POST", "/meetings/{meeting_id}/active-session/mute-all"): "meetings.participants.mute_all",
    ("POST", "/meetings/{meeting_id}/active-session/poll"): "meetings.polls.create",
    ("POST", "/meetings/{meeting_id}/livestreams"): "meetings.livestreams.start",
    ("POST", "/meetings/{meeting_id}/active-livestream/stop"): "meetings.livestreams.stop",
    ("GET", "/meetings/{meeting_id}/livestream"): "meetings.livestreams.list",
    ("POST", "/recordings"): "recordings.start",
    ("POST", "/recordings/track"): "recordings.track.start",
    ("PUT", "/recordings/{recording_id}"): "recordings.pause_resume_stop",
    ("POST", "/sessions/{session_id}/summary"): "sessions.summary.generate",
    ("GET", "/webhooks/all"): "webhooks.events.list",
}

#: Verbs of POSTs that change state the same way however often they are sent (kicking,
#: muting or stopping twice leaves the same state), so they may be resent like a PUT.
REPEATABLE = frozenset({"kick", "kick_all", "mute", "mute_all", "stop"})

#: Lists whose published schema puts ``data`` as one object while they answer a list (the
#: examples of the same operations show it): where the items and the page counts really are.
LIST_SHAPES: dict[tuple[str, str], ListShape] = {
    ("GET", "/livestreams"): ListShape(items="data", paging="paging"),
    ("GET", "/sessions/{session_id}/livestream-sessions"): ListShape(
        items="data.data", paging="data.paging"
    ),
}

#: Resources whose record is not named by their last word.
_NOUNS = {
    "active_session": "session",
    "active_recording": "recording",
    "active_livestream": "livestream",
    "livestreams.sessions": "livestream_session",
    "active_livestream_session": "livestream_session",
    "livestream_sessions": "livestream_session",
    "peer_report": "peer",
}


class RealtimeKit(Provider):
    """Cloudflare RealtimeKit: live and legacy paths, ids, envelopes."""

    name = "realtimekit"
    auth = CLOUDFLARE_AUTH
    limit_key = "account_id"
    envelope = Envelope(data="data", paging="paging", total="total_count")
    echoed_ids = frozenset({"custom_participant_id"})
    page_params = PAGE_PARAMS
    size_params = SIZE_PARAMS
    namespace = "realtimekit"
    account_limit = RateLimit(requests=250, per=10)
    #: Narrower documented limits by resource, counted on top of the account's.
    resource_limits: ClassVar[dict[str, RateLimit]] = {
        "recordings": RateLimit(requests=1000, per=60)
    }

    def rate_limits(self, task_id: str) -> tuple[tuple[str, RateLimit], ...]:
        """The account's 250 / 10 s, and for recordings also 1,000 / 60 s."""
        narrower = self.resource_limits.get(self.resource(task_id))
        return (*super().rate_limits(task_id), *((("recordings", narrower),) if narrower else ()))

    def owns(self, path: str) -> bool:
        """Paths under ``/accounts/{account_id}/realtime/kit`` or ``.../realtimekit``."""
        return bool(_LIVE.match(path) or _LEGACY.match(path) or _APPS.match(path))

    def canonical_path(self, path: str) -> str:
        """The live path of a legacy one (other paths are returned as they are)."""
        m = _LEGACY.match(path)
        return f"{m.group(1)}/realtime/kit/{{app_id}}{m.group(2) or ''}" if m else path

    def legacy_path(self, path: str) -> str:
        """The legacy path of a live one (other paths are returned as they are)."""
        m = _LIVE.match(path)
        return f"{m.group(1)}/realtimekit{m.group(2) or ''}" if m else path

    def path_forms(self, path: str) -> tuple[str, ...]:
        """``path``, then its live and legacy forms where they differ from it."""
        return tuple(dict.fromkeys((path, self.canonical_path(path), self.legacy_path(path))))

    def relative(self, path: str) -> str:
        """The path after the app prefix (``/apps...`` for the apps themselves)."""
        m = _LIVE.match(self.canonical_path(path))
        if m:
            return m.group(2) or "/"
        apps = _APPS.match(path)
        return apps.group(1) if apps else path

    def task_id(self, method: str, path: str) -> str:
        """``realtimekit.<resource>[.<sub>].<verb>``.

        The resource words are the literal segments after the app prefix (placeholders
        dropped, ``-`` as ``_``). The verb: an action segment at the end (``kick``, ``mute``,
        ``stop``...) for a POST; else GET ``get`` on an item or a singular word (``summary``,
        ``transcript``, ``active-session``) and ``list`` on a plural one; POST ``create``, PUT
        ``replace``, PATCH ``update``, DELETE ``delete``. :data:`NAMED` wins over the rule.
        """
        rest = self.relative(path)
        if (method, rest) in NAMED:
            return f"{self.namespace}.{NAMED[(method, rest)]}"
        words = literal_words(rest)
        last = rest.rstrip("/").rsplit("/", 1)[-1]
        if method == "POST" and words and words[-1] in REPEATABLE:
            verb = words.pop()
        elif method == "GET":
            item = bool(PLACEHOLDER.fullmatch(last)) or not last.endswith("s")
            verb = "get" if item and words else "list"
        else:
            verb = super()._verb(method, rest)
        return ".".join([self.namespace, *(words or ["root"]), verb])

    def idempotent(self, method: str, task_id: str) -> bool:
        """GET, PUT, DELETE; and the POSTs that only stop, kick or mute."""
        verb = task_id.rsplit(".", 1)[-1]
        return super().idempotent(method, task_id) or (method == "POST" and verb in REPEATABLE)

    def resource(self, task_id: str) -> str:
        """The word after ``realtimekit.``: ``meetings`` for ``realtimekit.meetings.polls.create``
        (the ten resources of the API: apps, meetings, livestreams, presets...)."""
        return super().resource(task_id.removeprefix(f"{self.namespace}."))

    def record_noun(self, task_id: str) -> str:
        """``session`` for the active session, ``livestream_session`` for livestream sessions."""
        inner = task_id.removeprefix(f"{self.namespace}.").rsplit(".", 1)[0]
        for key in (inner, inner.rsplit(".", 1)[-1]):
            if key in _NOUNS:
                return _NOUNS[key]
        return super().record_noun(task_id)

    def list_shape(self, method: str, path: str) -> ListShape | None:
        """The corrected shape of a list from :data:`LIST_SHAPES`."""
        return LIST_SHAPES.get((method, self.relative(path)))


#: The one RealtimeKit provider.
realtimekit = RealtimeKit()


class CloudflareV4(Provider):
    """The rest of Cloudflare's v4 API: ids leave out the account scope every path starts with;
    a success answers ``{success, errors, messages, result, result_info}``."""

    name = "cloudflare"
    auth = CLOUDFLARE_AUTH
    limit_key = "account_id"
    envelope = Envelope(data="result", paging="result_info", total="total_count", cursor="cursor")
    account_limit = RateLimit(requests=1200, per=300)

    def owns(self, path: str) -> bool:
        """Paths under ``/accounts/{account_id}``."""
        return path.startswith(_ACCOUNT)

    def task_id(self, method: str, path: str) -> str:
        """The plain rule on the path after ``/accounts/{account_id}``."""
        return super().task_id(method, path.removeprefix(_ACCOUNT) or "/")


#: The provider of Cloudflare paths that are not RealtimeKit's.
cloudflare_v4 = CloudflareV4()


def api_errors(body: Any) -> list[dict[str, Any]]:
    """The error objects of a failure body, in either envelope (empty when it has none)."""
    found: list[dict[str, Any]] = []
    if isinstance(body, dict):
        if isinstance(body.get("errors"), list):
            found = [e for e in body["errors"] if isinstance(e, dict)]
        if isinstance(body.get("error"), dict):
            found.append(body["error"])
        elif isinstance(body.get("error"), str):
            found.append({"message": body["error"]})
    return found
