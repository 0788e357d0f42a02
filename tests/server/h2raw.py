#!/usr/bin/python3
"""Raw-frame and raw-socket cases for test_transport.sh, with Debian's python3-h2.

Usage: h2raw.py CASE HOST:PORT [N]. Exit 0 when the server behaved, 1 with a reason on stderr.
Every loop is bounded and every socket has a timeout; nothing asserts on timing.
"""
import json
import socket
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

TIMEOUT = 15


def fail(msg):
    print("h2raw: " + msg, file=sys.stderr)
    sys.exit(1)


def connect(addr):
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host.strip("[]"), int(port)), timeout=TIMEOUT)


def h2conn(sock):
    cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    conn = h2.connection.H2Connection(config=cfg)
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return conn


def req_headers(path, method="GET"):
    return [(":method", method), (":path", path), (":scheme", "http"),
            (":authority", "test")]


def pump(sock, conn, done, rounds=2000, ack=True):
    """Read frames until done(events) is true or the connection ends; returns the events.
    ack=False: never give flow-control credit back (a client that stops reading)."""
    events = []
    for _ in range(rounds):
        try:
            data = sock.recv(65536)
        except socket.timeout:
            fail("no answer within %d s" % TIMEOUT)
        except ConnectionResetError:
            events.append("EOF")
            return events
        if not data:
            events.append("EOF")
            return events
        for ev in conn.receive_data(data):
            events.append(ev)
            if isinstance(ev, h2.events.DataReceived) and ack:
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        out = conn.data_to_send()
        if out:
            try:
                sock.sendall(out)
            except OSError:
                pass
        if done(events):
            return events
    fail("too many reads")
    return events


def closed_at_once(addr, payload):
    """The server closes the connection without waiting for more bytes."""
    s = connect(addr)
    s.sendall(payload)
    try:
        data = s.recv(4096)
    except socket.timeout:
        fail("connection left open after %r" % payload[:24])
    except ConnectionResetError:
        data = b""
    if data:
        fail("server answered %r to %r" % (data[:40], payload[:24]))


