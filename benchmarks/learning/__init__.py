"""Learning curves of retrofleet, its one-process reference and stable-baselines3."""
