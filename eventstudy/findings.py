"""The findings table of a study: its main reactions with robust and placebo p-values.
"""
