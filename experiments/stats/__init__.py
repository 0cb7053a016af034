"""The statistics of experiments, as GrowthBook's gbstats 0.8.0 computes them by default.

Pure functions of the arms' totals: nothing here touches Django or the database, so the
management command, the staff endpoint and the tests call the same code.
"""

from .analysis import MIN_USERS, analyse
from .corrections import holm
from .inputs import AnalysisInputError
from .power import SampleSize, sample_size_binomial, sample_size_mean
from .statistics import RatioStats, ratio_stats

__all__ = [
    "MIN_USERS",
    "AnalysisInputError",
    "RatioStats",
    "SampleSize",
    "analyse",
    "holm",
    "ratio_stats",
    "sample_size_binomial",
    "sample_size_mean",
]
