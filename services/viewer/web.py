"""The viewer's web page: a live MJPEG stream of the mosaic, on the standard library.

Every client shares one board holding only the newest mosaic, JPEG-encoded at
most once per redraw. A stream sends whatever is newest when it is ready to
send, so a slow browser skips frames: nothing queues per client, and a
client that stops reading times out and frees its thread.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

BOUNDARY = "retrofleetframe"
CLIENT_TIMEOUT = 10.0  # seconds a blocked send may take before the client is dropped

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>retrofleet viewer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { margin: 0; background: #181818; color: #ddd; font: 14px sans-serif; }
 header { padding: 6px 12px; }
 a { color: #8cf; }
 img { display: block; max-width: 100%; margin: 0 auto; }
</style></head>
<body>
<header>retrofleet viewer: live game screens and training charts
 &middot; <a href="/snapshot.jpg">snapshot</a> &middot; <a href="/state.json">state</a></header>
<img id="mosaic" src="/stream.mjpg" alt="live mosaic of the actors' game screens">
</body></html>
"""


class FrameBoard:
    """The newest mosaic and its JPEG, shared by the render loop and all clients."""

    def __init__(self, quality: int = 80):
        self.quality = quality
        self._cond = threading.Condition()
        self._encode_lock = threading.Lock()
        self._image: np.ndarray | None = None
        self._state: dict = {}
        self._version = 0
        self._jpeg: tuple[int, bytes] = (0, b"")
        self.closed = False

    def publish(self, image: np.ndarray, state: dict) -> None:
        with self._cond:
            self._image, self._state = image, state
            self._version += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def state(self) -> dict:
        with self._cond:
            return self._state

    def wait_newer(self, seen: int, timeout: float) -> int:
        """Block until a mosaic newer than ``seen`` exists; return the newest version."""
        with self._cond:
            self._cond.wait_for(lambda: self._version > seen or self.closed, timeout)
            return self._version

    def jpeg(self) -> tuple[int, bytes]:
        """(version, JPEG) of the newest mosaic, encoded once however many ask."""
        with self._encode_lock:
            with self._cond:
                image, version = self._image, self._version
            if image is not None and self._jpeg[0] != version:
                ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
                if ok:
                    self._jpeg = (version, buf.tobytes())
            return self._jpeg


class ViewerHandler(BaseHTTPRequestHandler):
    server: "ViewerWebServer"
    timeout = CLIENT_TIMEOUT  # socket timeout: a stalled client cannot hold a thread
    protocol_version = "HTTP/1.0"  # one request per connection; the stream ends on close

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", PAGE.encode())
        elif path == "/stream.mjpg":
            self._stream()
        elif path == "/snapshot.jpg":
            _, jpeg = self.server.board.jpeg()
            if jpeg:
                self._send(200, "image/jpeg", jpeg)
            else:
                self._send(503, "text/plain", b"no mosaic yet\n")
        elif path == "/state.json":
            self._send(200, "application/json", json.dumps(self.server.board.state()).encode())
        else:
            self._send(404, "text/plain", b"not found\n")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _stream(self) -> None:
        if not self.server.acquire_stream():
            self._send(503, "text/plain", b"too many viewers, try again later\n")
            return
        board = self.server.board
        try:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = 0
            while not board.closed:
                if board.wait_newer(seen, timeout=1.0) == seen:
                    continue
                seen, jpeg = board.jpeg()
                if not jpeg:
                    continue
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                 f"Content-Length: {len(jpeg)}\r\n\r\n".encode())
                self.wfile.write(jpeg)
                self.wfile.write(b"\r\n")
                self.wfile.flush()
        except (OSError, ValueError):
            pass  # the browser went away or stopped reading
        finally:
            self.server.release_stream()

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would drown the viewer's status lines


class ViewerWebServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, bind: str, port: int, board: FrameBoard, max_streams: int):
        super().__init__((bind, port), ViewerHandler)
        self.board = board
        self.max_streams = max_streams
        self._streams = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, name="web", daemon=True)

    @property
    def streams(self) -> int:
        return self._streams

    def acquire_stream(self) -> bool:
        with self._lock:
            if self._streams >= self.max_streams:
                return False
            self._streams += 1
            return True

    def release_stream(self) -> None:
        with self._lock:
            self._streams -= 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.board.close()
        if self._thread.is_alive():
            self.shutdown()
        self.server_close()
