"""A moto server on loopback: DynamoDB, DynamoDB Streams, SQS and SSM for the local runtime.

``python -m infra.local.server [PORT]`` runs one on its own (Ctrl-C stops it).
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import urllib.request

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from infra.local.motolock import SerialisedDynamoDB
from infra.local.motospeed import speed_up_moto

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class _SafeMotoServer(ThreadedMotoServer):
    """moto's threaded server, DynamoDB requests serialised (``infra.local.motolock``), its hot spots removed."""

    def _server_entry(self) -> None:
        speed_up_moto()
        app = SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class MotoServer:
    """Starts and stops moto's threaded server on 127.0.0.1 (never another interface)."""

    def __init__(self, port: int | None = None, *, verbose: bool = False) -> None:
        self.port = port or free_port()
        self.verbose = verbose
        self._server: ThreadedMotoServer | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> str:
        # werkzeug logs one line per request: thousands during a demo.
        logging.getLogger("werkzeug").setLevel(logging.INFO if self.verbose else logging.ERROR)
        self._server = _SafeMotoServer(ip_address=LOOPBACK, port=self.port, verbose=self.verbose)
        self._server.start()
        # Every moto server in a process shares moto's in-memory state: start from nothing.
        reset = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310 - loopback
        with urllib.request.urlopen(reset, timeout=10):  # noqa: S310 - our own loopback server
            pass
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def main(argv: list[str]) -> int:
    server = MotoServer(int(argv[0]) if argv else None)
    print(server.start(), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