def case_preface(addr):
    closed_at_once(addr, b"PRI * HTTP/2.1\r\n\r\nSM\r\n\r\n")    # mangled version
    closed_at_once(addr, b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")    # mangled tail
    closed_at_once(addr, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")  # TLS on cleartext
    closed_at_once(addr, b"get / HTTP/1.1\r\n")                 # not a method token
    closed_at_once(addr, b"GET / HTTP/2.0\r\n")                 # not HTTP/1.x


def case_rapid_reset(addr):
    s = connect(addr)
    conn = h2conn(s)
    sent = 0
    try:
        for _ in range(10):
            for _ in range(50):
                sid = conn.get_next_available_stream_id()
                conn.send_headers(sid, req_headers("/slow?ms=50"), end_stream=True)
                conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
                sent += 1
            s.sendall(conn.data_to_send())
    except OSError:
        pass  # the server may already have closed the connection
    events = pump(s, conn, lambda evs: any(
        isinstance(e, h2.events.ConnectionTerminated) for e in evs))
    term = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
    if not term:
        fail("no GOAWAY after %d resets" % sent)
    if term[0].error_code != h2.errors.ErrorCodes.ENHANCE_YOUR_CALM:
        fail("GOAWAY with %r, expected ENHANCE_YOUR_CALM" % term[0].error_code)


def responses(events):
    out = {}
    for e in events:
        if isinstance(e, h2.events.ResponseReceived):
            out[e.stream_id] = dict(e.headers)
    return out


def case_streams(addr, n):
    """n streams open at once are served; the one past SETTINGS_MAX_CONCURRENT_STREAMS is
    refused. All are sent before the server's SETTINGS is read, so the client does not hold
    itself back."""
    s = connect(addr)
    conn = h2conn(s)
    ids = []
    for _ in range(n + 1):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, req_headers("/inline", "POST"), end_stream=False)
        ids.append(sid)
    s.sendall(conn.data_to_send())
    last = ids[-1]
    events = pump(s, conn, lambda evs: any(
        isinstance(e, h2.events.StreamReset) and e.stream_id == last for e in evs))
    resets = [e for e in events if isinstance(e, h2.events.StreamReset)]
    if not resets or resets[0].stream_id != last:
        fail("stream %d past the limit was not reset: %r" % (last, events))
    if resets[0].error_code not in (h2.errors.ErrorCodes.REFUSED_STREAM,
                                    h2.errors.ErrorCodes.PROTOCOL_ERROR):
        fail("reset with %r" % resets[0].error_code)
    for sid in ids[:-1]:
        conn.send_data(sid, b"x", end_stream=True)
    s.sendall(conn.data_to_send())
    events += pump(s, conn, lambda evs: len(responses(evs)) >= n)
    got = responses(events)
    for sid in ids[:-1]:
        if got.get(sid, {}).get(":status") != "200":
            fail("stream %d within the limit: %r" % (sid, got.get(sid)))


def case_queue_full(addr, q):
    """q slow requests fill the in-flight bound; the next one gets 503 with Retry-After."""
    s = connect(addr)
    conn = h2conn(s)
    ids = []
    for i in range(q + 1):
        sid = conn.get_next_available_stream_id()
        path = "/slow?ms=1500" if i < q else "/echo"
        conn.send_headers(sid, req_headers(path), end_stream=True)
        ids.append(sid)
    s.sendall(conn.data_to_send())
    events = pump(s, conn, lambda evs: sum(
        isinstance(e, h2.events.StreamEnded) for e in evs) >= q + 1)
    got = responses(events)
    last = got.get(ids[-1], {})
    if last.get(":status") != "503" or last.get("retry-after") != "1" or \
            last.get("content-type") != "application/problem+json":
        fail("request past the bound: %r" % last)
    body = b"".join(e.data for e in events
                    if isinstance(e, h2.events.DataReceived) and e.stream_id == ids[-1])
    if b'"status":503' not in body:
        fail("503 body: %r" % body)
    for sid in ids[:-1]:
        if got.get(sid, {}).get(":status") != "200":
            fail("slow request %d: %r" % (sid, got.get(sid)))


def case_bodiless(addr, n, q):
    """n streams whose bodies have not come hold no in-flight slot (the server's bound is
    q < n): a request on another connection is served meanwhile, and the first q streams
    are served once their bodies arrive."""
    s = connect(addr)
    conn = h2conn(s)
    ids = []
    for _ in range(n):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, req_headers("/echo", "POST"), end_stream=False)
        ids.append(sid)
    s.sendall(conn.data_to_send())
    pump(s, conn, lambda evs: any(isinstance(e, h2.events.SettingsAcknowledged) for e in evs))
    o = connect(addr)
    o.sendall(b"POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
              b"Connection: close\r\n\r\nok")
    got = http1_responses(read_all(o))
    if not got or got[0][0] != 200:
        fail("request beside %d bodiless streams: %r" % (n, got[:1]))
    for sid in ids[:q]:
        conn.send_data(sid, b"late", end_stream=True)
    s.sendall(conn.data_to_send())
    events = pump(s, conn, lambda evs: sum(
        isinstance(e, h2.events.StreamEnded) for e in evs) >= q)
    got = responses(events)
    if [got.get(sid, {}).get(":status") for sid in ids[:q]] != ["200"] * q:
        fail("late bodies: %r" % got)


