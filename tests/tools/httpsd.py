#!/usr/bin/env python3
"""A small HTTPS server with misbehaving routes, for fedtrust's fetch tests.

  httpsd.py --cert server.pem --key server.key --root DIR --port-file FILE
            [--lifetime 120] [--no-tls] [--routes FILE] [--log-conns]

Binds 127.0.0.1 on an ephemeral port, writes the port number to --port-file
once listening (atomically), logs one line per request to stdout
("REQUEST-LINE -> STATUS [gzip] [cookie]"; "[cookie]" when the client sent a
Cookie header) and exits by itself after --lifetime seconds.  With
--log-conns it also logs "ACCEPT" for every TCP connection, "TLS-FAIL why"
for every failed handshake and "CLIENT-CLOSED after S" when a client closes
a connection the server kept open.  Python standard library only.

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
Misbehaviours for the NET cases of the security rules (tests/e2e/015-net-faults.sh):
  /doc?name=NAME&...     DIR/NAME with options: etag=sha|random|none,
                         lm=mtime|future|none, cond=1|0 (honour validators),
                         type=CONTENT-TYPE, enc=CODING (Content-Encoding of a
                         file that is already encoded), frame=length (default)
                         | close (no length, ends with a TCP close without TLS
                         close_notify) | notify (no length, ends with
                         close_notify) | noclose (Content-Length, then the
                         connection is held open) | excess (Content-Length, then
                         a second unsolicited response, held open)
  /pingpong/a, /pingpong/b   redirect to each other (A -> B -> A)
  /slowheaders?delay=S   status line, then one header byte every S seconds
  /stream?mb=N           N MiB without Content-Length or chunking (close-delimited)
  /continue?n=N          N "100 Continue" interim responses (0: endless), no final one
  /reset?declared=N      Content-Length N, 1000 bytes, then a TCP reset
  /chunked-nofinal       two chunks, then close without the last chunk
  /gzipchain?mb=N&n=K    N MiB of zeros gzip'd K times, "Content-Encoding: gzip, gzip, ..."
  /tegzip?mb=N           "Transfer-Encoding: gzip, chunked" of N MiB of zeros
  /cookies?n=N&len=L[&to=URL]  N Set-Cookie headers of L bytes; 302 to URL when given
  /headerline?kb=N       one header line of N KiB

--routes FILE: a JSON table {"<path?query>": {"status": N, "type": "...",
"body": "..."}} (tests/tools/mkoidf.py writes one) answers first, re-read on
every request (a test starts the server, learns the port, then writes the
table; a missing or half-written file answers nothing).  A request matches a
key exactly, else a key with the same path and the same query parameters in
any order and percent-encoding, else the key "<path>?*" when the request has
a query; a request matching no key goes to the routes above.  An entry
{"route": "/TARGET?QUERY"} answers as that built-in route (so a feed's path
can be switched to any misbehaviour).  Keys starting with "@" are not paths:
  "@conn": {"cert": PEM, "key": PEM, "tls": "1.0"|"1.1", "mode": M}
      applies to every new connection: another certificate, a listener that
      speaks only that TLS version, mode "stall" (TCP accepted, the TLS
      handshake never answered) or mode "no-accept" (the listen queue is
      filled and nothing is accepted: a TCP connect stalls);
  "@id": TEXT   logged as "TABLE TEXT" once the table (and its "@conn" mode)
      is in force, so a test knows when a switch took effect.
"""
import argparse
import email.utils
import gzip
import hashlib
import http.server
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import warnings
import zlib

ROOT = "."
ROUTES = None
TLS = None          # (cert, key) of the listener, None with --no-tls
LOG_CONNS = False
CONTEXTS = {}       # (cert, key, tls) -> SSLContext
CTX_LOCK = threading.Lock()
LOG_LOCK = threading.Lock()
BOMBS = {}
BOMB_LOCK = threading.Lock()
FUTURE_DATE = "Fri, 01 Jan 2100 00:00:00 GMT"
STALL_MAX = 120     # seconds a stalled connection is held at most
DISCONNECT = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
              ssl.SSLError, OSError)


def gzip_bomb(mb):
    """gzip stream of mb MiB of zeros, built in memory chunk by chunk."""
    with BOMB_LOCK:
        return gzip_bomb_unlocked(mb)


