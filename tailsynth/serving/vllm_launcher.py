"""Start, health-check and stop local ``vllm serve`` processes, one per LM role.

Roles: ``policy`` (the rewriter, ``SynthesisConfig.rewriter``), ``general`` (the general LLM,
``SynthesisConfig.general``), ``pda`` (the product-domain LM of the RL reward). Each server gets a
free loopback port, prefix caching (the 200 candidates of a query share their prompt prefix) and
``--max-logprobs 20`` (the scorers read ``top_logprobs``)::

    with launch_servers({"policy": ServeSpec("/models/rewriter"), "general": ServeSpec("/models/qwen-7b")}) as group:
        group.write_run_config("endpoints.toml")
        cfg = SynthesisConfig(rewriter=group.endpoints["policy"], general=group.endpoints["general"])

``attach(api_base)`` checks a server someone else started. The command is injectable
(``command_builder``) so the process handling is tested on CPU against
``tailsynth.serving.openai_server_main``, which serves the same routes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tailsynth.config import LMConfig

ROLES = ("policy", "general", "pda")
GPU_EXTRA_HINT = "install the gpu extra: pip install -e '.[gpu]'"


class VLLMUnavailable(RuntimeError):
    """vllm is not installed, or no CUDA GPU is visible."""


class ServerStartError(RuntimeError):
    """A server exited or did not become ready in time; the message ends with its log's tail."""


@dataclass
class ServeSpec:
    """One server: ``model`` is a local model directory (or a name vLLM can resolve offline)."""

    model: str
    served_name: str | None = None  # default: the role
    port: int | None = None  # default: a free port
    max_logprobs: int = 20
    gpu_memory_utilization: float | None = None  # default: 0.85 split evenly across the servers
    max_model_len: int | None = None
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # e.g. {"CUDA_VISIBLE_DEVICES": "1"}


CommandBuilder = Callable[[ServeSpec, str, str, int], list[str]]
"""(spec, served name, host, port) -> argv."""


def vllm_command(spec: ServeSpec, name: str, host: str, port: int) -> list[str]:
    """The ``vllm serve`` argv for one role."""
    cmd = ["vllm", "serve", spec.model, "--host", host, "--port", str(port), "--enable-prefix-caching",
           "--served-model-name", name, "--max-logprobs", str(spec.max_logprobs)]
    if spec.gpu_memory_utilization is not None:
        cmd += ["--gpu-memory-utilization", f"{spec.gpu_memory_utilization:g}"]
    if spec.max_model_len is not None:
        cmd += ["--max-model-len", str(spec.max_model_len)]
    return cmd + list(spec.extra_args)


def _vllm_importable() -> bool:
    return importlib.util.find_spec("vllm") is not None


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def check_gpu_stack() -> None:
    """Raise ``VLLMUnavailable`` with what to do, before any process is started."""
    if not _vllm_importable():
        raise VLLMUnavailable(f"vllm is not importable; {GPU_EXTRA_HINT}")
    if not _cuda_available():
        raise VLLMUnavailable(
            "no CUDA GPU is visible (torch.cuda.is_available() is False): vLLM needs one. Check nvidia-smi and "
            "CUDA_VISIBLE_DEVICES, or use the in-process backend (LMConfig without api_base) on CPU"
        )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _get_json(url: str, timeout: float) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback / user-given URL
        body = resp.read()
        try:
            return resp.status, json.loads(body) if body else None
        except ValueError:
            return resp.status, None


def _server_root(api_base: str) -> str:
    base = api_base.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def served_models(api_base: str, timeout: float = 2.0) -> list[str]:
    """Model ids of a live OpenAI-compatible server; raises ``OSError`` / ``ValueError`` if it is not one."""
    status, health = _get_json(_server_root(api_base) + "/health", timeout)
    if status != 200:
        raise ValueError(f"/health answered {status}")
    status, models = _get_json(api_base.rstrip("/") + "/models", timeout)
    if status != 200 or not isinstance(models, dict) or not isinstance(models.get("data"), list):
        raise ValueError(f"/v1/models answered {status} without a model list: {str(models)[:200]}")
    return [m["id"] for m in models["data"] if isinstance(m, dict) and "id" in m]


