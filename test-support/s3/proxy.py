#!/usr/bin/env python3
"""Fault-injecting HTTP/1.1 reverse proxy in front of moto's standalone server.

Stdlib only. Listens on loopback, forwards every request to --upstream over one
keep-alive http.client connection per client connection (handler thread), and:

* sleeps --latency-ms before forwarding each request (models S3 round trips);
* injects transient faults into S3 requests: the first time a request identity
  (method, path and query) is seen it fails with probability --fault-rate, the
  decision and the kind (among --faults) derived from sha256(seed + identity),
  so runs are reproducible; retries of the same identity pass;
* injects permanent faults: requests whose decoded path matches --fail-always
  fail every time with --fail-always-kind;
* answers CloudTrail ListPublicKeys (which moto lacks) from --public-keys,
  paginated --keys-page-size entries per page; other CloudTrail calls go to moto
  unchanged and are never faulted (only delayed);
* serves GET /__proxy/stats (JSON counters) itself.

Fault kinds: 503 (S3 SlowDown), 403 (AccessDenied), 500 (InternalError),
reset (read the request, then close the socket with a TCP RST, no response),
truncate (forward, send the headers with the full Content-Length and about half
of the body, then RST; falls back to reset for bodies of 0 or 1 byte), and the
hostile or broken server's:

* cut-fin: like truncate, but the connection is closed cleanly (FIN);
* corrupt: the whole body of an object (not a listing: S3 sends no checksum
  of those) with one byte changed, every header kept (S3's x-amz-checksum-*
  too, so a client that checks it sees the damage);
* stall: no answer at all (the request is read, then nothing for
  --stall-seconds); stall-body: the headers and half the body, then nothing;
* trickle: the body at --trickle-bps bytes per second;
* 404-html: a 404 with an HTML page (a middlebox); 404-bucket: S3's
  NoSuchBucket (a misrouted request); neither is NoSuchKey;
* endless: the headers without Content-Length, then a body that never ends;
* for ListObjectsV2 only (other requests pass): list-no-token (IsTruncated
  true, no NextContinuationToken), list-same-token (the next token is the
  request's own), list-cycle (tokens A, B, A, ...), list-cut (the XML cut in
  half, Content-Length consistent), list-count (the last entry dropped, KeyCount
  kept). The proxy's own tokens (ctv-…) stand for the request's real one.

--fail-list-prefix REGEX applies --fail-always-kind to the ListObjectsV2
requests whose prefix parameter matches. --strip-checksums drops S3's
x-amz-checksum-* headers from every answer (objects without a checksum).

  proxy.py --upstream http://127.0.0.1:PORT [--listen 127.0.0.1:0]
           [--port-file FILE] [--latency-ms N] [--fault-rate R]
           [--faults 503,reset,truncate] [--seed S] [--fail-always REGEX]
           [--fail-always-kind 503|reset|truncate|403|500]
           [--public-keys FILE] [--keys-page-size N] [--log FILE]
"""

import argparse
import base64
import datetime
import hashlib
import http.client
import http.server
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

LIST_KINDS = ("list-no-token", "list-same-token", "list-cycle", "list-cut", "list-count")
FAULT_KINDS = ("503", "reset", "truncate", "403", "500", "cut-fin", "corrupt", "stall", "stall-body",
               "trickle", "404-html", "404-bucket", "endless") + LIST_KINDS
S3_ERRORS = {
    "503": (503, "SlowDown", "Please reduce your request rate."),
    "403": (403, "AccessDenied", "Access Denied"),
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
}
# Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded; Expect is answered here.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
    "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "expect",
}
CHUNK = 64 * 1024
REGION_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/")


