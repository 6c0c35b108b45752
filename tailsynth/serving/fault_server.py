"""An OpenAI-compatible server on loopback that fails on purpose: the fault drills' endpoint.

Every way an LM endpoint lets a pipeline down in production, on demand and switchable while
it runs (``server.fault = "ok"`` is the endpoint coming back):

========== ====================================================================================
fault      what a request gets
========== ====================================================================================
ok         a normal answer from ``backend``
down       the connection is closed without a response (a crashed or restarting server)
500        HTTP 500 with an OpenAI error body
429        HTTP 429 (rate limited), ``Retry-After: 0``
garbage    HTTP 200 whose body is not JSON
no_logprobs a normal answer without ``logprobs`` (a server started without logprobs support)
no_label   an answer whose text and top-k first tokens hold no label ("Sure", "The", ...)
hang       nothing for ``hang_s`` seconds, then the connection closes (bounded, never forever)
flapping   every other request is a 500, the others are normal (retries must get through)
========== ====================================================================================

``backend`` answers the ``ok`` requests: anything with ``chat(body) -> dict`` and
``complete(body) -> dict`` (``OpenAICompatibleServer`` over the real SmolLM2 is one); the
default ``EchoBackend`` answers instantly and deterministically so drills cost no model time.
The server binds 127.0.0.1 only.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("ok", "down", "500", "429", "garbage", "no_logprobs", "no_label", "hang", "flapping")
_LABELS = ("yes", "no", "relevant", "partial", "irrelevant")
_NOT_LABELS = ("Sure", "The", "Okay", "Well", "Maybe", "As", "This", "Here")  # no prefix of a label


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


class EchoBackend:
    """Deterministic stand-in answers: rewrites are the query's words reordered; a label's
    logprob grows with the word overlap between the prompt's first and second field."""

    def chat(self, body: dict) -> dict:
        content = str(body["messages"][-1].get("content", ""))
        fields = [line.split(": ", 1)[1] for line in content.splitlines() if ": " in line]
        if body.get("logprobs"):
            overlap = len(_words(fields[0]) & _words(fields[-1])) / max(1, len(_words(fields[0]))) if fields else 0.0
            yes, no = min(-0.05, -1.5 + 3 * overlap), -1.0
            top = [("yes", yes), ("no", no), ("relevant", yes), ("partial", -3.0), ("irrelevant", no), ("The", -6.0)]
            return chat_response(top[0][0], sorted(top, key=lambda t: -t[1]))
        words = fields[0].split() if fields else ["item"]
        text = "\n".join(" ".join(words[i:] + words[:i] + ["set"]) for i in range(min(3, len(words))))
        if "Rewrite:" in content or "Product:" in content:  # a label judge asked to generate
            text = "yes" if "Product:" in content else "relevant"
        return chat_response(text, None, n=int(body.get("n") or 1))

    def complete(self, body: dict) -> dict:
        prompt = body["prompt"] if isinstance(body["prompt"], str) else body["prompt"][0]
        tokens = prompt.split(" ")
        offsets = list(itertools.accumulate([0] + [len(t) + 1 for t in tokens[:-1]]))
        return {"id": f"cmpl-{time.time_ns()}", "object": "text_completion", "model": "echo",
                "choices": [{"index": 0, "text": prompt, "finish_reason": "length",
                             "logprobs": {"tokens": tokens, "token_logprobs": [None] + [-1.0] * (len(tokens) - 1),
                                          "text_offset": offsets, "top_logprobs": None}}]}


def chat_response(text: str, top: list[tuple[str, float]] | None, n: int = 1) -> dict:
    """A ``chat.completion`` body; ``top``: the first token's top logprobs (None: no logprobs)."""
    logprobs = None
    if top is not None:
        first = {"token": top[0][0], "logprob": top[0][1]}
        logprobs = {"content": [{**first, "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]}]}
    return {"id": f"chatcmpl-{time.time_ns()}", "object": "chat.completion", "created": int(time.time()),
            "model": "fault-server",
            "choices": [{"index": i, "message": {"role": "assistant", "content": text}, "logprobs": logprobs,
                         "finish_reason": "stop"} for i in range(n)],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class _Handler(BaseHTTPRequestHandler):
    server: "FaultServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        return

    def _send(self, code: int, body: bytes, content_type: str = "application/json", headers: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802
        self._send(200, json.dumps({"object": "list", "data": [{"id": "fault-server", "object": "model"}]}).encode())

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        fault = self.server.next_fault()
        if fault == "down":
            return self._drop()
        if fault == "hang":
            self.server.stopped.wait(self.server.hang_s)
            return self._drop()
        if fault in ("500", "429"):
            error = {"error": {"message": f"injected {fault}", "type": "server_error", "code": int(fault)}}
            return self._send(int(fault), json.dumps(error).encode(), headers={"Retry-After": "0"})
        if fault == "garbage":
            return self._send(200, b"<html><body>502 Bad Gateway</body>\x00\xff", "text/html")
        chat = self.path.endswith("/chat/completions")
        if fault == "no_label" and chat:
            top = [(t, -0.5 - i) for i, t in enumerate(_NOT_LABELS)]
            return self._send(200, json.dumps(chat_response("Sure, here is my answer", top if body.get("logprobs") else None)).encode())
        answer = self.server.backend.chat(body) if chat else self.server.backend.complete(body)
        if fault == "no_logprobs":
            for choice in answer.get("choices", []):
                choice["logprobs"] = None
        self._send(200, json.dumps(answer).encode())


class FaultServer(ThreadingHTTPServer):
    """``with FaultServer(fault="500") as s: ... s.api_base``; ``s.fault = "ok"`` recovers."""

    daemon_threads = True

    def __init__(self, fault: str = "ok", backend: Any = None, hang_s: float = 30.0, port: int = 0):
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")
        super().__init__(("127.0.0.1", port), _Handler)
        self.fault, self.backend, self.hang_s = fault, backend or EchoBackend(), min(float(hang_s), 300.0)
        self.requests = 0
        self.stopped = threading.Event()
        self._count = threading.Lock()
        self._thread: threading.Thread | None = None

    def next_fault(self) -> str:
        with self._count:
            self.requests += 1
            n = self.requests
        if self.fault == "flapping":
            return "500" if n % 2 else "ok"
        return self.fault

    @property
    def api_base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> "FaultServer":
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()  # release hanging handlers
        self.shutdown()
        self.server_close()

    def __enter__(self) -> "FaultServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
