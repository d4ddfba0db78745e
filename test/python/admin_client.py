#!/usr/bin/env python3
"""Drive llmux's RPC API over gRPC (HTTP/2 cleartext) with a client generated from proto/.

This is what a team using Python does: generate stubs with
``python3 -m grpc_tools.protoc -I proto --python_out=OUT --grpc_python_out=OUT proto/llmux/**/*.proto``
and call the admin port. test/integration/python-client.test.ts generates the stubs into a temporary
directory, starts llmux and runs this script.

Usage:
    admin_client.py --target HOST:PORT --generated DIR

Credentials come from the environment, never from argv (which ``ps`` shows to everyone):
    LLMUX_TOKEN      a client token from the configuration (for RouteService)
    LLMUX_USERNAME   a user who may list backends (an admin)
    LLMUX_PASSWORD   that user's password

Prints one JSON object describing what each call returned, and exits 0; an unexpected RPC error
propagates (exit 1, with the gRPC status on stderr).
"""

import argparse
import json
import os
import sys
from typing import Any

CALL_TIMEOUT_S = 10


def bearer(token: str) -> list[tuple[str, str]]:
    """gRPC metadata carrying a credential the way llmux expects it."""
    return [("authorization", f"Bearer {token}")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="the admin port, HOST:PORT")
    parser.add_argument("--generated", required=True, help="the directory grpc_tools.protoc wrote the stubs to")
    args = parser.parse_args()

    # The generated modules import each other as llmux.<area>.v1.<file>_pb2, from the output directory.
    sys.path.insert(0, args.generated)
    import grpc
    from llmux.admin.v1 import admin_service_pb2, admin_service_pb2_grpc, resources_pb2
    from llmux.route.v1 import route_service_pb2, route_service_pb2_grpc
    from llmux.type.v1 import options_pb2

    token = bearer(os.environ["LLMUX_TOKEN"])
    out: dict[str, Any] = {}
    with grpc.insecure_channel(args.target) as channel:
        route = route_service_pb2_grpc.RouteServiceStub(channel)
        admin = admin_service_pb2_grpc.AdminServiceStub(channel)

        # RouteService with a client token from the configuration.
        fast = route_service_pb2.SelectBackendRequest(requirements=route_service_pb2.RouteRequirements(model="fast"))
        selected = route.SelectBackend(fast, metadata=token, timeout=CALL_TIMEOUT_S)
        out["select"] = {
            "mode": route_service_pb2.RouteMode.Name(selected.mode),
            "candidates": [c.backend for c in selected.candidates],
        }
        status = route.GetBackendStatus(route_service_pb2.GetBackendStatusRequest(), metadata=token, timeout=CALL_TIMEOUT_S)
        out["status"] = [{"name": b.name, "state": route_service_pb2.BackendState.Name(b.state)} for b in status.backends]

        # Without a credential the access interceptor answers with the gRPC status, not an HTTP error.
        try:
            admin.ListBackends(admin_service_pb2.ListBackendsRequest(), timeout=CALL_TIMEOUT_S)
            out["anonymous"] = "allowed"
        except grpc.RpcError as err:
            out["anonymous"] = {"code": err.code().name, "details": err.details()}

        # AdminService: log in, create a key, list backends with the JWT.
        login = admin.Login(
            admin_service_pb2.LoginRequest(username=os.environ["LLMUX_USERNAME"], password=os.environ["LLMUX_PASSWORD"]),
            timeout=CALL_TIMEOUT_S,
        )
        jwt = bearer(login.token)
        out["login"] = {"username": login.user.username, "role": options_pb2.Role.Name(login.user.role)}

        created = admin.CreateApiKey(
            admin_service_pb2.CreateApiKeyRequest(name="python", allowed_models=["mock-*"], requests_per_minute=10),
            metadata=jwt,
            timeout=CALL_TIMEOUT_S,
        )
        # The secret is shown once; report only facts about it, never the secret itself.
        out["key"] = {
            "name": created.key.name,
            "allowed_models": list(created.key.allowed_models),
            "requests_per_minute": created.key.requests_per_minute,
            "secret_has_prefix": created.secret.startswith("llmux_") and created.secret.startswith(created.key.prefix),
            "last_four_match": created.secret[-4:] == created.key.last_four,
        }

        backends = admin.ListBackends(admin_service_pb2.ListBackendsRequest(), metadata=jwt, timeout=CALL_TIMEOUT_S)
        out["backends"] = [
            {"name": b.name, "provider": b.provider, "model": b.model, "source": resources_pb2.Source.Name(b.source)}
            for b in backends.backends
        ]

        # The new key is a credential for the RPCs too.
        with_key = route.SelectBackend(fast, metadata=bearer(created.secret), timeout=CALL_TIMEOUT_S)
        out["select_with_key"] = [c.backend for c in with_key.candidates]

    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
