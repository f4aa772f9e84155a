"""Readers for CelebA's official layout and MTFL's landmark lists."""

from readers.celeba import CelebA, DataPaths, read_celeba_table
from readers.mtfl import read_mtfl_list

__all__ = ["CelebA", "DataPaths", "read_celeba_table", "read_mtfl_list"]
