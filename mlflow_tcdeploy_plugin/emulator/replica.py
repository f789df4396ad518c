"""One replica of a MODEL-source service: loads an MLflow model and answers MLflow's scoring protocol.

Run by the emulator as ``python -m mlflow_tcdeploy_plugin.emulator.replica --model-uri URI --port N --pod NAME``.
``/invocations`` is MLflow's scoring route; ``/predict`` (the default of the 1.0.3 plugin) reaches the same handler.
"""

from __future__ import annotations

import argparse
import logging
import sys

logger = logging.getLogger("tcdeploy.replica")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tcdeploy-replica")
    parser.add_argument("--model-uri", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pod", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s")

    import mlflow.pyfunc
    import uvicorn
    from mlflow.pyfunc import scoring_server

    logger.info("pod %s: loading model %s", args.pod, args.model_uri)
    try:
        model = mlflow.pyfunc.load_model(args.model_uri)
    except Exception as exc:  # any load failure ends the replica with the reason as its last log line
        logger.error("pod %s: cannot load model %s: %s", args.pod, args.model_uri, exc)
        return 1
    app = scoring_server.init(model)
    invocations = next(r for r in app.routes if getattr(r, "path", None) == "/invocations")
    app.add_api_route("/predict", invocations.endpoint, methods=["POST"])
    logger.info("pod %s: model loaded, serving on port %d", args.pod, args.port)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
