#!/usr/bin/env python3
# The user-space wire of the simulated network, for kernels without netem (sch_netem): one tun
# device per host (moved into the host's namespace by network.ts), and this router in between,
# which hands every IPv4 packet to the tun of its destination after a fixed one-way delay, the
# way `tc qdisc add dev eth0 root netem delay <d>ms` on each host's link would.
#
#   wire.py <tun name>=<IPv4 address> ...     prints "ready" once the devices exist
#   stdin:  "delay <ms>" | "cut <ip>" | "heal <ip>"   (answers "ok" per line; EOF ends it)
#
# A cut host's packets (to or from it) are dropped silently, like a cable pulled at the switch.
import collections
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import time

# Ctrl-C reaches the whole process group: the parent tears the network down and ends this by EOF.
signal.signal(signal.SIGINT, signal.SIG_IGN)

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

tun_of = {}  # destination address (4 bytes) -> tun fd
tuns = []
for spec in sys.argv[1:]:
    name, address = spec.split("=")
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    tun_of[socket.inet_aton(address)] = fd
    tuns.append(fd)

delay = 0.0
cut = set()
in_flight = collections.deque()  # (due, fd, packet); one delay for all, so due times stay in order
stdin = sys.stdin.fileno()
os.set_blocking(stdin, False)
commands = b""
print("ready", flush=True)


def send(fd, packet):
    try:
        os.write(fd, packet)
    except OSError:
        pass  # a full or vanished device drops the packet, as a wire would


while True:
    timeout = None
    if in_flight:
        timeout = max(0.0, in_flight[0][0] - time.monotonic())
    # select() waits with microsecond precision (poll/epoll round up to milliseconds).
    readable, _, _ = select.select(tuns + [stdin], [], [], timeout)
    for fd in readable:
        if fd == stdin:
            chunk = os.read(stdin, 4096)
            if not chunk:
                sys.exit(0)
            commands += chunk
            while b"\n" in commands:
                line, commands = commands.split(b"\n", 1)
                word, _, arg = line.decode().strip().partition(" ")
                if word == "delay":
                    delay = float(arg) / 1000
                elif word == "cut":
                    cut.add(socket.inet_aton(arg))
                elif word == "heal":
                    cut.discard(socket.inet_aton(arg))
                print("ok", flush=True)
            continue
        for _ in range(256):
            try:
                packet = os.read(fd, 65535)
            except BlockingIOError:
                break
            if len(packet) < 20 or packet[0] >> 4 != 4:
                continue  # IPv4 only (the namespaces have IPv6 off)
            source, destination = packet[12:16], packet[16:20]
            if source in cut or destination in cut:
                continue
            out = tun_of.get(destination)
            if out is None:
                continue
            if delay > 0 or in_flight:  # behind packets still in flight, never before them
                in_flight.append((time.monotonic() + delay, out, packet))
            else:
                send(out, packet)
    now = time.monotonic()
    while in_flight and in_flight[0][0] <= now:
        _, out, packet = in_flight.popleft()
        send(out, packet)
