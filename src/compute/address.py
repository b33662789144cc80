"""A scheduler address, checked before Dask's client is given it: its form, then that a Dask
scheduler answers there.

Dask's client trusts whatever answers on the port. An HTTP server (the dashboard's port is one
slip away) never sends the frame the client waits for, and the client waits with no timeout;
another service's greeting is read as a frame length, and the client tries to allocate that many
bytes (exabytes). A Dask scheduler greets every new connection first, with a handshake frame of
a few dozen bytes, so reading that one frame with a timeout and a size cap tells them apart
without trusting either.
"""

from __future__ import annotations

import re
import socket
import struct
import time

from src.compute.errors import ComputeError
from src.config import SCHEDULER_ENV

EXPECTED_FORM = "tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786"
_ADDRESS = re.compile(r"(?:tcp://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]@]+):(?P<port>\d{1,5})")
_FRAME_LENGTH = struct.Struct("Q")  # what Dask's TCP comm sends before each message
_HANDSHAKE_MAX_BYTES = 64 * 1024  # a scheduler's handshake is ~60 bytes
_RETRY_S = 0.2
_FIX = (
    "pass the address `dask scheduler` prints (tcp://HOST:8786 by default), or drop "
    f"--scheduler/{SCHEDULER_ENV}"
)


def parse_address(address: str) -> tuple[str, int]:
    """(host, port) of a `tcp://HOST:PORT` address (`HOST:PORT` means tcp too)."""
    match = _ADDRESS.fullmatch(address)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ComputeError(
            f"scheduler address {address!r} is not {EXPECTED_FORM} (tcp is the one transport "
            f"this tool connects with); {_FIX}"
        )
    return match["host"].strip("[]"), int(match["port"])


def check_scheduler(address: str, timeout_s: float) -> None:
    """Raise `ComputeError` unless a Dask scheduler greets a connection to `address` within
    `timeout_s` (a refused connection is retried meanwhile: a scheduler may be starting)."""
    host, port = parse_address(address)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return _check_greeting(host, port, address, deadline)
        except ConnectionRefusedError as exc:
            if time.monotonic() + _RETRY_S >= deadline:
                raise ComputeError(
                    f"no Dask scheduler answers at {address} (connection refused for "
                    f"{timeout_s:g} s); start one with `dask scheduler` and workers with "
                    f"`dask worker {address}`, or drop --scheduler/{SCHEDULER_ENV}"
                ) from exc
            time.sleep(_RETRY_S)
        except socket.gaierror as exc:
            raise ComputeError(
                f"scheduler host {host!r} is unknown ({exc.strerror}); {_FIX}"
            ) from exc
        except TimeoutError as exc:
            raise ComputeError(
                f"no Dask scheduler answers at {address}: no Dask handshake within {timeout_s:g} s "
                f"(nothing answered, or a server of another kind, e.g. a web server such as the "
                f"dashboard, usually on port 8787); {_FIX}"
            ) from exc
        except OSError as exc:
            raise ComputeError(
                f"no Dask scheduler answers at {address} ({exc.strerror or exc}); {_FIX}"
            ) from exc


def _check_greeting(host: str, port: int, address: str, deadline: float) -> None:
    with socket.create_connection((host, port), timeout=_left(deadline)) as conn:
        conn.settimeout(_left(deadline))
        head = _read_exactly(conn, _FRAME_LENGTH.size)
        (length,) = _FRAME_LENGTH.unpack(head)
        if length > _HANDSHAKE_MAX_BYTES:
            raise ComputeError(
                f"{address} answers, but not as a Dask scheduler (its first bytes {head!r} are "
                f"no Dask handshake); {_FIX}"
            )
        payload = _read_exactly(conn, length)
    if not _is_handshake(payload):
        raise ComputeError(
            f"{address} answers, but not as a Dask scheduler (its first message is no Dask "
            f"handshake); {_FIX}"
        )


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.01)


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("the connection was closed before a Dask handshake")
        data += chunk
    return data


def _is_handshake(payload: bytes) -> bool:
    # Imported here: distributed costs ~0.5 s to import, and only a cluster run needs it.
    from distributed.protocol import loads
    from distributed.protocol.utils import unpack_frames

    try:
        message = loads(unpack_frames(payload), deserialize=False)
    except Exception:  # noqa: BLE001 - whatever the bytes were, they are no handshake
        return False
    return isinstance(message, dict) and {"compression", "python"} <= set(message)
