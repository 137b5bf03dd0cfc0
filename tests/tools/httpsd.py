#!/usr/bin/env python3
"""A small HTTPS server with misbehaving routes, for fedtrust's fetch tests.

  httpsd.py --cert server.pem --key server.key --root DIR --port-file FILE
            [--lifetime 120] [--no-tls] [--routes FILE]

Binds 127.0.0.1 on an ephemeral port, writes the port number to --port-file
once listening (atomically), logs one line per request to stdout
("REQUEST-LINE -> STATUS [gzip]") and exits by itself after --lifetime
seconds.  Python standard library only.

Routes:
  /files/NAME[?gzip=1]   DIR/NAME (re-read every time; NAME may have sub-folders,
                         no segment starting with ".") with a strong ETag (sha256)
                         and Last-Modified; If-None-Match / If-Modified-Since -> 304;
                         gzip when ?gzip=1 and the client accepts gzip
  /status/CODE[?retry_after=V]   that status, small body, optional Retry-After: V
  /redirect?to=URL[&code=302]    redirect to URL
  /loop/N                redirect to /loop/N+1 forever
  /slow?bytes=N&delay=S  N bytes (declared), one every S seconds
  /endless               chunked body that never ends
  /big?declared=N        Content-Length N, a short body, then close
  /truncated             Content-Length 1000, 10 bytes, then close
  /gzipbomb?mb=N         gzip body that expands to N MiB of zeros
  /headers?n=N&len=L     N junk headers of L bytes each
  /html                  200 with an HTML error page
  /empty                 200 with an empty body

--routes FILE: a JSON table {"<path?query>": {"status": N, "type": "...",
"body": "..."}} (tests/tools/mkoidf.py writes one) answers first, re-read on
every request (a test starts the server, learns the port, then writes the
table; a missing or half-written file answers nothing).  A request matches a
key exactly, else a key with the same path and the same query parameters in
any order and percent-encoding, else the key "<path>?*" when the request has
a query; a request matching no key goes to the routes above.
"""
import argparse
import email.utils
import gzip
import hashlib
import http.server
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
import zlib

ROOT = "."
ROUTES = None
BOMBS = {}
BOMB_LOCK = threading.Lock()
DISCONNECT = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
              ssl.SSLError, OSError)


def gzip_bomb(mb):
    """gzip stream of mb MiB of zeros, built in memory chunk by chunk."""
    with BOMB_LOCK:
        if mb not in BOMBS:
            c = zlib.compressobj(9, zlib.DEFLATED, 31)
            zeros = bytes(1 << 20)
            parts = [c.compress(zeros) for _ in range(mb)]
            parts.append(c.flush())
            BOMBS[mb] = b"".join(parts)
        return BOMBS[mb]