def case_budget(addr, n):
    """Bodies in progress share a byte budget (queue_max * body_max): n - 1 partial bodies of
    1000 bytes fit, the n-th gets 503 with Retry-After before it is complete."""
    s = connect(addr)
    conn = h2conn(s)
    ids = []
    for _ in range(n):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, req_headers("/echo", "POST"), end_stream=False)
        conn.send_data(sid, b"b" * 1000, end_stream=False)
        ids.append(sid)
    s.sendall(conn.data_to_send())
    events = pump(s, conn, lambda evs: ids[-1] in responses(evs))
    last = responses(events)[ids[-1]]
    body = b"".join(e.data for e in events
                    if isinstance(e, h2.events.DataReceived) and e.stream_id == ids[-1])
    if last.get(":status") != "503" or last.get("retry-after") != "1" or b"bodies" not in body:
        fail("over the body budget: %r %r" % (last, body))
    for sid in ids[:-1]:
        conn.send_data(sid, b"", end_stream=True)
    s.sendall(conn.data_to_send())
    events += pump(s, conn, lambda evs: all(sid in responses(evs) for sid in ids[:-1]))
    got = responses(events)
    if [got[sid].get(":status") for sid in ids[:-1]] != ["200"] * (n - 1):
        fail("within the body budget: %r" % got)


def read_all(s):
    data = b""
    for _ in range(1000):
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            fail("connection still open after %d s: %r" % (TIMEOUT, data[:60]))
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def case_slowloris(addr):
    """A body that stops arriving gets 408 (HTTP/1.1 and HTTP/2), a silent client is closed."""
    s = connect(addr)
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
    data = read_all(s)
    if not data.startswith(b"HTTP/1.1 408 "):
        fail("HTTP/1.1 slow body: %r" % data[:60])
    s = connect(addr)
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n")  # headers never finish
    data = read_all(s)
    if data and not data.startswith(b"HTTP/1.1 408 "):
        fail("HTTP/1.1 slow headers: %r" % data[:60])
    s = connect(addr)
    data = read_all(s)  # says nothing at all
    if data:
        fail("silent client got %r" % data[:60])
    s = connect(addr)
    conn = h2conn(s)
    conn.send_headers(1, req_headers("/echo", "POST"), end_stream=False)
    conn.send_data(1, b"ab", end_stream=False)
    s.sendall(conn.data_to_send())
    events = pump(s, conn, lambda evs: 1 in responses(evs))
    if responses(events)[1].get(":status") != "408":
        fail("HTTP/2 slow body: %r" % responses(events))


def case_max_conns(addr, n):
    """Past max_connections a new connection is closed at once; the others stay open."""
    held = [connect(addr) for _ in range(n)]
    extra = connect(addr)
    try:
        data = extra.recv(4096)
    except socket.timeout:
        fail("connection past the limit left open")
    except ConnectionResetError:
        data = b""
    if data:
        fail("connection past the limit got %r" % data[:40])
    for h in held:
        h.setblocking(False)
        try:
            if h.recv(1) == b"":
                fail("a connection within the limit was closed")
        except BlockingIOError:
            pass


def http1_responses(data):
    """Split HTTP/1.1 responses with Content-Length bodies: [(status, headers, body)]."""
    out = []
    for _ in range(100):
        if not data:
            break
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            fail("incomplete response %r" % data[:80])
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0")) if status != 100 else 0
        out.append((status, hdrs, rest[:n]))
        data = rest[n:]
    return out


