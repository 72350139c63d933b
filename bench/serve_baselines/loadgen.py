"""A cheap closed-loop HTTP/1.1 load generator, run in its own process by bench/serve.py.

    python loadgen.py --port 8080 --request req.bin --concurrency 16 --warmup 1 --seconds 8 --out run.npz
    python loadgen.py ... --requests 1000000 --progress          # count mode (the soak)

``--request`` holds one complete pre-encoded request (request line, headers, body), sent again and
again on ``--concurrency`` connections; each connection sends its next request as soon as the last
answer is complete (closed loop). Answers are parsed only as far as needed: status, then
Content-Length (or a chunked body's end) and ``Connection: close`` (gunicorn's sync workers close
after every answer; the connection is then opened again and the connect time counts in the
latency). asyncio protocols on uvloop, no per-request coroutine, no garbage collector.

Writes ``start`` (s since the measurement began), ``latency`` (s) and ``status`` (0 = connection
failure) of every measured request, in completion order, to ``--out`` (.npz), and prints one JSON
line: requests, seconds, the generator's own CPU seconds, errors. Requests started during the
warm-up are not recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import socket
import sys
import time
from typing import Any

import numpy as np

perf = time.perf_counter


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Generator:
    def __init__(self, args: argparse.Namespace, request: bytes) -> None:
        self.host, self.port = args.host, args.port
        self.request = request
        self.concurrency = args.concurrency
        self.count_mode = args.requests is not None
        self.limit = args.requests if self.count_mode else 0
        capacity = args.requests if self.count_mode else int(max(args.seconds, 1) * 150_000)
        self.start = np.zeros(capacity, np.float64)
        self.latency = np.zeros(capacity, np.float64)
        self.status = np.zeros(capacity, np.int16)
        self.version = np.full(capacity, -1, np.int32) if args.parse_version else None
        self.capacity = capacity
        self.n = 0  # recorded
        self.issued = 0  # measured requests sent (count mode)
        self.errors = 0
        self.t_measure = perf() + args.warmup
        self.t_end = self.t_measure + args.seconds if not self.count_mode else float("inf")
        self.active = 0
        self.loop = asyncio.get_running_loop()
        self.finished: asyncio.Future[None] = self.loop.create_future()

    # -- one request slot per connection ------------------------------------------------

    def next_start(self, now: float) -> bool:
        """May a slot send another request at ``now``? Counts it in count mode."""
        if now < self.t_measure:
            return True
        if self.count_mode:
            if self.issued >= self.limit:
                return False
            self.issued += 1
            return True
        return now < self.t_end and self.n < self.capacity

    def record(self, t0: float, t1: float, status: int, payload: bytes | None) -> None:
        if t0 < self.t_measure or self.n >= self.capacity:
            return
        i = self.n
        self.start[i] = t0 - self.t_measure
        self.latency[i] = t1 - t0
        self.status[i] = status
        if self.version is not None and payload is not None and status == 200:
            at = payload.find(b'"version":')
            if at >= 0:
                tail = payload[at + 10 : at + 30]
                digits = tail.split(b",")[0].split(b"}")[0].strip()
                if digits.isdigit():
                    self.version[i] = int(digits)
        self.n = i + 1
        if status != 200:
            self.errors += 1

    def slot_done(self) -> None:
        self.active -= 1
        if self.active == 0 and not self.finished.done():
            self.finished.set_result(None)

    def connect(self, t0: float) -> None:
        async def go() -> None:
            try:
                await self.loop.create_connection(lambda: Client(self, t0), self.host, self.port)
            except OSError:
                now = perf()
                self.record(t0, now, 0, None)
                await asyncio.sleep(0.01)
                if self.next_start(perf()):
                    self.connect(perf())
                else:
                    self.slot_done()

        self.loop.create_task(go())


class Client(asyncio.Protocol):
    __slots__ = ("buf", "close_after", "gen", "head_end", "in_flight", "need", "status", "t0", "transport")

    def __init__(self, gen: Generator, t0: float) -> None:
        self.gen = gen
        self.t0 = t0
        self.buf = bytearray()
        self.need = -1  # bytes of the whole answer; -1: head not read yet, -2: chunked
        self.head_end = 0
        self.close_after = False
        self.status = 0
        self.in_flight = False
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.in_flight = True
        transport.write(self.gen.request)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if self.need == -1:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            self.status = int(head[9:12])
            self.head_end = end + 4
            self.close_after = b"connection: close" in head or head.startswith(b"http/1.0")
            at = head.find(b"content-length:")
            if at >= 0:
                eol = head.find(b"\r\n", at)
                self.need = self.head_end + int(head[at + 15 : eol if eol >= 0 else end])
            elif b"transfer-encoding: chunked" in head:
                self.need = -2
            else:
                self.need = self.head_end  # no body (a 204 or the like)
        if self.need == -2:
            if not buf.endswith(b"0\r\n\r\n"):
                return
            size = len(buf)
        else:
            size = self.need
            if len(buf) < size:
                return
        t1 = perf()
        gen = self.gen
        gen.record(self.t0, t1, self.status, bytes(buf[self.head_end : size]) if gen.version is not None else None)
        del buf[:size]
        self.need = -1
        self.in_flight = False
        if not gen.next_start(t1):
            self.transport.close()
            gen.slot_done()
            return
        if self.close_after:
            self.transport.close()
            gen.connect(t1)
            return
        self.t0 = t1
        self.in_flight = True
        self.transport.write(gen.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.in_flight:
            return
        self.in_flight = False
        gen = self.gen
        now = perf()
        gen.record(self.t0, now, 0, None)
        if gen.next_start(now):
            gen.connect(now)
        else:
            gen.slot_done()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with open(args.request, "rb") as f:
        request = f.read()
    gen = Generator(args, request)
    gen.active = args.concurrency
    for _ in range(args.concurrency):
        gen.next_start(perf())
        gen.connect(perf())

    async def progress() -> None:
        while True:
            await asyncio.sleep(args.progress)
            print(f"progress {gen.n}", flush=True)

    ticker = asyncio.ensure_future(progress()) if args.progress else None
    await asyncio.sleep(max(0.0, gen.t_measure - perf()))
    cpu0, t0 = _cpu(), perf()
    await gen.finished
    elapsed, cpu = perf() - t0, _cpu() - cpu0
    if ticker is not None:
        ticker.cancel()
    n = gen.n
    arrays = {"start": gen.start[:n], "latency": gen.latency[:n], "status": gen.status[:n]}
    if gen.version is not None:
        arrays["version"] = gen.version[:n]
    np.savez(args.out, **arrays)
    return {"requests": n, "seconds": elapsed, "cpu_seconds": cpu, "errors": gen.errors, "t_measure": gen.t_measure}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--request", required=True, help="file holding one complete HTTP request")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--requests", type=int, default=None, help="count mode: stop after this many")
    parser.add_argument("--parse-version", action="store_true", help='record the answer\'s "version": N')
    parser.add_argument("--progress", type=float, default=0.0, help="print 'progress N' this often (s)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    gc.disable()
    try:
        import uvloop

        result = uvloop.run(run(args))
    except ImportError:
        result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
