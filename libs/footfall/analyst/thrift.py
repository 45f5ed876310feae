"""`footfall thrift start|stop|status`: the Spark Thrift Server (JDBC/ODBC) on the analyst catalog.

It is pyspark's HiveThriftServer2 started through spark-submit with the same settings as the
spark-sql shell, bound to 127.0.0.1. Its pid and port are kept in a file under the data folder;
`stop` ends exactly that process. Connect with `beeline -u jdbc:hive2://127.0.0.1:PORT` or any
JDBC/ODBC tool that speaks HiveServer2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from footfall.analyst.catalog import analyst_paths, ensure_catalog, spark_env, spark_home, spark_submit_args
from footfall.config import Config
from footfall.errors import EXIT_OK, SetupError

SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
HOST = "127.0.0.1"
DEFAULT_PORT = 10015
EXIT_NOT_RUNNING = 3  # LSB init-script convention for `status`


@dataclasses.dataclass(frozen=True)
class Server:
    pid: int
    port: int

    @property
    def url(self) -> str:
        return f"jdbc:hive2://{HOST}:{self.port}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on {HOST} (default {DEFAULT_PORT})")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for start/stop")


def command(args: argparse.Namespace, cfg: Config) -> int:
    if args.action == "start":
        server = start(cfg, args.port, args.timeout)
        print(f"Thrift server running (pid {server.pid}): beeline -u {server.url}")
        return EXIT_OK
    if args.action == "stop":
        stopped = stop(cfg, args.timeout)
        print(f"Thrift server (pid {stopped.pid}) stopped" if stopped else "Thrift server was not running")
        return EXIT_OK
    current = running(cfg)
    print(f"running (pid {current.pid}) on {current.url}" if current else "not running")
    return EXIT_OK if current else EXIT_NOT_RUNNING


def _pid_file(cfg: Config) -> Path:
    return analyst_paths(cfg).root / "thrift.json"


def _log_file(cfg: Config) -> Path:
    return analyst_paths(cfg).root / "thrift.log"


def _is_our_server(pid: int) -> bool:
    """Alive and still the Thrift server: a recycled pid must never be signalled."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return SERVER_CLASS.encode() in cmdline


def running(cfg: Config) -> Server | None:
    path = _pid_file(cfg)
    if not path.is_file():
        return None
    server = Server(**json.loads(path.read_text()))
    return server if _is_our_server(server.pid) else None


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


def start(cfg: Config, port: int, timeout: float) -> Server:
    if running(cfg) is not None:
        raise SetupError("the Thrift server is already running: see `footfall thrift status`")
    if _port_open(port):
        raise SetupError(f"port {port} on {HOST} is taken: choose another with --port")
    ensure_catalog(cfg)
    cmd = [
        str(spark_home() / "bin" / "spark-submit"), "--class", SERVER_CLASS, *spark_submit_args(cfg),
        "spark-internal",
        "--hiveconf", f"hive.server2.thrift.bind.host={HOST}",
        "--hiveconf", f"hive.server2.thrift.port={port}",
    ]
    log = _log_file(cfg)
    with log.open("ab") as out:
        # A session of its own: the server outlives this command and no terminal signal reaches it.
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   env=spark_env(cfg), start_new_session=True)
    server = Server(process.pid, port)
    _pid_file(cfg).write_text(json.dumps(dataclasses.asdict(server)) + "\n")
    deadline = time.monotonic() + timeout
    while not _port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(cfg, 30.0)
            raise SetupError(f"the Thrift server did not come up on {HOST}:{port}: see {log}")
        time.sleep(1.0)
    return server


def stop(cfg: Config, timeout: float) -> Server | None:
    """Stop the server of the pid file (TERM, then KILL after `timeout`); None if none ran."""
    server = running(cfg)
    _pid_file(cfg).unlink(missing_ok=True)
    if server is None:
        return None
    os.kill(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _is_our_server(server.pid) and time.monotonic() < deadline:
        _reap(server.pid)
        time.sleep(0.5)
    if _is_our_server(server.pid):
        os.kill(server.pid, signal.SIGKILL)
    _reap(server.pid)
    return server


def _reap(pid: int) -> None:
    """Collect the exit status when this process started the server (start() failing), so the
    pid does not linger as a zombie that still looks alive."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
