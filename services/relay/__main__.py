"""python -m services.relay: the telemetry forwarder between publishers and viewers."""
from __future__ import annotations

import sys
from dataclasses import dataclass

from common.bus import CurveOptions, EndpointError, load_curve, require_endpoints
from common.config import fail, option, parse_config, require
from common.processes import stop_on_signals

PROG = "python -m services.relay"


@dataclass
class RelayConfig(CurveOptions):
    in_bind: str = option("tcp://*:5557", "XSUB socket that actors and the learner publish to")
    out_bind: str = option("tcp://*:5558", "XPUB socket that viewers subscribe to")
    log_interval: float = option(30.0, "seconds between counter lines")

    def check(self) -> None:
        require_endpoints(self, "in_bind", "out_bind")
        require(self.log_interval > 0, "--log-interval must be positive")


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(RelayConfig, argv, PROG,
                       "Forward telemetry (frames, episodes, training stats) from actors and "
                       "the learner to any number of viewers.")
    from services.relay.relay import Relay

    try:
        relay = Relay(cfg.in_bind, cfg.out_bind, log_interval=cfg.log_interval,
                      curve=load_curve(cfg, None, server=True))
    except EndpointError as exc:
        return fail(PROG, str(exc))
    stop_on_signals(relay.request_stop)
    try:
        return relay.run()
    finally:
        relay.close()


if __name__ == "__main__":
    sys.exit(main())
