"""An independent protocol v2 peer, written from DESIGN.md section 7 alone (Python's ssl, no
tlspush code): ALPN tlspush/2, SUB / PUB / PING / UNSUB, replay with SUB <channel> <seq>, ERR
answers that leave the connection open, a command split at every byte, HELLO without ALPN, and
the handshake failure of a client that offers only other ALPN ids.

Usage: python3 v2_peer.py HOST PORT CA_FILE   (the server runs with --relay). Prints "ok".
"""
import socket
import ssl
import struct
import sys

HOST, PORT, CA = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def connect(alpn=("tlspush/2",)):
    context = ssl.create_default_context(cafile=CA)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    raw = socket.create_connection((HOST, PORT), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return context.wrap_socket(raw, server_hostname="localhost")


def frame(text):
    payload = text.encode("utf-8")
    return struct.pack("<i", len(payload)) + payload


def read_exactly(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            fail(f"connection closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def receive(conn):
    (length,) = struct.unpack("<i", read_exactly(conn, 4))
    if length < 0:
        fail(f"negative length {length}")
    return read_exactly(conn, length).decode("utf-8")


def expect(conn, check, what):
    reply = receive(conn)
    if not check(reply):
        fail(f"expected {what}, got {reply!r}")
    return reply


def field(reply, index):
    return reply.split(" ")[index]


# 1. ALPN chooses v2; SUB answers OK SUB <channel> <next>.
a = connect()
if a.selected_alpn_protocol() != "tlspush/2":
    fail(f"ALPN gave {a.selected_alpn_protocol()!r}")
a.sendall(frame("SUB interop.news"))
ok_sub = expect(a, lambda r: r.startswith("OK SUB interop.news "), "OK SUB interop.news <next>")
next_seq = int(field(ok_sub, 3))

# 2. PUB: the publisher subscribed to the channel gets its own MSG, and OK PUB with the number.
a.sendall(frame("PUB interop.news hello, v2 world"))
replies = [receive(a), receive(a)]
oks = [r for r in replies if r.startswith("OK PUB interop.news ")]
msgs = [r for r in replies if r.startswith("MSG interop.news ")]
if len(oks) != 1 or len(msgs) != 1:
    fail(f"expected one OK PUB and one MSG, got {replies!r}")
first = int(field(oks[0], 3))
if first < next_seq:
    fail(f"seq {first} below the OK SUB's next {next_seq}")
if msgs[0] != f"MSG interop.news {first} hello, v2 world":
    fail(f"MSG was {msgs[0]!r}")

# 3. Empty data: the client may leave out the space; the server always writes it.
a.sendall(frame("PUB interop.news"))
replies = sorted([receive(a), receive(a)])
second = int(field([r for r in replies if r.startswith("OK PUB")][0], 3))
if second <= first:
    fail(f"numbers must grow: {first} then {second}")
if f"MSG interop.news {second} " not in replies:
    fail(f"empty MSG should end with one space: {replies!r}")

# 4. PING with and without data; a command split at every byte still works.
a.sendall(frame("PING are you there"))
expect(a, lambda r: r == "PONG are you there", "PONG are you there")
for byte in frame("PING split"):
    a.sendall(bytes([byte]))
expect(a, lambda r: r == "PONG split", "PONG split")

# 5. ERR leaves the connection open.
a.sendall(frame("FETCH interop.news"))
expect(a, lambda r: r.startswith("ERR bad-command "), "ERR bad-command")
a.sendall(frame("SUB " + "x" * 200))
expect(a, lambda r: r.startswith("ERR bad-channel "), "ERR bad-channel")
a.sendall(frame("PING still open"))
expect(a, lambda r: r == "PONG still open", "PONG still open")
a.sendall(frame("UNSUB interop.news"))
expect(a, lambda r: r == "OK UNSUB interop.news", "OK UNSUB interop.news")

# 6. Resume on a second connection: the retained messages from <seq>, in order, after OK SUB.
b = connect()
b.sendall(frame(f"SUB interop.news {first}"))
expect(b, lambda r: r.startswith("OK SUB interop.news "), "OK SUB before the replay")
expect(b, lambda r: r == f"MSG interop.news {first} hello, v2 world", "the first, replayed")
expect(b, lambda r: r == f"MSG interop.news {second} ", "the second (empty), replayed")
b.sendall(frame("PING after the replay"))
expect(b, lambda r: r == "PONG after the replay", "PONG: nothing replayed twice")

# 7. No ALPN: v1, until a first frame HELLO tlspush/2 switches the connection to v2.
c = connect(alpn=())
if c.selected_alpn_protocol() is not None:
    fail("no ALPN offered, yet one was selected")
c.sendall(frame("HELLO tlspush/2"))
expect(c, lambda r: r == "OK HELLO", "OK HELLO")
c.sendall(frame("PING v2 now"))
expect(c, lambda r: r == "PONG v2 now", "PONG v2 now")

# 8. Only other ALPN ids: the handshake fails (no_application_protocol).
try:
    connect(alpn=("h2", "http/1.1")).close()
    fail("a client offering only h2 and http/1.1 was accepted")
except ssl.SSLError as error:
    if "NO_APPLICATION_PROTOCOL" not in str(error).upper().replace(" ", "_"):
        fail(f"expected no_application_protocol, got {error}")

for conn in (a, b, c):
    conn.close()
print("ok")