def gzip_chain(mb, n):
    """mb MiB of zeros gzip'd n times."""
    with BOMB_LOCK:
        key = ("chain", mb, n)
        if key not in BOMBS:
            data = None
            for _ in range(n):
                data = gzip_bomb_unlocked(mb) if data is None else gzip.compress(data, 9)
            BOMBS[key] = data
        return BOMBS[key]


def gzip_bomb_unlocked(mb):
    if mb not in BOMBS:
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(1 << 20)
        parts = [c.compress(zeros) for _ in range(mb)]
        parts.append(c.flush())
        BOMBS[mb] = b"".join(parts)
    return BOMBS[mb]


def log_line(text):
    with LOG_LOCK:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def read_table():
    """The --routes table, {} when there is none or it does not parse."""
    if ROUTES is None:
        return {}
    try:
        with open(ROUTES, "rb") as f:
            table = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return table if isinstance(table, dict) else {}


def conn_settings():
    c = read_table().get("@conn")
    return c if isinstance(c, dict) else {}


def tls_context(cert, key, version):
    """A server context for cert/key; version "1.0"/"1.1" makes a listener that speaks only that."""
    k = (cert, key, version)
    with CTX_LOCK:
        if k not in CONTEXTS:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            if version in ("1.0", "1.1"):
                v = ssl.TLSVersion.TLSv1 if version == "1.0" else ssl.TLSVersion.TLSv1_1
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    ctx.minimum_version = v
                    ctx.maximum_version = v
                # OpenSSL 3 needs security level 0 for the SHA-1 handshake of TLS < 1.2
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            else:
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(cert, key)
            CONTEXTS[k] = ctx
        return CONTEXTS[k]