def canonical_target(target):
    """path?query with the query parameters decoded, sorted and re-encoded one way."""
    path, _, query = target.partition("?")
    pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    q = "&".join("%s=%s" % (urllib.parse.quote(k, safe=""), urllib.parse.quote(v, safe=""))
                 for k, v in pairs)
    return urllib.parse.unquote(path) + ("?" + q if q else "")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "httpsd"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet: we log our own line
        pass

    def note(self, code, extra=""):
        sys.stdout.write("%s -> %d%s\n" % (self.requestline, code, extra))
        sys.stdout.flush()

    def simple(self, code, body=b"", ctype="text/plain", headers=()):
        if code in (204, 304) or code < 200:
            body = b""  # these never carry a body
        self.note(code)
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            if self.from_table():
                return
        except DISCONNECT:
            self.close_connection = True
            return
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        parts = u.path.split("/")
        try:
            route = getattr(self, "r_" + parts[1], None) if len(parts) > 1 else None
            if route is None:
                self.simple(404, b"no such route\n")
                return
            route(parts[2:], q)
        except DISCONNECT:
            self.close_connection = True

    def from_table(self):
        """Answer from the --routes table; False when it has no entry for the target."""
        if ROUTES is None:
            return False
        try:
            with open(ROUTES, "rb") as f:
                table = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError):
            return False
        r = table.get(self.path)
        if r is None:
            want = canonical_target(self.path)
            r = next((v for k, v in table.items()
                      if "?*" not in k and canonical_target(k) == want), None)
        if r is None and "?" in self.path:
            r = table.get(self.path.split("?", 1)[0] + "?*")
        if r is None:
            return False
        self.simple(int(r.get("status", 200)), r.get("body", "").encode("utf-8"),
                    r.get("type", "application/octet-stream"))
        return True

    def r_files(self, rest, q):
        # sub-paths are served (a published list: LIST/head.jwt, LIST/bundles/N.jwt);
        # no segment may be empty or start with "." (no "..", no hidden files)
        if not rest or any(not seg or seg.startswith(".") for seg in rest):
            self.simple(404, b"bad name\n")
            return
        path = os.path.join(ROOT, *rest)
        try:
            with open(path, "rb") as f:
                data = f.read()
            mtime = int(os.stat(path).st_mtime)
        except OSError:
            self.simple(404, b"not found\n")
            return
        etag = '"%s"' % hashlib.sha256(data).hexdigest()
        lm = email.utils.formatdate(mtime, usegmt=True)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        fresh = False
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            fresh = "*" in tags or etag in tags
        elif ims is not None:
            try:
                fresh = mtime <= int(email.utils.parsedate_to_datetime(ims).timestamp())
            except (TypeError, ValueError):
                fresh = False
        if fresh:
            self.note(304)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", lm)
            self.end_headers()
            return
        gz = q.get("gzip") == "1" and "gzip" in self.headers.get("Accept-Encoding", "")
        body = gzip.compress(data) if gz else data
        self.note(200, " gzip" if gz else "")
        self.send_response(200)
        self.send_header("Content-Type", "application/samlmetadata+xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", lm)
        if gz:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(body)

    def r_status(self, rest, q):
        code = int(rest[0]) if rest and rest[0].isdigit() else 500
        hdrs = [("Retry-After", q["retry_after"])] if "retry_after" in q else []
        self.simple(code, b"status %d\n" % code, headers=hdrs)

    def r_redirect(self, rest, q):
        code = int(q.get("code", "302"))
        self.simple(code, b"moved\n", headers=[("Location", q.get("to", "/"))])

    def r_loop(self, rest, q):
        n = int(rest[0]) if rest and rest[0].isdigit() else 0
        self.simple(302, b"again\n", headers=[("Location", "/loop/%d" % (n + 1))])

    def r_slow(self, rest, q):
        n = int(q.get("bytes", "10"))
        delay = float(q.get("delay", "1"))
        self.note(200)
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        self.wfile.flush()
        for _ in range(n):
            time.sleep(delay)
            self.wfile.write(b"x")
            self.wfile.flush()

    def r_endless(self, rest, q):
        self.note(200)
        self.close_connection = True
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"x" * 65536
        frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        while True:
            self.wfile.write(frame)
            self.wfile.flush()

    def r_big(self, rest, q):
        self.note(200)
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Length", q.get("declared", "10000000000"))
        self.end_headers()
        self.wfile.write(b"short body")
        self.wfile.flush()

    def r_truncated(self, rest, q):
        self.note(200)
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.wfile.flush()

    def r_gzipbomb(self, rest, q):
        body = gzip_bomb(int(q.get("mb", "64")))
        self.simple(200, body, "application/xml", headers=[("Content-Encoding", "gzip")])

    def r_headers(self, rest, q):
        n = int(q.get("n", "1000"))
        ln = int(q.get("len", "1000"))
        self.note(200)
        self.close_connection = True
        self.send_response(200)
        for i in range(n):
            self.send_header("X-Junk-%d" % i, "j" * ln)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def r_html(self, rest, q):
        self.simple(200, b"<html><body><h1>Service unavailable</h1></body></html>\n",
                    "text/html")

    def r_empty(self, rest, q):
        self.simple(200, b"")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # TLS failures and disconnects are what the tests provoke


def main():
    global ROOT, ROUTES
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--root", default=".")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--no-tls", action="store_true")
    ap.add_argument("--routes", default=None)
    a = ap.parse_args()
    ROOT = a.root
    ROUTES = a.routes
    srv = Server(("127.0.0.1", 0), Handler)
    if not a.no_tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(a.cert, a.key)
        # handshake lazily in the handler thread, so a stuck client never blocks accept()
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
    threading.Timer(a.lifetime, lambda: os._exit(0)).start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