def case_http1(addr):
    """Pipelining, 100-continue, a malformed header line, a client gone mid-request."""
    s = connect(addr)
    s.sendall(b"GET /p1 HTTP/1.1\r\nHost: x\r\n\r\n"
              b"POST /p2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
              b"GET /p3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = http1_responses(read_all(s))
    paths = [json.loads(b)["path"] for _, _, b in got]
    if paths != ["/p1", "/p2", "/p3"] or json.loads(got[1][2])["body"] != "abc":
        fail("pipelined answers: %r" % got)
    if got[2][1].get("connection") != "close":
        fail("Connection: close not echoed: %r" % got[2][1])

    s = connect(addr)
    s.sendall(b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
              b"Expect: 100-continue\r\n\r\n")
    first = s.recv(4096)
    if first != b"HTTP/1.1 100 Continue\r\n\r\n":
        fail("100-continue: %r" % first)
    s.sendall(b"wxyz")
    s.shutdown(socket.SHUT_WR)
    got = http1_responses(read_all(s))
    if got[0][0] != 200 or json.loads(got[0][2])["body"] != "wxyz":
        fail("after 100-continue: %r" % got)

    s = connect(addr)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
    got = http1_responses(read_all(s))
    if got[0][0] != 400 or json.loads(got[0][2])["status"] != 400 or \
            got[0][1].get("content-type") != "application/problem+json":
        fail("malformed header: %r" % got)

    s = connect(addr)
    s.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
              b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
    got = http1_responses(read_all(s))
    if len(got) != 1 or got[0][0] != 405 or got[0][1].get("connection") != "close":
        fail("CONNECT: %r" % got)

    s = connect(addr)  # gone while a worker has the request: the server carries on
    s.sendall(b"GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n")
    s.close()
    s = connect(addr)
    conn = h2conn(s)
    conn.send_headers(1, req_headers("/slow?ms=300"), end_stream=True)
    s.sendall(conn.data_to_send())
    conn.reset_stream(1, h2.errors.ErrorCodes.CANCEL)
    conn.send_headers(3, req_headers("/after-reset"), end_stream=True)
    s.sendall(conn.data_to_send())
    events = pump(s, conn, lambda evs: 3 in responses(evs) and any(
        isinstance(e, h2.events.StreamEnded) and e.stream_id == 3 for e in evs))
    if responses(events)[3].get(":status") != "200":
        fail("stream after a reset: %r" % responses(events))


def case_huge(addr):
    """A request line or pseudo-header alone over the header limit: 431, server unharmed."""
    path = "/" + "p" * 3000
    s = connect(addr)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
    got = http1_responses(read_all(s))
    if not got or got[0][0] != 431:
        fail("HTTP/1.1 huge URL: %r" % got[:1])
    s = connect(addr)
    conn = h2conn(s)
    conn.send_headers(1, [(":method", "G" * 3000), (":path", path), (":scheme", "http"),
                          (":authority", "a" * 3000)], end_stream=True)
    conn.send_headers(3, req_headers("/after"), end_stream=True)
    s.sendall(conn.data_to_send())
    events = pump(s, conn, lambda evs: sum(
        isinstance(e, h2.events.StreamEnded) for e in evs) >= 2)
    got = responses(events)
    if got.get(1, {}).get(":status") != "431" or got.get(3, {}).get(":status") != "200":
        fail("HTTP/2 huge pseudo-headers: %r" % got)


def case_idle(addr):
    """An idle keep-alive connection is closed (HTTP/1.1) or sent GOAWAY (HTTP/2)."""
    s = connect(addr)
    s.sendall(b"GET /i HTTP/1.1\r\nHost: x\r\n\r\n")
    got = http1_responses(read_all(s))
    if len(got) != 1 or got[0][0] != 200 or got[0][1].get("connection") == "close":
        fail("idle HTTP/1.1: %r" % got)
    s = connect(addr)
    conn = h2conn(s)
    conn.send_headers(1, req_headers("/i"), end_stream=True)
    s.sendall(conn.data_to_send())
    events = pump(s, conn, lambda evs: "EOF" in evs)
    term = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
    if responses(events).get(1, {}).get(":status") != "200" or not term or \
            term[0].error_code != h2.errors.ErrorCodes.NO_ERROR:
        fail("idle HTTP/2: %r" % events)


def case_stall(addr):
    """A client that stops reading: on HTTP/2 (no WINDOW_UPDATE) the stream is reset after
    idle_timeout; on HTTP/1.1 the write timeout closes the connection."""
    s = connect(addr)
    conn = h2conn(s)
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1024})
    conn.send_headers(1, req_headers("/big?n=200000"), end_stream=True)
    s.sendall(conn.data_to_send())
    events = pump(s, conn, lambda evs: any(
        isinstance(e, h2.events.StreamReset) for e in evs), ack=False)
    reset = [e for e in events if isinstance(e, h2.events.StreamReset)]
    got = sum(len(e.data) for e in events if isinstance(e, h2.events.DataReceived))
    if not reset or reset[0].error_code != h2.errors.ErrorCodes.CANCEL or got >= 200000:
        fail("stalled HTTP/2 answer: %r, %d bytes" % (reset, got))
    before = stats(addr)["timeouts"]
    s = connect(addr)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"GET /big?n=8000000 HTTP/1.1\r\nHost: x\r\n\r\n")
    # Read nothing until the server counts a timeout (bounded polling), then drain.
    for _ in range(400):
        if stats(addr)["timeouts"] > before:
            break
        time.sleep(0.05)
    else:
        fail("no write timeout for a client that does not read")
    data = read_all(s)
    if len(data) >= 8000000:
        fail("stalled HTTP/1.1 answer was sent whole")