class Abort(Exception):
    """End a connection without a response."""


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

    def setup(self):
        """Per connection: the "@conn" settings of the table pick certificate, TLS version or a stall."""
        self.raw = self.request
        conn = conn_settings()
        mode = conn.get("mode", "")
        if LOG_CONNS:
            log_line("ACCEPT%s" % (" " + mode if mode else ""))
        if mode == "stall":
            # accepted, never a byte back: the client's TLS handshake never completes
            self.raw.settimeout(STALL_MAX)
            try:
                while self.raw.recv(4096):
                    pass
            except OSError:
                pass
            raise Abort()
        if TLS is not None:
            ctx = tls_context(conn.get("cert", TLS[0]), conn.get("key", TLS[1]),
                              conn.get("tls", ""))
            self.raw.settimeout(30)
            try:
                self.request = ctx.wrap_socket(self.raw, server_side=True)
            except (ssl.SSLError, OSError) as e:
                if LOG_CONNS:
                    log_line("TLS-FAIL %s" % e)
                raise Abort()
            self.request.settimeout(None)
        super().setup()

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass
        if self.request is not self.raw:
            try:
                self.request.close()
            except OSError:
                pass

    def note(self, code, extra=""):
        headers = getattr(self, "headers", None)
        if headers is not None and headers.get("Cookie") is not None:
            extra += " [cookie]"
        log_line("%s -> %d%s" % (self.requestline, code, extra))

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
            target = self.from_table()
            if target is True:
                return
            self.builtin(target or self.path)
        except DISCONNECT:
            self.close_connection = True

    def builtin(self, target):
        u = urllib.parse.urlsplit(target)
        q = dict(urllib.parse.parse_qsl(u.query))
        parts = u.path.split("/")
        name = parts[1].replace("-", "_") if len(parts) > 1 else ""
        route = getattr(self, "r_" + name, None) if name else None
        if route is None:
            self.simple(404, b"no such route\n")
            return
        route(parts[2:], q)

    def from_table(self):
        """
        Answer from the --routes table: True when answered, a built-in target
        when the entry names one, False when it has no entry for the target.
        """
        if ROUTES is None:
            return False
        table = read_table()
        r = table.get(self.path)
        if r is None:
            want = canonical_target(self.path)
            r = next((v for k, v in table.items()
                      if "?*" not in k and canonical_target(k) == want), None)
        if r is None and "?" in self.path:
            r = table.get(self.path.split("?", 1)[0] + "?*")
        if not isinstance(r, dict):
            return False
        if "route" in r:
            return r["route"]
        self.simple(int(r.get("status", 200)), r.get("body", "").encode("utf-8"),
                    r.get("type", "application/octet-stream"),
                    headers=[tuple(h) for h in r.get("headers", [])])
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

    # ---- misbehaviours for the NET cases (015-net-faults.sh)

    def hold_open(self, since):
        """Keep the connection open until the client closes it; log how long that took."""
        self.close_connection = True
        self.request.settimeout(STALL_MAX)
        try:
            while self.request.recv(4096):
                pass
        except (OSError, ValueError):
            pass
        if LOG_CONNS:
            log_line("CLIENT-CLOSED after %.1f" % (time.time() - since))

    def r_doc(self, rest, q):
        name = q.get("name", "")
        segs = name.split("/")
        if any(not seg or seg.startswith(".") for seg in segs):
            self.simple(404, b"bad name\n")
            return
        path = os.path.join(ROOT, *segs)
        try:
            with open(path, "rb") as f:
                data = f.read()
            mtime = int(os.stat(path).st_mtime)
        except OSError:
            self.simple(404, b"not found\n")
            return
        em = q.get("etag", "sha")
        etag = ('"%s"' % hashlib.sha256(data).hexdigest() if em == "sha" else
                '"%s"' % os.urandom(12).hex() if em == "random" else None)
        lmm = q.get("lm", "mtime")
        lm = (email.utils.formatdate(mtime, usegmt=True) if lmm == "mtime" else
              FUTURE_DATE if lmm == "future" else None)
        hdrs = []
        if etag is not None:
            hdrs.append(("ETag", etag))
        if lm is not None:
            hdrs.append(("Last-Modified", lm))
        if q.get("cond", "1") == "1":
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            fresh = False
            if inm is not None and etag is not None:
                fresh = etag in [t.strip() for t in inm.split(",")]
            elif inm is None and ims is not None and lm is not None:
                try:
                    fresh = (email.utils.parsedate_to_datetime(lm) <=
                             email.utils.parsedate_to_datetime(ims))
                except (TypeError, ValueError):
                    fresh = False
            if fresh:
                self.note(304)
                self.send_response(304)
                for k, v in hdrs:
                    self.send_header(k, v)
                self.end_headers()
                return
        if "enc" in q:
            hdrs.append(("Content-Encoding", q["enc"]))
        frame = q.get("frame", "length")
        self.note(200, " frame=" + frame if frame != "length" else "")
        self.send_response(200)
        self.send_header("Content-Type", q.get("type", "application/samlmetadata+xml"))
        if frame in ("length", "noclose", "excess"):
            self.send_header("Content-Length", str(len(data)))
        else:
            self.send_header("Connection", "close")
        for k, v in hdrs:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        since = time.time()
        if frame == "close":
            # a TCP FIN without TLS close_notify: a truncation attacker's move
            self.close_connection = True
            self.request.shutdown(socket.SHUT_RDWR)
        elif frame == "notify":
            self.close_connection = True
            self.request.settimeout(2)
            try:
                self.request = self.request.unwrap()
            except (OSError, ValueError):
                pass
        elif frame == "noclose":
            self.hold_open(since)
        elif frame == "excess":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nsmuggled!!\r\n")
            self.wfile.flush()
            self.hold_open(since)

    def r_pingpong(self, rest, q):
        other = "b" if rest and rest[0] == "a" else "a"
        self.simple(302, b"again\n", headers=[("Location", "/pingpong/" + other)])

    def r_slowheaders(self, rest, q):
        delay = float(q.get("delay", "10"))
        self.note(200, " slow headers")
        self.close_connection = True
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self.wfile.flush()
        for _ in range(1000):
            time.sleep(delay)
            self.wfile.write(b"X")
            self.wfile.flush()

    def r_stream(self, rest, q):
        mb = int(q.get("mb", "2048"))
        self.note(200, " stream")
        self.close_connection = True
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"<" * 65536
        for _ in range(mb * 16):
            self.wfile.write(chunk)
        self.wfile.flush()

    def r_continue(self, rest, q):
        n = int(q.get("n", "0"))
        self.note(100, " interim flood")
        self.close_connection = True
        frame = b"HTTP/1.1 100 Continue\r\nX-Pad: " + b"p" * 1000 + b"\r\n\r\n"
        i = 0
        while n == 0 or i < n:
            self.wfile.write(frame)
            self.wfile.flush()
            i += 1

    def r_reset(self, rest, q):
        self.note(200, " reset")
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Length", q.get("declared", "100000"))
        self.end_headers()
        self.wfile.write(b"<" * 1000)
        self.wfile.flush()
        time.sleep(0.2)
        # SO_LINGER 0: close() sends RST instead of FIN
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.raw = self.request
        self.request.close()

    def r_chunked_nofinal(self, rest, q):
        self.note(200, " chunked, no last chunk")
        self.close_connection = True
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for _ in range(2):
            self.wfile.write(b"400\r\n" + b"<" * 1024 + b"\r\n")
        self.wfile.flush()
        self.request.shutdown(socket.SHUT_RDWR)

    def r_gzipchain(self, rest, q):
        n = max(1, min(int(q.get("n", "3")), 20))
        body = gzip_chain(int(q.get("mb", "64")), n)
        self.simple(200, body, "application/xml",
                    headers=[("Content-Encoding", ", ".join(["gzip"] * n))])

    def r_tegzip(self, rest, q):
        body = gzip_bomb(int(q.get("mb", "64")))
        self.note(200, " te gzip")
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Transfer-Encoding", "gzip, chunked")
        self.end_headers()
        for i in range(0, len(body), 16384):
            part = body[i:i + 16384]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def r_cookies(self, rest, q):
        n = int(q.get("n", "1000"))
        ln = int(q.get("len", "100"))
        to = q.get("to")
        self.note(302 if to else 200, " %d cookies" % n)
        self.close_connection = True
        self.send_response(302 if to else 200)
        for i in range(n):
            self.send_header("Set-Cookie", "c%d=%s; Path=/" % (i, "v" * ln))
        if to:
            self.send_header("Location", to)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def r_headerline(self, rest, q):
        kb = int(q.get("kb", "1024"))
        self.note(200, " long header")
        self.close_connection = True
        self.send_response(200)
        self.send_header("X-Long", "a" * (kb * 1024))
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    blocked = False     # "@conn" mode "no-accept" in force

    def handle_error(self, request, client_address):
        pass  # TLS failures and disconnects are what the tests provoke

    def get_request(self):
        while self.blocked:
            time.sleep(0.02)
        return self.socket.accept()


