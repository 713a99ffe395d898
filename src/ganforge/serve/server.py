"""Running the studio: `serve(...)` is what `ganforge serve` does (checks, the token rule, models
loaded before the port is bound, uvicorn on a socket we bound ourselves so a taken port is a
one-line error); `BackgroundServer` runs an app on a free loopback port in a thread, for tests,
the screenshot script and notebooks.

Safe by default: the studio binds 127.0.0.1. Any other address exposes models and run folders to
the network, so it prints a warning and needs a token (--token or GANFORGE_TOKEN) that every
request must then carry.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

from ganforge.errors import UserError

TOKEN_ENV = "GANFORGE_TOKEN"
TOKEN_RE = re.compile(r"^[A-Za-z0-9._~+/=-]{8,256}$")  # fits a header, a cookie and a URL unescaped


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_token(token: str | None, host: str) -> str | None:
    """The token to guard requests with: required off loopback, checked for a usable form."""
    if token is not None and not TOKEN_RE.fullmatch(token):
        raise UserError(
            "--token: use 8 to 256 letters, digits or ._~+/=- (e.g. from: python -c 'import secrets; print(secrets.token_urlsafe())')"
        )
    if token is None and not is_loopback(host):
        raise UserError(
            f"--host {host} exposes the studio to the network: give --token TOKEN or set {TOKEN_ENV} "
            "(every request must then carry it), or bind 127.0.0.1"
        )
    return token


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); a taken port or unknown address is a UserError."""
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port}: choose 1 to 65535 (0: any free port)")
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as e:
        raise UserError(f"--host {host}: not an address of this machine ({e.strerror})") from None
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(info[4])
    except OSError as e:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror}; choose another --port or --host") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    sources: list[str],
    runs_dir: str | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    token: str | None = None,
    workers: int = 2,
) -> None:
    """Check everything, load the models, bind, then serve until Ctrl-C. Options are checked before
    torch is imported, so a mistyped one fails in a moment."""
    token = check_token(token if token is not None else os.environ.get(TOKEN_ENV) or None, host)
    if runs_dir is not None and not Path(runs_dir).is_dir():
        raise UserError(f"--runs {runs_dir}: no such folder")
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port}: choose 1 to 65535 (0: any free port)")
    if not 1 <= workers <= 64:
        raise UserError(f"--workers {workers}: choose 1 to 64")
    if not sources and runs_dir is None:
        raise UserError("nothing to serve: give one or more RUN directories (or zoo:NAME) and/or --runs DIR")
    if not is_loopback(host):
        print(
            f"warning: --host {host} exposes the studio beyond this machine; requests need the token",
            file=sys.stderr,
        )
    import torch
    import uvicorn

    from ganforge.serve.app import create_app
    from ganforge.serve.models import serve_models

    torch.set_num_threads(1)  # one intra-op thread per pool worker: `workers` cores, no oversubscription
    models = serve_models(list(sources))
    sock = bind(host, port)
    app = create_app(models, runs_dir, token, workers=workers)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    print(f"ganforge studio: {url}{'?token=...' if token else ''}  (models: {', '.join(models) or 'none'})", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[sock])


class BackgroundServer:
    """An app served by uvicorn on 127.0.0.1 (a free port) in a daemon thread:

    with BackgroundServer(app) as url: httpx.get(url + "api/models")
    """

    def __init__(self, app, host: str = "127.0.0.1"):
        import uvicorn

        self.sock = bind(host, 0)
        self.url = f"http://{host}:{self.sock.getsockname()[1]}/"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self, timeout: float = 30) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the studio server did not start")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


__all__ = ["TOKEN_ENV", "BackgroundServer", "bind", "check_token", "is_loopback", "serve"]