def case_late_reader(addr):
    """HTTP/2 answers larger than the socket takes, to a client that reads late: cleartext frames
    go to the socket at once and the rest through the bufferevent; both answers arrive whole,
    in order, and the connection serves a request after them."""
    s = connect(addr)
    conn = h2conn(s)
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1})
    conn.increment_flow_control_window(2**31 - 1 - 65535)
    conn.send_headers(1, req_headers("/big?n=3000000"), end_stream=True)
    conn.send_headers(3, req_headers("/big?n=2000000"), end_stream=True)
    s.sendall(conn.data_to_send())
    time.sleep(1)  # nothing read: the server's socket fills and the rest waits in the bufferevent
    body = {1: 0, 3: 0, 5: b""}
    def ended(evs, ids):
        return all(any(isinstance(e, h2.events.StreamEnded) and e.stream_id == i for e in evs)
                   for i in ids)
    events = pump(s, conn, lambda evs: ended(evs, (1, 3)), rounds=100000)
    conn.send_headers(5, req_headers("/after"), end_stream=True)
    s.sendall(conn.data_to_send())
    events += pump(s, conn, lambda evs: ended(evs, (5,)))
    for e in events:
        if isinstance(e, h2.events.DataReceived):
            if e.stream_id == 5:
                body[5] += e.data
            elif e.data.strip(b"x"):
                fail("stream %d: bytes other than 'x'" % e.stream_id)
            else:
                body[e.stream_id] += len(e.data)
    got = responses(events)
    if [got.get(i, {}).get(":status") for i in (1, 3, 5)] != ["200"] * 3 or \
            body[1] != 3000000 or body[3] != 2000000 or json.loads(body[5])["path"] != "/after":
        fail("late reader: %r, %d and %d bytes" % (got, body[1], body[3]))


def stats(addr):
    s = connect(addr)
    s.sendall(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return json.loads(http1_responses(read_all(s))[0][2])


def main():
    if len(sys.argv) < 3:
        fail("usage: h2raw.py CASE HOST:PORT [N]")
    case, addr = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    cases = {
        "preface": lambda: case_preface(addr),
        "rapid-reset": lambda: case_rapid_reset(addr),
        "streams": lambda: case_streams(addr, n),
        "queue-full": lambda: case_queue_full(addr, n),
        "slowloris": lambda: case_slowloris(addr),
        "max-conns": lambda: case_max_conns(addr, n),
        "http1": lambda: case_http1(addr),
        "idle": lambda: case_idle(addr),
        "huge": lambda: case_huge(addr),
        "budget": lambda: case_budget(addr, n),
        "stall": lambda: case_stall(addr),
        "late-reader": lambda: case_late_reader(addr),
        "bodiless": lambda: case_bodiless(addr, n, int(sys.argv[4])),
    }
    if case not in cases:
        fail("unknown case " + case)
    cases[case]()


if __name__ == "__main__":
    main()