def attach(api_base: str, name: str | None = None, timeout: float = 10.0) -> LMConfig:
    """Verify an already-running server and return its ``LMConfig``; ``name`` picks one served model."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            ids = served_models(api_base)
            break
        except (OSError, ValueError) as exc:
            last = exc
            if time.monotonic() >= deadline:
                raise ServerStartError(f"no OpenAI-compatible server answers at {api_base} (/health, /v1/models): {last}") from exc
            time.sleep(0.25)
    if not ids:
        raise ServerStartError(f"{api_base} serves no models")
    if name is None:
        name = ids[0]
    elif name not in ids:
        raise ServerStartError(f"{api_base} does not serve {name!r}; it serves {ids}")
    return LMConfig(model=f"hosted_vllm/{name}", api_base=api_base.rstrip("/"))


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


class VLLMServer:
    """One server process. ``start()`` returns at once; ``wait_ready()`` polls ``/health`` and ``/v1/models``."""

    def __init__(self, role: str, spec: ServeSpec, host: str = "127.0.0.1", command_builder: CommandBuilder = vllm_command,
                 log_dir: str | Path | None = None):
        self.role, self.spec, self.host = role, spec, host
        self.name = spec.served_name or role
        self.command_builder = command_builder
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="tailsynth-serve-"))
        self.log_path = self.log_dir / f"{role}.log"
        self.port: int | None = spec.port
        self.process: subprocess.Popen | None = None
        self.command: list[str] = []

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def endpoint(self) -> LMConfig:
        return LMConfig(model=f"hosted_vllm/{self.name}", api_base=self.api_base)

    def start(self) -> "VLLMServer":
        if self.process is not None:
            raise RuntimeError(f"{self.role} server already started")
        self.port = self.port or free_port(self.host)
        self.command = self.command_builder(self.spec, self.name, self.host, self.port)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            # Own process group: vLLM forks engine workers, and stop() signals them all.
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env={**os.environ, **self.spec.env}, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 600.0, poll: float = 0.5) -> LMConfig:
        """Block until the server answers with our model; on exit or timeout, stop it and raise with the log tail."""
        if self.process is None:
            raise RuntimeError("start() first")
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            code = self.process.poll()
            if code is not None:
                raise ServerStartError(
                    f"{self.role} server exited with code {code} before it was ready\n  command: {' '.join(self.command)}\n"
                    f"  log {self.log_path}, last lines:\n{log_tail(self.log_path)}"
                )
            try:
                ids = served_models(self.api_base, timeout=min(2.0, poll * 4))
                if self.name in ids:
                    return self.endpoint
                last = f"/v1/models lists {ids}, not {self.name!r}"
            except (OSError, ValueError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                self.stop()
                raise ServerStartError(
                    f"{self.role} server not ready after {timeout:g} s at {self.api_base} ({last})\n"
                    f"  command: {' '.join(self.command)}\n  log {self.log_path}, last lines:\n{log_tail(self.log_path)}"
                )
            time.sleep(poll)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM the server's process group, SIGKILL after ``grace`` seconds; returns the exit code."""
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                proc.wait()
        else:
            self._signal_group(signal.SIGKILL)  # workers it may have left behind
        return proc.returncode

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)  # the group start() created; its id is our child's pid
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> "VLLMServer":
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class ServerGroup:
    """The servers of one run; a context manager that stops them all."""

    def __init__(self, servers: dict[str, VLLMServer]):
        self.servers = servers

    @property
    def endpoints(self) -> dict[str, LMConfig]:
        return {role: server.endpoint for role, server in self.servers.items()}

    def write_run_config(self, path: str | Path) -> Path:
        return write_endpoints(self.endpoints, path)

    def stop(self, grace: float = 15.0) -> None:
        for server in self.servers.values():
            server.stop(grace)

    def __enter__(self) -> "ServerGroup":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def launch_servers(models: dict[str, ServeSpec], *, host: str = "127.0.0.1", timeout: float = 900.0,
                   command_builder: CommandBuilder = vllm_command, log_dir: str | Path | None = None,
                   run_config: str | Path | None = None, require_gpu: bool | None = None) -> ServerGroup:
    """Start every server at once (they load in parallel), wait for all, return the running group.

    ``require_gpu`` (default: when the command is ``vllm serve``) checks vllm and CUDA first. If any
    server fails, all are stopped and ``ServerStartError`` names it with its log's tail."""
    unknown = set(models) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; roles are {ROLES}")
    if not models:
        raise ValueError("no models to serve")
    if require_gpu if require_gpu is not None else command_builder is vllm_command:
        check_gpu_stack()
    names = [spec.served_name or role for role, spec in models.items()]
    if len(set(names)) != len(names):
        raise ValueError(f"served model names must differ: {names}")
    share = round(0.85 / len(models), 2)
    log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="tailsynth-serve-"))
    servers = {}
    for role, spec in models.items():
        if spec.gpu_memory_utilization is None and command_builder is vllm_command:
            spec = ServeSpec(**{**asdict(spec), "gpu_memory_utilization": share})
        servers[role] = VLLMServer(role, spec, host, command_builder, log_dir)
    group = ServerGroup(servers)
    try:
        for server in servers.values():
            server.start()
        deadline = time.monotonic() + timeout
        for server in servers.values():
            server.wait_ready(timeout=max(1.0, deadline - time.monotonic()))
    except BaseException:
        group.stop(grace=5.0)
        raise
    if run_config is not None:
        group.write_run_config(run_config)
    return group


def _toml_value(value: Any) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def write_endpoints(endpoints: dict[str, LMConfig], path: str | Path) -> Path:
    """``{role: LMConfig}`` to ``.json`` or ``.toml`` (one table per role)."""
    path = Path(path)
    data = {role: {k: v for k, v in asdict(cfg).items() if v is not None} for role, cfg in endpoints.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".toml":
        lines = []
        for role, fields_ in data.items():
            lines.append(f"[{role}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in fields_.items()]
            lines.append("")
        path.write_text("\n".join(lines))
    elif path.suffix == ".json":
        path.write_text(json.dumps(data, indent=2) + "\n")
    else:
        raise ValueError(f"run config must end in .json or .toml, not {path.name!r}")
    return path


def read_endpoints(path: str | Path) -> dict[str, LMConfig]:
    path = Path(path)
    if path.suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        data = tomllib.loads(path.read_text())
    else:
        data = json.loads(path.read_text())
    return {role: LMConfig(**fields_) for role, fields_ in data.items()}


__all__ = [
    "ROLES", "ServeSpec", "VLLMServer", "ServerGroup", "VLLMUnavailable", "ServerStartError", "launch_servers",
    "attach", "check_gpu_stack", "vllm_command", "write_endpoints", "read_endpoints", "served_models",
]
