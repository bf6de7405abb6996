#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for the registry tests, on 127.0.0.1 only.

    faultproxy.py UPSTREAM_PORT RULES_FILE LOG_FILE PORT_FILE

Forwards every request to 127.0.0.1:UPSTREAM_PORT (Host header kept, so
the registry's Location headers point back at the proxy) and appends
"METHOD PATH STATUS" to LOG_FILE.  RULES_FILE (JSON, re-read when it
changes) is a list of faults:

    {"method": "GET", "match": "/blobs/sha256:", "action": "reset", "times": 2}

action: reset (close the connection, RST, before answering), cut (send the
headers and half the body, then reset), 500, 429 (Retry-After: 1), flip
(change one byte of the body), stall (headers, then nothing for `seconds`),
delay (answer after `seconds`), strip-range (forward without the Range
header, as a server without range support answers), together (hold each
matching request until `count` of them are held at once, then forward
them all; a request that waits `seconds` (default 5) for the others is
forwarded alone and logged "METHOD PATH ALONE" first).  `times` counts
down; -1 is forever.
"""
import http.client
import http.server
import json
import os
import socket
import struct
import sys
import threading
import time

UP = int(sys.argv[1])
RULES, LOG, PORTFILE = sys.argv[2], sys.argv[3], sys.argv[4]
lock = threading.Lock()
together = threading.Condition()
state = {"mtime": None, "rules": []}


def rule_for(method, path):
    with lock:
        try:
            m = os.stat(RULES).st_mtime_ns
        except FileNotFoundError:
            m = None
        if m != state["mtime"]:
            state["mtime"] = m
            state["rules"] = json.load(open(RULES)) if m else []
        for r in state["rules"]:
            if r.get("times", -1) == 0:
                continue
            if r.get("method", method) != method or r.get("match", "") not in path:
                continue
            if r.get("times", -1) > 0:
                r["times"] -= 1
            return r
    return None


def log(line):
    with lock:
        with open(LOG, "a") as f:
            f.write(line + "\n")


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: without TCP_NODELAY each
    # answer on a kept-alive connection waits for a delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        rule = rule_for(self.command, self.path)
        action = rule["action"] if rule else None
        if action == "reset":
            log("%s %s RESET" % (self.command, self.path))
            return self.reset()
        if action in ("500", "429"):
            log("%s %s %s" % (self.command, self.path, action))
            msg = b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}'
            self.send_response(int(action))
            if action == "429":
                self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        if action == "delay":
            time.sleep(float(rule.get("seconds", 1)))
        if action == "together":
            with together:
                rule["held"] = rule.get("held", 0) + 1
                together.notify_all()
                if not together.wait_for(lambda: rule["held"] >= rule["count"],
                                         float(rule.get("seconds", 5))):
                    log("%s %s ALONE" % (self.command, self.path))
        up = http.client.HTTPConnection("127.0.0.1", UP, timeout=60)
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in ("connection", "content-length")}
        hdrs["Content-Length"] = str(len(body))
        if action == "strip-range":
            hdrs = {k: v for k, v in hdrs.items() if k.lower() != "range"}
        up.request(self.command, self.path, body=body if n or self.command
                   in ("PUT", "PATCH", "POST") else None, headers=hdrs)
        resp = up.getresponse()
        data = resp.read() if self.command != "HEAD" else b""
        log("%s %s %d" % (self.command, self.path, resp.status))
        if action == "flip" and data:
            i = len(data) // 2
            data = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() in ("connection", "transfer-encoding", "content-length"):
                continue
            self.send_header(k, v)
        clen = resp.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
        if clen is not None:
            self.send_header("Content-Length", clen)
        self.end_headers()
        up.close()
        if action == "cut" and data:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            return self.reset()
        if action == "stall":
            self.wfile.flush()
            time.sleep(float(rule.get("seconds", 5)))
            return self.reset()
        self.wfile.write(data)

    def do_GET(self):
        self.handle_one()

    do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_GET


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
srv.daemon_threads = True
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
