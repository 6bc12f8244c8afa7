"""A real local HTTP server speaking the providers' wire formats (Graph API, Chatwoot,
Evolution API, WuzAPI), recording every request, for tests."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeProviderServer:
    """Answers like the providers do.

    - ``POST /<version>/<phone_number_id>/messages``: Graph API send (fixture response,
      a fresh ``wamid`` per request);
    - ``POST /api/v1/accounts/<a>/conversations/<c>/messages`` and ``.../toggle_status``:
      Chatwoot;
    - ``POST /message/sendText/<instance>``: Evolution API; ``POST /chat/send/text``: WuzAPI.

    ``failures`` is a list of ``(status, json body)`` answered, in order, before the
    normal answer; ``requests`` records every request.
    """

    failures: list[tuple[int, dict]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    # The business account's message templates (``GET /<version>/<waba>/message_templates``,
    # answered two per page with Graph API cursors).
    templates: list[dict] = field(default_factory=list)

    def __post_init__(self):
        owner = self
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                with owner._lock:
                    owner.requests.append(
                        Recorded("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, None)
                    )
                    failure = owner.failures.pop(0) if owner.failures else None
                if failure is not None:
                    self._answer(*failure)
                elif re.match(r"/v[\d.]+/oauth/access_token\?", self.path):
                    if "grant_type=fb_exchange_token" in self.path:
                        self._answer(200, {"access_token": "EAAG-long-lived", "token_type": "bearer",
                                           "expires_in": 5183944})
                    elif "code=good-code" in self.path:
                        self._answer(200, {"access_token": "EAAG-short", "token_type": "bearer"})
                    else:
                        self._answer(400, {"error": {"message": "Invalid verification code format.",
                                                     "type": "OAuthException", "code": 100}})
                elif re.match(r"/v[\d.]+/\d+/message_templates\?", self.path):
                    query = parse_qs(urlsplit(self.path).query)
                    start = int(query.get("after", ["0"])[0])
                    page = owner.templates[start:start + 2]
                    body = {"data": page, "paging": {"cursors": {"before": str(start), "after": str(start + 2)}}}
                    if start + 2 < len(owner.templates):
                        body["paging"]["next"] = f"https://graph.facebook.com{self.path}&after={start + 2}"
                    self._answer(200, body)
                elif re.match(r"/v[\d.]+/\d+\?", self.path):
                    self._answer(200, {"verified_name": "Loja Demo", "display_phone_number": "+55 11 4000-0000",
                                       "quality_rating": "GREEN", "id": self.path.split("/")[2].split("?")[0]})
                elif re.fullmatch(r"/api/v1/accounts/\d+/inboxes", self.path):
                    self._answer(200, {"payload": [{"id": 17, "name": "Example Store"}]})
                elif self.path.startswith("/instance/connectionState/"):
                    self._answer(200, {"instance": {"instanceName": self.path.rsplit("/", 1)[1], "state": "open"}})
                elif self.path == "/session/status":
                    self._answer(200, {"code": 200, "success": True, "data": {"Connected": True, "LoggedIn": True}})
                else:
                    self._answer(404, {"error": {"message": f"no route {self.path}", "code": 404}})

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw) if raw else None
                with owner._lock:
                    owner.requests.append(
                        Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    number = len(owner.requests)
                    failure = owner.failures.pop(0) if owner.failures else None
                if failure is not None:
                    self._answer(*failure)
                    return
                if re.fullmatch(r"/v[\d.]+/\d+/messages", self.path) and "recipient" in body:
                    # Messenger / Instagram Send API
                    self._answer(200, {"recipient_id": body["recipient"]["id"], "message_id": f"m_FAKE{number:04d}"})
                elif re.fullmatch(r"/v[\d.]+/\d+/messages", self.path):
                    response = fixture("whatsapp/send_text_response.json")
                    response["contacts"][0] = {"input": body["to"], "wa_id": body["to"].lstrip("+")}
                    response["messages"][0]["id"] = f"wamid.FAKE{number:04d}"
                    self._answer(200, response)
                elif re.fullmatch(r"/api/v1/accounts/\d+/conversations/\d+/messages", self.path):
                    self._answer(200, {"id": 90000 + number, "content": body["content"],
                                       "message_type": 1, "private": False})
                elif self.path.endswith("/toggle_status"):
                    conversation_id = int(self.path.split("/")[-2])
                    self._answer(200, {"meta": {}, "payload": {
                        "success": True, "current_status": body["status"], "conversation_id": conversation_id}})
                elif self.path.startswith("/message/sendText/"):
                    self._answer(201, {"key": {"remoteJid": f"{body['number']}@s.whatsapp.net",
                                               "fromMe": True, "id": f"EVO{number:04d}"},
                                       "status": "PENDING"})
                elif self.path == "/chat/send/text":
                    self._answer(200, {"code": 200, "success": True,
                                       "data": {"Details": "Sent", "Id": body.get("Id") or f"WUZ{number}"}})
                else:
                    self._answer(404, {"error": {"message": f"no route {self.path}", "code": 404}})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def posts_to(self, suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
