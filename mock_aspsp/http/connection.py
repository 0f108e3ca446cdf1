"""The client's TCP connection that carries the request being answered (the ``drop`` fault closes it).

gunicorn hands it over in the WSGI environ. granian does not: it is found among the worker's own
sockets, by the server port and the client's address, and among several connections from that
address the one that received data last, which is the request just read (Linux only).
"""
from __future__ import annotations

import os
import socket
import struct
from typing import Optional

# struct tcp_info (linux/tcp.h): 8 one-byte fields, then 32-bit ones; tcpi_last_data_recv is the 12th.
_LAST_DATA_RECV = struct.Struct("=I")
_LAST_DATA_RECV_OFFSET = 8 + 11 * 4
_TCP_INFO_SIZE = 104


def request_socket(environ: dict) -> Optional[socket.socket]:
    """The connection's socket, or None where it cannot be found. Close what this returns: it may be a
    duplicate of the server's descriptor (shutting it down still ends the connection)."""
    given = environ.get("gunicorn.socket")
    if given is not None:
        return socket.socket(fileno=os.dup(given.fileno()))
    try:
        port = int(environ.get("SERVER_PORT", ""))
    except ValueError:
        return None
    return _find(environ.get("REMOTE_ADDR", ""), port)


def _find(client_ip: str, server_port: int) -> Optional[socket.socket]:
    best: Optional[tuple[int, socket.socket]] = None
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return None
    for name in names:
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            candidate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        idle_ms = _idle_ms_if_match(candidate, client_ip, server_port)
        if idle_ms is None or (best is not None and best[0] <= idle_ms):
            candidate.close()
            continue
        if best is not None:
            best[1].close()
        best = (idle_ms, candidate)
    return best[1] if best else None


def _idle_ms_if_match(sock: socket.socket, client_ip: str, server_port: int) -> Optional[int]:
    """Milliseconds since ``sock`` last received data, if it is a connection from ``client_ip`` to our port."""
    try:
        if sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        if sock.getsockname()[1] != server_port or sock.getpeername()[0] != client_ip:
            return None
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
        return _LAST_DATA_RECV.unpack_from(info, _LAST_DATA_RECV_OFFSET)[0]
    except OSError:  # a listening socket has no peer; one just closed has neither
        return None