class Upstream:
    """A lazily (re)connected keep-alive connection to the upstream server."""

    def __init__(self, host, port):
        self.host, self.port, self.conn = host, port, None

    def request(self, method, target, headers, body):
        """Sends one request and returns the response (its body unread).
        Retries once on a fresh connection if the kept-alive one went stale."""
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
                if self.conn.sock is None:  # new, or closed after a Connection: close
                    self.conn.connect()
                    self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    self.conn.putheader(name, value)
                self.conn.endheaders(body)
                return self.conn.getresponse()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class PublicKeys:
    """The keys served for ListPublicKeys: one list, or one list per region."""

    def __init__(self, path):
        self.by_region, self.default = {}, []
        if path is None:
            return
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if isinstance(data, dict) and "PublicKeyList" in data:
            self.default = [self._entry(e) for e in data["PublicKeyList"]]
        elif isinstance(data, dict):
            for region, entries in data.items():
                if isinstance(entries, dict):
                    entries = entries.get("PublicKeyList", [])
                self.by_region[region] = [self._entry(e) for e in entries]
        else:
            raise ValueError(f"{path}: expected a JSON object")

    @staticmethod
    def _time(value):
        if isinstance(value, (int, float)):
            return float(value)
        t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)).timestamp()

    def _entry(self, e):
        return {
            "Value": e["Value"],
            "ValidityStartTime": self._time(e["ValidityStartTime"]),
            "ValidityEndTime": self._time(e["ValidityEndTime"]),
            "Fingerprint": e["Fingerprint"],
        }

    def page(self, region, query, page_size):
        """Returns (HTTP status, response object) for one ListPublicKeys call."""
        start, end = query.get("StartTime"), query.get("EndTime")
        entries = [
            e for e in self.by_region.get(region, self.default) if
            (end is None or e["ValidityStartTime"] <= end) and
            (start is None or e["ValidityEndTime"] >= start)
        ]
        offset = 0
        if query.get("NextToken"):
            try:
                offset = int(base64.urlsafe_b64decode(query["NextToken"]).decode().removeprefix("ctv:"))
            except ValueError:
                return 400, {"__type": "InvalidTokenException", "message": "Invalid NextToken"}
        out = {"PublicKeyList": entries[offset:offset + page_size]}
        if offset + page_size < len(entries):
            out["NextToken"] = base64.urlsafe_b64encode(f"ctv:{offset + page_size}".encode()).decode()
        return 200, out


