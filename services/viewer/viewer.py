"""The viewer process: subscribe to the relay, keep the newest state, redraw, output."""
from __future__ import annotations

import json
import time

import cv2
import zmq

from common import protocol
from common.bus import connect, load_curve, make_socket
from common.logs import RejectCounter, setup_logging
from services.viewer.config import ViewerConfig
from services.viewer.mosaic import MosaicRenderer
from services.viewer.outputs import OutputError, Recorder, Window
from services.viewer.state import TelemetryState
from services.viewer.web import FrameBoard, ViewerWebServer

# Frames are many and disposable: a tiny queue, and only the newest per actor is
# kept. Chart events are few, so they get their own socket and a roomier queue
# that a frame flood cannot push them out of. Both bound this process's memory:
# when a queue is full the relay drops for this viewer alone.
FRAME_HWM = 16
EVENT_HWM = 64
DRAIN_LIMIT = 1000  # messages per socket per wake-up, so redraws still happen


class SnapshotTimeout(RuntimeError):
    pass


class Viewer:
    def __init__(self, cfg: ViewerConfig, ctx: zmq.Context | None = None):
        self.cfg = cfg
        self.log = setup_logging("viewer")
        self.ctx = ctx or zmq.Context.instance()
        self.frames = make_socket(self.ctx, zmq.SUB, rcvhwm=FRAME_HWM)
        self.frames.setsockopt(zmq.SUBSCRIBE, protocol.TOPIC_FRAME)
        self.events = make_socket(self.ctx, zmq.SUB, rcvhwm=EVENT_HWM)
        for topic in (protocol.TOPIC_EPISODE, protocol.TOPIC_STATS, protocol.TOPIC_HISTORY):
            self.events.setsockopt(zmq.SUBSCRIBE, topic)
        self.window = self.recorder = self.web = None
        try:
            curve = load_curve(cfg, "viewer", server=False)
            connect(self.frames, cfg.relay_endpoint, "--relay-endpoint", curve)
            connect(self.events, cfg.relay_endpoint, "--relay-endpoint", curve)
            self._open_outputs()
        except Exception:
            self.close()
            raise

        self.state = TelemetryState()
        self.renderer = MosaicRenderer(cfg.relay_endpoint, cfg.stale_after, cfg.max_tiles)
        self.rejected = RejectCounter(self.log)
        self.stopping = False

    def _open_outputs(self) -> None:
        cfg = self.cfg
        if cfg.window:
            self.window = Window()
        if cfg.record:
            self.recorder = Recorder(cfg.record, cfg.fps)
        if cfg.web_port:
            try:
                self.web = ViewerWebServer(cfg.web_bind, cfg.web_port, FrameBoard(),
                                           cfg.web_max_clients)
            except OSError as exc:
                raise OutputError(f"cannot serve the web page on {cfg.web_bind}:{cfg.web_port}: "
                                  f"{exc.strerror or exc} (pick another --web-port, or 0 for "
                                  "none)") from None
            self.web.start()

    # --- input ---------------------------------------------------------------

    def drain(self, sock: zmq.Socket) -> None:
        """Take everything queued; bad messages are counted and dropped."""
        now = time.monotonic()
        for _ in range(DRAIN_LIMIT):
            try:
                frames = sock.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                msg = protocol.decode(frames)
                protocol.check_telemetry(msg)  # NaN figures or forged counters: not drawn
            except protocol.ProtocolError as exc:
                self.rejected(exc)
                continue
            self.state.on_message(msg, now)

    # --- main loop -----------------------------------------------------------

    def run(self) -> int:
        cfg = self.cfg
        self.log.info("watching %s%s", cfg.relay_endpoint,
                      f", web page on http://{cfg.web_bind}:{self.web.server_address[1]}/"
                      if self.web else "")
        poller = zmq.Poller()
        poller.register(self.frames, zmq.POLLIN)
        poller.register(self.events, zmq.POLLIN)
        started = next_render = time.monotonic()
        next_log = started + cfg.log_interval
        while not self.stopping:
            # 1. take in telemetry until the next redraw is due
            wait_ms = max(0, int((next_render - time.monotonic()) * 1000))
            for sock, _ in poller.poll(wait_ms):
                self.drain(sock)
            now = time.monotonic()
            if now < next_render:
                continue
            next_render = max(next_render + 1.0 / cfg.fps, now)

            # 2. redraw from the newest state
            self.state.sample_fleet_speed(now)
            self.state.forget(now, cfg.forget_after)
            image = self.renderer.render(self.state, now, self.rejected.count)

            # 3. hand the image to every output
            if self.web:
                self.web.board.publish(image, self.renderer.sidecar(self.state, now,
                                                                     self.rejected.count))
            if self.window:
                self.window.show(image)
                if self.window.closed:
                    break
            if self.recorder:
                self.recorder.write(image)

            # 4. one-shot snapshot, time limit, status line
            elapsed = now - started
            if cfg.snapshot:
                live = sum(1 for _, is_live in self.renderer.shown if is_live)
                if live >= cfg.min_tiles and elapsed >= cfg.snapshot_wait:
                    self.write_snapshot(image, now)
                    return 0
                if elapsed >= cfg.timeout:
                    raise SnapshotTimeout(
                        f"only {live} of --min-tiles {cfg.min_tiles} tiles live after "
                        f"{cfg.timeout:g}s (is the relay at {cfg.relay_endpoint} and are "
                        "actors publishing frames?)")
            if cfg.duration and elapsed >= cfg.duration:
                break
            if now >= next_log:
                self.log_status(now)
                next_log = now + cfg.log_interval
        return 0

    def write_snapshot(self, image, now: float) -> None:
        if not cv2.imwrite(self.cfg.snapshot, image):
            raise OutputError(f"cannot write --snapshot {self.cfg.snapshot!r}")
        with open(self.cfg.snapshot + ".json", "w") as f:
            json.dump(self.renderer.sidecar(self.state, now, self.rejected.count), f, indent=1)
        self.log.info("wrote %s (%dx%d) and %s.json", self.cfg.snapshot, image.shape[1],
                      image.shape[0], self.cfg.snapshot)

    def log_status(self, now: float) -> None:
        live = sum(1 for _, is_live in self.renderer.shown if is_live)
        r = self.state.received
        self.log.info("tiles %d live of %d  received frames %d episodes %d stats %d history %d"
                      "  bad %d%s", live, len(self.state.tiles), r["frame"], r["episode"],
                      r["stats"], r["history"], self.rejected.count,
                      f"  web streams {self.web.streams}" if self.web else "")

    def request_stop(self, *_: object) -> None:
        self.stopping = True

    def close(self) -> None:
        for sock in (self.frames, self.events):
            sock.close(linger=0)
        if self.web:
            self.web.stop()
        if self.recorder:
            self.recorder.close()
            self.log.info("recorded %d frames to %s", self.recorder.frames, self.cfg.record)
        if self.window:
            self.window.close()