def fill_backlog(srv):
    """
    Stop accepting: a listen backlog of 0 and our own connections in the
    queue, so the kernel drops the next SYN and a client's connect stalls.
    """
    srv.blocked = True
    srv.socket.listen(0)
    port = srv.server_address[1]
    fillers = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(f)
    # the queue is full once a probe connect cannot complete
    for _ in range(50):
        p = socket.socket()
        p.settimeout(0.2)
        try:
            p.connect(("127.0.0.1", port))
            fillers.append(p)
        except OSError:
            p.close()
            break
    return fillers


def watch_table(srv):
    """Apply "@conn" mode "no-accept" and log "TABLE id" once a table is in force."""
    fillers, last = [], None
    while True:
        table = read_table()
        c = table.get("@conn")
        noaccept = isinstance(c, dict) and c.get("mode") == "no-accept"
        if noaccept and not srv.blocked:
            fillers = fill_backlog(srv)
        elif not noaccept and srv.blocked:
            for f in fillers:
                f.close()
            fillers = []
            srv.socket.listen(128)
            srv.blocked = False
        tid = table.get("@id")
        if tid is not None and tid != last:
            log_line("TABLE %s" % tid)
        last = tid
        time.sleep(0.05)


def main():
    global ROOT, ROUTES, TLS, LOG_CONNS
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--root", default=".")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--no-tls", action="store_true")
    ap.add_argument("--routes", default=None)
    ap.add_argument("--log-conns", action="store_true")
    a = ap.parse_args()
    ROOT = a.root
    ROUTES = a.routes
    LOG_CONNS = a.log_conns
    srv = Server(("127.0.0.1", 0), Handler)
    if not a.no_tls:
        # the handshake runs in the handler thread (Handler.setup), so a stuck
        # client never blocks accept(); load once now so a bad key fails at start
        TLS = (a.cert, a.key)
        tls_context(a.cert, a.key, "")
    if ROUTES is not None:
        threading.Thread(target=watch_table, args=(srv,), daemon=True).start()
    threading.Timer(a.lifetime, lambda: os._exit(0)).start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