class Proxy(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, args):
        super().__init__(address, Handler)
        url = urllib.parse.urlsplit(args.upstream)
        self.upstream = (url.hostname, url.port or 80)
        self.args = args
        self.faults = [k.strip() for k in args.faults.split(",") if k.strip()]
        self.fail_always = re.compile(args.fail_always) if args.fail_always else None
        self.fail_list = re.compile(args.fail_list_prefix) if args.fail_list_prefix else None
        self.fake_tokens = {}  # the proxy's continuation tokens -> the real one (or None)
        self.keys = PublicKeys(args.public_keys)
        self.lock = threading.Lock()
        self.seen = set()
        self.stats = {"requests": 0, "faults": dict.fromkeys(FAULT_KINDS, 0),
                      "list_public_keys": 0, "bytes_out": 0}
        self.log_file = open(args.log, "a", buffering=1, encoding="utf-8") if args.log else None

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def count(self, key, sub=None, n=1):
        with self.lock:
            if sub is None:
                self.stats[key] += n
            else:
                self.stats[key][sub] += n

    def log(self, method, path, outcome):
        if self.log_file:
            with self.lock:
                self.log_file.write(f"{time.time():.3f} {method} {path} {outcome}\n")

    def pick_fault(self, method, target, path, query):
        """The fault kind for an S3 request, or None to forward it untouched."""
        if self.fail_always and self.fail_always.search(path):
            return self.args.fail_always_kind
        if self.fail_list and "list-type" in query and self.fail_list.search(query.get("prefix", "")):
            return self.args.fail_always_kind
        if self.args.fault_rate <= 0 or not self.faults:
            return None
        identity = f"{method} {target}"
        with self.lock:
            if identity in self.seen:
                return None
            self.seen.add(identity)
        h = hashlib.sha256(f"{self.args.seed}\0{identity}".encode()).digest()
        if int.from_bytes(h[:8], "big") / 2**64 >= self.args.fault_rate:
            return None
        return self.faults[h[8] % len(self.faults)]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Proxy

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's
        # algorithm and delayed ACKs add 40 ms to every small response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.upstream = Upstream(*self.server.upstream)

    def finish(self):
        self.upstream.close()
        super().finish()

    def log_message(self, format, *args):
        pass  # one line per request goes to --log instead

    # -- request plumbing ------------------------------------------------

    def read_body(self):
        """The request body, de-chunked (Expect: 100-continue was already
        answered by BaseHTTPRequestHandler.handle_expect_100)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_bytes(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
            self.server.count("bytes_out", n=len(body))

    def abort(self):
        """Closes the client connection with a TCP RST (SO_LINGER 0)."""
        self.close_connection = True
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.rfile.close()  # drops makefile's reference so close() is real
        sock.close()

    def send_s3_error(self, kind):
        status, code, message = S3_ERRORS[kind]
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error>").encode()
        self.send_bytes(status, [("Content-Type", "application/xml"),
                                 ("x-amz-request-id", "CTVPROXYFAULT")], body)

    # -- dispatch ----------------------------------------------------------

    def handle_request(self):
        srv = self.server
        # The raw request target: BaseHTTPRequestHandler squeezes a leading '//'.
        self.path = self.requestline.split()[1]
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        if self.command == "GET" and split.path == "/__proxy/stats":
            with srv.lock:
                body = json.dumps(srv.stats).encode()
            self.read_body()
            return self.send_bytes(200, [("Content-Type", "application/json")], body)

        srv.count("requests")
        body = self.read_body()
        if srv.args.latency_ms:
            time.sleep(srv.args.latency_ms / 1000)

        target = self.headers.get("X-Amz-Target", "")
        if target.endswith("ListPublicKeys"):
            return self.list_public_keys(body)
        if target.endswith("GetTrailStatus") and srv.args.latest_digest_delivery is not None:
            return self.trail_status()
        fault = None
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        is_list = self.command == "GET" and query.get("list-type") == "2"
        if is_list and query.get("continuation-token", "").startswith("ctv-"):
            # One of this proxy's tokens: ask upstream with the real one.
            with srv.lock:
                real = srv.fake_tokens.get(query["continuation-token"])
            query.pop("continuation-token")
            if real is not None:
                query["continuation-token"] = real
            self.path = split.path + "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
            query["continuation-token"] = query.get("continuation-token") or None
        if "cloudtrail" not in target.lower() and not split.path.startswith("/moto-api/"):
            fault = srv.pick_fault(self.command, self.path, path, query)
        if (fault in LIST_KINDS and not is_list) or (fault == "corrupt" and is_list):
            fault = None
        if fault is not None:
            srv.count("faults", fault)
        if fault in S3_ERRORS:
            srv.log(self.command, self.path, f"fault {fault}")
            return self.send_s3_error(fault)
        if fault == "reset":
            srv.log(self.command, self.path, "fault reset")
            return self.abort()
        if fault == "stall":
            srv.log(self.command, self.path, "fault stall")
            time.sleep(srv.args.stall_seconds)
            return self.abort()
        if fault == "404-html":
            srv.log(self.command, self.path, "fault 404-html")
            return self.send_bytes(404, [("Content-Type", "text/html")],
                                   b"<html><body><h1>404 Not Found</h1>nginx</body></html>")
        if fault == "404-bucket":
            srv.log(self.command, self.path, "fault 404-bucket")
            body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code>'
                    b"<Message>The specified bucket does not exist</Message></Error>")
            return self.send_bytes(404, [("Content-Type", "application/xml")], body)
        if fault in LIST_KINDS:
            return self.list_fault(fault, body, query)
        self.forward(body, fault=fault)

    def list_fault(self, fault, body, query):
        """Forwards a ListObjectsV2 request and answers a lying page."""
        srv = self.server
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP
                   and k.lower() != "content-length"]
        try:
            resp = self.upstream.request(self.command, self.path, headers, body)
            xml = resp.read()
        except (OSError, http.client.HTTPException):
            self.upstream.close()
            return self.abort()
        text = xml.decode("utf-8")
        own = query.get("continuation-token")
        def fake(name):
            with srv.lock:
                srv.fake_tokens[name] = own
            return name
        def truncated(next_token):
            t = re.sub(r"<IsTruncated>\w+</IsTruncated>", "<IsTruncated>true</IsTruncated>", text)
            t = re.sub(r"<NextContinuationToken>[^<]*</NextContinuationToken>", "", t)
            if next_token is not None:
                t = t.replace("</ListBucketResult>",
                              f"<NextContinuationToken>{next_token}</NextContinuationToken></ListBucketResult>")
            return t
        if fault == "list-no-token":
            text = truncated(None)
        elif fault == "list-same-token":
            text = truncated(own if own and not own.startswith("ctv-") else fake("ctv-same"))
        elif fault == "list-cycle":
            text = truncated(fake("ctv-B") if self.headers_token_is("ctv-A") else fake("ctv-A"))
        elif fault == "list-count":
            entries = list(re.finditer(r"<Contents>.*?</Contents>|<CommonPrefixes>.*?</CommonPrefixes>", text))
            if entries:
                last = entries[-1]
                text = text[:last.start()] + text[last.end():]
        out = text.encode("utf-8")
        if fault == "list-cut":
            out = out[:len(out) // 2]
        srv.log(self.command, self.path, f"{resp.status} fault {fault}")
        self.send_bytes(resp.status, [("Content-Type", "application/xml")], out)

    def headers_token_is(self, token):
        return f"continuation-token={token}" in self.requestline

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = handle_request

    def list_public_keys(self, body):
        srv = self.server
        srv.count("list_public_keys")
        try:
            query = json.loads(body or b"{}")
        except ValueError:
            query = {}
        match = REGION_RE.search(self.headers.get("Authorization", ""))
        status, out = srv.keys.page(match.group(1) if match else "us-east-1", query,
                                    srv.args.keys_page_size)
        srv.log(self.command, self.path, f"{status} ListPublicKeys")
        self.send_bytes(status, [("Content-Type", "application/x-amz-json-1.1"),
                                 ("x-amzn-RequestId", "ctv-proxy")], json.dumps(out).encode())

    def trail_status(self):
        """GetTrailStatus with --latest-digest-delivery (moto never delivers digests)."""
        out = {"IsLogging": True, "LatestDigestDeliveryTime": self.server.args.latest_digest_delivery}
        self.server.log(self.command, self.path, "200 GetTrailStatus")
        self.send_bytes(200, [("Content-Type", "application/x-amz-json-1.1"),
                              ("x-amzn-RequestId", "ctv-proxy")], json.dumps(out).encode())

    def forward(self, body, fault=None):
        srv = self.server
        truncate = fault in ("truncate", "cut-fin", "stall-body")
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP
                   and k.lower() != "content-length"]
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(body))))
        try:
            resp = self.upstream.request(self.command, self.path, headers, body)
        except (OSError, http.client.HTTPException) as e:
            srv.log(self.command, self.path, f"upstream error {e!r}")
            return self.send_bytes(502, [("Content-Type", "text/plain")], f"upstream: {e}\n".encode())

        has_body = self.command != "HEAD" and resp.status not in (204, 304) and resp.status >= 200
        length = resp.getheader("Content-Length")
        if truncate and not (has_body and length and int(length) > 1):
            resp.close()
            self.upstream.close()
            srv.log(self.command, self.path, f"{resp.status} fault reset (truncate)")
            return self.abort()

        self.send_response(resp.status, resp.reason)
        for name, value in resp.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() not in ("date", "server"):
                if srv.args.strip_checksums and name.lower().startswith("x-amz-checksum-"):
                    continue
                self.send_header(name, value)
        if fault == "endless" and has_body:
            return self.endless(resp)
        chunked = has_body and length is None and self.request_version >= "HTTP/1.1"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif has_body and length is None:
            self.close_connection = True  # HTTP/1.0 client: the body ends at close
        self.end_headers()
        if not has_body:
            resp.close()
            srv.log(self.command, self.path, resp.status)
            return

        budget = int(length) // 2 if truncate else None
        sent = 0
        corrupt_at = int(length) // 2 if fault == "corrupt" and length and int(length) > 0 else None
        try:
            while budget is None or sent < budget:
                data = resp.read(CHUNK if budget is None else min(CHUNK, budget - sent))
                if not data:
                    break
                if corrupt_at is not None and sent <= corrupt_at < sent + len(data):
                    i = corrupt_at - sent
                    data = data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1:]
                if fault == "trickle":
                    for i in range(0, len(data), 4):
                        self.wfile.write(data[i:i + 4])
                        self.wfile.flush()
                        time.sleep(4 / srv.args.trickle_bps)
                else:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
        except (OSError, http.client.HTTPException):
            self.upstream.close()  # upstream failed mid-body: client sees a reset
            srv.count("bytes_out", n=sent)
            srv.log(self.command, self.path, f"{resp.status} upstream broke after {sent} bytes")
            return self.abort()
        srv.count("bytes_out", n=sent)
        if truncate:
            self.upstream.close()  # the rest of the body is unread
            srv.log(self.command, self.path, f"{resp.status} fault {fault} {sent}/{length}")
            if fault == "stall-body":
                self.wfile.flush()
                time.sleep(srv.args.stall_seconds)
            if fault == "cut-fin":
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            return self.abort()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        srv.log(self.command, self.path, f"{resp.status} fault {fault}" if fault else resp.status)


    def endless(self, resp):
        """The upstream's status and headers without Content-Length, then a
        body that never ends (the upstream's, then filler)."""
        srv = self.server
        self.send_response(resp.status, resp.reason)
        for name, value in resp.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() not in ("date", "server", "content-length"):
                self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        first = resp.read()
        self.upstream.close()
        filler = b"<Contents><Key>zzzz</Key></Contents>" * 1800
        srv.log(self.command, self.path, f"{resp.status} fault endless")
        try:
            data = first
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                data = filler
        except OSError:
            self.close_connection = True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:5000")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (default 127.0.0.1:0)")
    p.add_argument("--port-file", help="write the bound port here (atomically)")
    p.add_argument("--latency-ms", type=float, default=0)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--faults", default="503,reset,truncate")
    p.add_argument("--seed", default="0")
    p.add_argument("--fail-always", metavar="REGEX")
    p.add_argument("--fail-always-kind", choices=FAULT_KINDS, default="503")
    p.add_argument("--fail-list-prefix", metavar="REGEX")
    p.add_argument("--stall-seconds", type=float, default=3600)
    p.add_argument("--strip-checksums", action="store_true",
                   help="drop x-amz-checksum-* from answers (objects S3 has no checksum for)")
    p.add_argument("--trickle-bps", type=float, default=4)
    p.add_argument("--public-keys", metavar="FILE")
    p.add_argument("--keys-page-size", type=int, default=1)
    p.add_argument("--log", metavar="FILE")
    p.add_argument("--latest-digest-delivery", type=float, metavar="EPOCH",
                   help="answer CloudTrail GetTrailStatus with this LatestDigestDeliveryTime")
    args = p.parse_args()
    bad = [k for k in args.faults.split(",") if k.strip() and k.strip() not in FAULT_KINDS]
    if bad or not 0 <= args.fault_rate <= 1 or args.keys_page_size < 1:
        p.error(f"bad --faults {bad}, --fault-rate or --keys-page-size")

    host, _, port = args.listen.rpartition(":")
    server = Proxy((host or "127.0.0.1", int(port)), args)
    port = server.server_address[1]
    if args.port_file:
        tmp = f"{args.port_file}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"PORT {port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
