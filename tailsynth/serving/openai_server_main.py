"""Run ``OpenAICompatibleServer`` as a process: ``python -m tailsynth.serving.openai_server_main --port 8000``.

A CPU stand-in for ``vllm serve`` (same ``/health``, ``/v1/models``, chat and completions routes):
the launcher's process handling is tested by spawning this in place of vLLM.
"""

from __future__ import annotations

import argparse
import signal
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="HF model directory (default: the packaged SmolLM2)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--served-model-name", default="local")
    args = parser.parse_args(argv)

    from tailsynth.serving.openai_server import OpenAICompatibleServer

    server = OpenAICompatibleServer(args.model, host=args.host, port=args.port, model_name=args.served_model_name)

    def _terminate(signum, frame):  # SIGTERM → leave serve_forever through the normal exit path
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _terminate)
    print(f"serving {args.served_model_name!r} on {server.api_base}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        print("stopped", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
