"""A small OpenAI-compatible HTTP server over a local transformers model.

vLLM is the production server; this one exists so the endpoint path (litellm → HTTP →
logprobs) runs for real on machines without a GPU, in tests and for users who want to share
one loaded CPU model between processes. It implements the subset tailsynth uses:
``/v1/chat/completions`` (sampling, ``n``, ``logprobs``/``top_logprobs`` of the first token)
and ``/v1/completions`` (``echo`` + ``logprobs`` for prompt perplexity).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import torch

from tailsynth.serving.hf_model import render_chat
from tailsynth.serving.local_scorer import LocalScorer
from tailsynth.serving.transformers_lm import TransformersLM


class _Handler(BaseHTTPRequestHandler):
    server: "OpenAICompatibleServer"

    def log_message(self, *args: Any) -> None:  # quiet
        return

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/") in ("/health", "/v1/models"):
            self._send(200, {"object": "list", "data": [{"id": self.server.model_name, "object": "model"}]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:  # noqa: N802
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path.endswith("/chat/completions"):
                self._send(200, self.server.chat(body))
            elif self.path.endswith("/completions"):
                self._send(200, self.server.complete(body))
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})
        except (ValueError, KeyError, TypeError) as exc:
            self._send(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})
        except Exception as exc:  # noqa: BLE001 - report, keep serving
            self._send(500, {"error": {"message": repr(exc), "type": "server_error"}})


class OpenAICompatibleServer(ThreadingHTTPServer):
    """``with OpenAICompatibleServer(model_dir) as s: s.api_base`` serves on a free loopback port."""

    daemon_threads = True

    def __init__(self, model: str | None = None, host: str = "127.0.0.1", port: int = 0, model_name: str = "local"):
        super().__init__((host, port), _Handler)
        self.model_name = model_name
        self.lm = TransformersLM(model)
        self.scorer = LocalScorer(model)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def api_base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> "OpenAICompatibleServer":
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> "OpenAICompatibleServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def chat(self, body: dict) -> dict:
        messages = body["messages"]
        if body.get("logprobs"):
            return self._chat_logprobs(messages, int(body.get("top_logprobs") or 1))
        response = self.lm.forward(
            messages=messages,
            n=int(body.get("n") or 1),
            temperature=float(body.get("temperature") or 0.0),
            max_tokens=int(body.get("max_tokens") or 96),
        )
        response["model"] = self.model_name
        return response

    def _chat_logprobs(self, messages: list[dict], top: int) -> dict:
        model, tok = self.scorer.hf
        ids = tok.encode(render_chat(tok, messages), add_special_tokens=False)
        with self._lock:
            logp = torch.log_softmax(self.scorer.next_token_logits([ids])[0].float(), -1)
        values, indices = logp.topk(max(1, min(top, 20)))
        tops = [{"token": tok.decode([int(i)]), "logprob": float(v)} for v, i in zip(values, indices)]
        return {
            "id": f"chatcmpl-{time.time_ns()}",
            "object": "chat.completion",
            "model": self.model_name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": tops[0]["token"]},
                    "logprobs": {"content": [{**tops[0], "top_logprobs": tops}]},
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": len(ids), "completion_tokens": 1, "total_tokens": len(ids) + 1},
        }

    @torch.no_grad()
    def complete(self, body: dict) -> dict:
        prompt = body["prompt"]
        prompts = prompt if isinstance(prompt, list) else [prompt]
        if not (body.get("echo") and body.get("logprobs") is not None):
            raise ValueError("this server's /v1/completions supports echo=true with logprobs (prompt scoring) only")
        model, tok = self.scorer.hf
        choices = []
        for index, text in enumerate(prompts):
            start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
            ids = tok.encode(text, add_special_tokens=False)
            input_ids = torch.tensor([[start] + ids], device=model.device)
            with self._lock:
                logp = torch.log_softmax(model(input_ids=input_ids).logits[0, :-1].float(), -1)
            token_logprobs = logp.gather(-1, input_ids[0, 1:, None]).squeeze(-1).tolist()
            tokens = [tok.decode([i]) for i in ids]
            offsets, pos = [], 0
            for t in tokens:
                offsets.append(pos)
                pos += len(t)
            choices.append(
                {
                    "index": index,
                    "text": text,
                    "logprobs": {"tokens": tokens, "token_logprobs": token_logprobs, "text_offset": offsets, "top_logprobs": None},
                    "finish_reason": "length",
                }
            )
        return {"id": f"cmpl-{time.time_ns()}", "object": "text_completion", "model": self.model_name, "choices": choices}
