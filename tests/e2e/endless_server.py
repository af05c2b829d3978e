#!/usr/bin/env python3
"""An HTTP server whose answers never end, for tests/e2e/receiver_endless.sh.

usage: endless_server.py PORT_FILE LOG_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE).  Reads each
request whole, then answers it without end: POST /body gets a 200 with a
Content-Length of 1 TB and streams it; POST /headers gets a status line and
header lines without end.  When the client goes away it appends one JSON
line to LOG_FILE: {"path", "request_bytes", "sent", "seconds"}.
"""
import json
import os
import socket
import sys
import threading
import time

CHUNK = b"x" * 65536
HEADER = b"X-Endless: " + b"y" * 1000 + b"\r\n"
log_lock = threading.Lock()


def read_request(conn):
    """The request line's path and the request's size; (None, n) if cut short."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return None, len(data)
        data += more
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(body) < length:
        more = conn.recv(65536)
        if not more:
            break
        body += more
    return lines[0].split(" ")[1], len(head) + 4 + len(body)


def serve(conn, log_path):
    start, sent = time.monotonic(), 0
    path, request_bytes = read_request(conn)
    try:
        if path == "/headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            chunk = HEADER * 64
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 1000000000000\r\n\r\n")
            chunk = CHUNK
        while path:
            conn.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # the client gave up: what the test wants to see
    finally:
        conn.close()
    line = {"path": path, "request_bytes": request_bytes, "sent": sent,
            "seconds": round(time.monotonic() - start, 3)}
    with log_lock, open(log_path, "a") as log:
        log.write(json.dumps(line) + "\n")


def main():
    port_file, log_path = sys.argv[1], sys.argv[2]
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, log_path), daemon=True).start()


if __name__ == "__main__":
    main()
