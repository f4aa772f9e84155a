"""Readers for CelebA's official layout and MTFL's landmark lists."""

from .celeba import CelebA, DataPaths, read_celeba_table
from .mtfl import read_mtfl_list

__all__ = ["CelebA", "DataPaths", "read_celeba_table", "read_mtfl_list"]
