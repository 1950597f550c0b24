"""Evaluate a trained checkpoint against random play (``python -m services.evaluate``).

The background helpers are what the learner imports (they pull in no torch).
"""
from services.evaluate.background import (
                                          metrics_fields,
                                          read_evaluation,
                                          start_background_evaluation,
                                          stop_background_evaluation,
)

__all__ = ["metrics_fields", "read_evaluation", "start_background_evaluation",
           "stop_background_evaluation"]
