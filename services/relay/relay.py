"""Telemetry relay: XSUB in (actors, learner), XPUB out (viewers).

Stateless: it forwards frames, episodes, stats and history snapshots, and
forwards viewers' subscriptions upstream. Publishers and viewers come and go
independently, so a learner restart never blanks a viewer, and a slow or dead
viewer only loses its own messages (XPUB drops at its HWM, never blocks).
"""
from __future__ import annotations

import time

import zmq

from common import protocol
from common.bus import Curve, bind, make_socket
from common.logs import RejectCounter, setup_logging


class Relay:
    def __init__(self, in_bind: str, out_bind: str, ctx: zmq.Context | None = None,
                 log_interval: float = 30.0, curve: Curve | None = None):
        self.log = setup_logging("relay")
        self.ctx = ctx or zmq.Context.instance()
        self.curve = curve
        if curve is not None:
            curve.start_authenticator(self.ctx)
        # Telemetry messages are small (a JPEG, a stats row, a history snapshot).
        self.inbound = make_socket(self.ctx, zmq.XSUB, rcvhwm=1000, max_msg=4 * 1024 * 1024)
        bind(self.inbound, in_bind, "--in-bind", curve, "telemetry-in")
        # Per viewer: a stopped viewer holds at most 50 messages here (a history
        # snapshot is ~1.4 MB at its 20,000-point cap), then it just misses some.
        self.outbound = make_socket(self.ctx, zmq.XPUB, sndhwm=50)
        bind(self.outbound, out_bind, "--out-bind", curve, "telemetry-out")
        self.in_bind, self.out_bind = in_bind, out_bind
        self.log_interval = log_interval
        self.forwarded = 0
        self.rejected = RejectCounter(self.log)
        self.stopping = False

    def run(self) -> int:
        self.log.info("forwarding %s -> %s", self.in_bind, self.out_bind)
        poller = zmq.Poller()
        poller.register(self.inbound, zmq.POLLIN)
        poller.register(self.outbound, zmq.POLLIN)
        next_log = time.monotonic() + self.log_interval
        while not self.stopping:
            events = dict(poller.poll(200))
            # 1. telemetry downstream: only known telemetry with sane numbers reaches viewers
            if self.inbound in events:
                frames = self.inbound.recv_multipart()
                try:
                    protocol.check_telemetry(protocol.decode(frames))
                except protocol.ProtocolError as exc:
                    self.rejected(exc)
                else:
                    self.outbound.send_multipart(frames, flags=zmq.NOBLOCK)
                    self.forwarded += 1
            # 2. subscriptions upstream, so publishers only send what someone wants
            if self.outbound in events:
                self.inbound.send_multipart(self.outbound.recv_multipart())
            if time.monotonic() >= next_log:
                self.log.info("forwarded %d, rejected %d", self.forwarded, self.rejected.count)
                next_log = time.monotonic() + self.log_interval
        return 0

    def request_stop(self, *_: object) -> None:
        self.stopping = True

    def close(self) -> None:
        self.inbound.close(linger=0)
        self.outbound.close(linger=0)
        if self.curve is not None:
            self.curve.stop()
