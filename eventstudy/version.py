"""The package version (recorded in ``run.json`` and checked on Dask workers)."""

__version__ = "0.1.0"
