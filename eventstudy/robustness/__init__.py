"""Robustness of a study's findings: placebo dates on the study's own securities and
a grid of alternative models, windows and estimation-window masks.

This layer sits above :mod:`eventstudy.workflows` (it reruns studies) and below the
findings table and the command line.
"""
