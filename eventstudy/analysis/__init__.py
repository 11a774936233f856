"""Analyses on the tidy results tables (cross-section regressions of CARs)."""

from eventstudy.analysis.cross_section import COVS, check_formula, cross_section_table

__all__ = ["COVS", "check_formula", "cross_section_table"]
