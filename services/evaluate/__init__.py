"""Evaluate a trained checkpoint against random play (``python -m services.evaluate``).

The learner runs it as a command during training; that contract lives in
common/evaluation.py.
"""
