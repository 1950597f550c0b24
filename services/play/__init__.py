"""Watch a trained checkpoint play, with no learner (``python -m services.play``)."""
