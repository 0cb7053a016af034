"""Sufficient statistics of one arm of an experiment.

Each arm is reduced to a handful of sums (users, the sum of the metric and of its squares,
and for CUPED the same for the pre-exposure period plus the cross-product; for a ratio the
same of its numerator and of its denominator plus their cross-product), from which the mean
and the per-user variance follow, as gbstats 0.8.0 defines them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = [
    "AdjustedStats",
    "ArmStats",
    "MeanStats",
    "ProportionStats",
    "RatioStats",
    "cuped_pair",
    "ratio_stats",
]


@dataclass(frozen=True)
class ProportionStats:
    """A 0/1 metric: `n` users of whom `sum` converted."""

    n: int
    sum: float

    @property
    def sum_squares(self) -> float:
        """Return the sum of squares, equal to the sum for a 0/1 metric."""
        return self.sum

    @property
    def mean(self) -> float:
        """Return the conversion rate (0 for an empty arm)."""
        return self.sum / self.n if self.n else 0.0

    @property
    def unadjusted_mean(self) -> float:
        """Return the mean, which no adjustment changes here."""
        return self.mean

    @property
    def variance(self) -> float:
        """Return the Bernoulli variance p(1 - p).

        gbstats uses the population form (no n - 1) for proportions.
        """
        p = self.mean
        return p * (1.0 - p)


@dataclass(frozen=True)
class MeanStats:
    """A per-user metric given by its sum and its sum of squares over `n` users."""

    n: int
    sum: float
    sum_squares: float

    @property
    def mean(self) -> float:
        """Return the per-user mean (0 for an empty arm)."""
        return self.sum / self.n if self.n else 0.0

    @property
    def unadjusted_mean(self) -> float:
        """Return the mean, which no adjustment changes here."""
        return self.mean

    @property
    def variance(self) -> float:
        """Return the sample variance with Bessel's correction (0 below two users)."""
        if self.n <= 1:
            return 0.0
        return (self.sum_squares - self.sum**2 / self.n) / (self.n - 1)


BaseStats = ProportionStats | MeanStats


@dataclass(frozen=True)
class AdjustedStats:
    """A metric adjusted by its pre-exposure value (CUPED).

    `post` is the metric during the experiment, `pre` the same metric before exposure,
    `cross_sum` the sum over users of post times pre, and `theta` the regression slope
    shared by the two arms being compared.
    """

    post: BaseStats
    pre: BaseStats
    cross_sum: float
    theta: float = 0.0

    @property
    def n(self) -> int:
        """Return the number of users."""
        return self.post.n

    @property
    def covariance(self) -> float:
        """Return the sample covariance of the post and pre values."""
        n = self.n
        if n <= 1:
            return 0.0
        return (self.cross_sum - self.post.sum * self.pre.sum / n) / (n - 1)

    @property
    def mean(self) -> float:
        """Return the adjusted mean, post mean minus theta times the pre mean."""
        return self.post.mean - self.theta * self.pre.mean

    @property
    def unadjusted_mean(self) -> float:
        """Return the post-period mean, the base of a relative lift."""
        return self.post.mean

    @property
    def variance(self) -> float:
        """Return the per-user variance of post - theta * pre."""
        if self.n <= 1:
            return 0.0
        return (
            self.post.variance
            + self.theta**2 * self.pre.variance
            - 2.0 * self.theta * self.covariance
        )


@dataclass(frozen=True)
class RatioStats:
    """A ratio of two per-user metrics, such as votes per page view (gbstats' RatioStatistic).

    `numerator` and `denominator` are the two metrics over the same `n` users and
    `sum_of_products` the sum over users of numerator times denominator. The arm's value is
    the ratio of the sums; its per-user variance is the delta method's, so that variance / n
    is the variance of that ratio as for a mean.
    """

    n: int
    numerator: MeanStats
    denominator: MeanStats
    sum_of_products: float

    @property
    def mean(self) -> float:
        """Return the numerator's sum over the denominator's (0 if that is 0)."""
        if self.denominator.sum == 0:
            return 0.0
        return self.numerator.sum / self.denominator.sum

    @property
    def unadjusted_mean(self) -> float:
        """Return the ratio, which no adjustment changes here."""
        return self.mean

    @property
    def covariance(self) -> float:
        """Return the sample covariance of the per-user numerator and denominator."""
        n = self.n
        if n <= 1:
            return 0.0
        return (self.sum_of_products - self.numerator.sum * self.denominator.sum / n) / (n - 1)

    @property
    def variance(self) -> float:
        """Return the delta-method per-user variance of the ratio (0 without a denominator).

        With m and d the two means, it is the variance of (numerator - ratio * denominator)
        per user, divided by d²: var_m / d² - 2 cov m / d³ + m² var_d / d⁴.
        """
        d = self.denominator.mean
        if d == 0 or self.n <= 1:
            return 0.0
        m = self.numerator.mean
        return (
            self.numerator.variance / (d * d)
            - 2.0 * self.covariance * m / (d * d * d)
            + m * m * self.denominator.variance / (d * d * d * d)
        )


def ratio_stats(
    *,
    users: int,
    numerator_sum: float,
    numerator_sum_squares: float,
    denominator_sum: float,
    denominator_sum_squares: float,
    numerator_denominator_sum_products: float,
) -> RatioStats:
    """Return the statistics of a ratio arm from the totals an analysis body gives for it."""
    return RatioStats(
        n=users,
        numerator=MeanStats(n=users, sum=numerator_sum, sum_squares=numerator_sum_squares),
        denominator=MeanStats(n=users, sum=denominator_sum, sum_squares=denominator_sum_squares),
        sum_of_products=numerator_denominator_sum_products,
    )


ArmStats = ProportionStats | MeanStats | AdjustedStats | RatioStats


def _pooled(a: BaseStats, b: BaseStats) -> BaseStats:
    n = a.n + b.n
    if isinstance(a, ProportionStats):
        return ProportionStats(n=n, sum=a.sum + b.sum)
    return MeanStats(n=n, sum=a.sum + b.sum, sum_squares=a.sum_squares + b.sum_squares)


def cuped_pair(control: AdjustedStats, variant: AdjustedStats) -> tuple[ArmStats, ArmStats]:
    """Return the two arms with the regression slope of their pooled data set on both.

    The slope is fitted on control and variant together, so each treatment arm gets its
    own, as gbstats fits it per comparison. When the pooled pre- or post-period values do
    not vary, no slope exists and the plain post-period statistics come back instead.
    """
    post = _pooled(control.post, variant.post)
    pre = _pooled(control.pre, variant.pre)
    if pre.variance == 0 or post.variance == 0:
        return control.post, variant.post
    joint = AdjustedStats(post=post, pre=pre, cross_sum=control.cross_sum + variant.cross_sum)
    theta = joint.covariance / pre.variance
    if theta == 0:
        return control.post, variant.post
    return replace(control, theta=theta), replace(variant, theta=theta)
