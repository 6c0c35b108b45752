"""The vLLM launcher's process handling, on CPU: real subprocesses stand in for ``vllm serve``."""

from __future__ import annotations

import json
import socket
import sys
import time

import pytest

from tailsynth.config import LMConfig
from tailsynth.serving import vllm_launcher as vl
from tailsynth.serving.vllm_launcher import ServeSpec, ServerStartError, VLLMServer, VLLMUnavailable


def standin(spec: ServeSpec, name: str, host: str, port: int) -> list[str]:
    """The OpenAI-compatible CPU server (same /health and /v1/models routes as vLLM)."""
    return [sys.executable, "-m", "tailsynth.serving.openai_server_main", "--host", host, "--port", str(port),
            "--served-model-name", name]


def script(code: str):
    return lambda spec, name, host, port: [sys.executable, "-c", code]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_missing_vllm_says_how_to_install(monkeypatch):
    monkeypatch.setattr(vl, "_vllm_importable", lambda: False)
    with pytest.raises(VLLMUnavailable, match=r"pip install -e '\.\[gpu\]'"):
        vl.launch_servers({"policy": ServeSpec("/models/policy")})


def test_no_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(vl, "_vllm_importable", lambda: True)
    monkeypatch.setattr(vl, "_cuda_available", lambda: False)
    with pytest.raises(VLLMUnavailable, match=r"no CUDA GPU is visible"):
        vl.launch_servers({"general": ServeSpec("/models/general")})


def test_vllm_command_line():
    spec = ServeSpec("/models/qwen", max_model_len=4096, gpu_memory_utilization=0.4, extra_args=["--dtype", "bfloat16"])
    cmd = vl.vllm_command(spec, "general", "127.0.0.1", 8123)
    assert cmd[:3] == ["vllm", "serve", "/models/qwen"]
    for flag, value in (("--host", "127.0.0.1"), ("--port", "8123"), ("--served-model-name", "general"),
                        ("--max-logprobs", "20"), ("--gpu-memory-utilization", "0.4"), ("--max-model-len", "4096")):
        assert cmd[cmd.index(flag) + 1] == value
    assert "--enable-prefix-caching" in cmd and cmd[-2:] == ["--dtype", "bfloat16"]


def test_bad_roles_and_duplicate_names():
    with pytest.raises(ValueError, match="unknown roles"):
        vl.launch_servers({"judge": ServeSpec("m")}, command_builder=standin)
    with pytest.raises(ValueError, match="must differ"):
        vl.launch_servers({"policy": ServeSpec("m", served_name="x"), "general": ServeSpec("m", served_name="x")},
                          command_builder=standin)


def test_launch_attach_write_and_stop(tmp_path):
    specs = {"policy": ServeSpec("unused"), "general": ServeSpec("unused", served_name="judge")}
    with vl.launch_servers(specs, command_builder=standin, log_dir=tmp_path, timeout=50,
                           run_config=tmp_path / "endpoints.json") as group:
        endpoints = group.endpoints
        assert endpoints["policy"].model == "hosted_vllm/policy"
        assert endpoints["general"].model == "hosted_vllm/judge"
        ports = [server.port for server in group.servers.values()]
        assert len(set(ports)) == 2 and all(port_open(p) for p in ports)
        for cfg in endpoints.values():
            assert cfg.api_base.startswith("http://127.0.0.1:") and cfg.api_base.endswith("/v1")
            assert vl.attach(cfg.api_base) == cfg
        assert vl.attach(endpoints["general"].api_base, name="judge") == endpoints["general"]
        with pytest.raises(ServerStartError, match="does not serve 'nope'"):
            vl.attach(endpoints["general"].api_base, name="nope", timeout=1)
        assert vl.read_endpoints(tmp_path / "endpoints.json") == endpoints
        group.write_run_config(tmp_path / "endpoints.toml")
        assert vl.read_endpoints(tmp_path / "endpoints.toml") == endpoints
        assert json.loads((tmp_path / "endpoints.json").read_text())["policy"]["api_base"] == endpoints["policy"].api_base
        processes = [server.process for server in group.servers.values()]
    # SIGTERM: the stand-in leaves serve_forever and exits 0, its port closes
    assert [p.returncode for p in processes] == [0, 0]
    assert "stopped" in (tmp_path / "policy.log").read_text()
    assert not any(port_open(p) for p in ports)
    with pytest.raises(ServerStartError, match="no OpenAI-compatible server answers"):
        vl.attach(endpoints["policy"].api_base, timeout=0.5)


def test_server_that_exits_reports_its_log(tmp_path):
    crash = script("import sys; print('CUDA out of memory while loading weights', flush=True); sys.exit(3)")
    with pytest.raises(ServerStartError, match=r"(?s)exited with code 3.*CUDA out of memory"):
        vl.launch_servers({"pda": ServeSpec("m")}, command_builder=crash, log_dir=tmp_path, timeout=20)


def test_timeout_stops_the_server_and_reports_its_log(tmp_path):
    server = VLLMServer("policy", ServeSpec("m"), command_builder=script(
        "import time; print('loading safetensors shards', flush=True); time.sleep(120)"), log_dir=tmp_path)
    server.start()
    started = time.monotonic()
    with pytest.raises(ServerStartError, match=r"(?s)not ready after 1.5 s.*loading safetensors shards"):
        server.wait_ready(timeout=1.5, poll=0.1)
    assert time.monotonic() - started < 15
    assert not server.running and server.process.returncode == -15  # SIGTERM


def test_stop_kills_a_server_that_ignores_sigterm(tmp_path):
    stubborn = script("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                      "print('up', flush=True); time.sleep(120)")
    server = VLLMServer("general", ServeSpec("m"), command_builder=stubborn, log_dir=tmp_path).start()
    deadline = time.monotonic() + 10
    while "up" not in (tmp_path / "general.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    assert server.stop(grace=0.5) == -9  # SIGKILL after the grace period
    assert 0.4 < time.monotonic() - started < 10
    assert server.stop() == -9  # idempotent


def test_endpoint_config_is_an_lmconfig():
    server = VLLMServer("pda", ServeSpec("m", port=8765))
    assert server.endpoint == LMConfig(model="hosted_vllm/pda", api_base="http://127.0.0.1:8765/v1")
    with pytest.raises(ValueError, match=".json or .toml"):
        vl.write_endpoints({"pda": server.endpoint}, "endpoints.yaml")
