"""What the notifications metrics answer: frozen dataclasses of volume, funnels, timings and
errors, and the share a funnel's rates are. Pure Python."""

import datetime as dt
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class DayVolume:
    day: dt.date
    notifications: int
    deliveries: int
    by_channel: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class Funnel:
    deliveries: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    bounced: int = 0
    skipped: int = 0
    pending: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    dismissed: int = 0

    @property
    def label(self) -> str:
        return "all"

    @property
    def delivery_rate(self) -> float | None:
        return ratio(self.delivered, self.sent)

    @property
    def open_rate(self) -> float | None:
        return ratio(self.opened, self.delivered)

    @property
    def click_rate(self) -> float | None:
        return ratio(self.clicked, self.delivered)

    @property
    def conversion_rate(self) -> float | None:
        return ratio(self.converted, self.clicked)


COUNTS = tuple(field.name for field in fields(Funnel))


@dataclass(frozen=True, kw_only=True)
class ChannelFunnel(Funnel):
    channel: str

    @property
    def label(self) -> str:
        return self.channel


@dataclass(frozen=True, kw_only=True)
class CategoryFunnel(Funnel):
    category: str

    @property
    def label(self) -> str:
        return self.category


@dataclass(frozen=True, kw_only=True)
class TemplateFunnel(Funnel):
    category: str
    template_version: str  # a version number, or "default" for the built-in words

    @property
    def label(self) -> str:
        return f"{self.category} · {self.template_version}"


@dataclass(frozen=True)
class ChannelTimings:
    channel: str
    latency_p50_ms: float | None
    latency_p90_ms: float | None
    latency_p99_ms: float | None
    render_p50_ms: float | None
    render_p99_ms: float | None
    open_median_s: float | None
    click_median_s: float | None


@dataclass(frozen=True)
class ResponseCount:
    text: str
    count: int


@dataclass(frozen=True)
class ProviderErrors:
    provider: str
    failed: int
    bounced: int
    top_responses: tuple[ResponseCount, ...]

    @property
    def total(self) -> int:
        return self.failed + self.bounced


@dataclass(frozen=True)
class DeliveryMetrics:
    date_from: dt.date
    date_to: dt.date
    channel: str | None
    category: str | None
    totals: Funnel
    volume: tuple[DayVolume, ...]
    by_channel: tuple[ChannelFunnel, ...]
    by_category: tuple[CategoryFunnel, ...]
    by_template: tuple[TemplateFunnel, ...]
    timings: tuple[ChannelTimings, ...]
    errors: tuple[ProviderErrors, ...]


@dataclass(frozen=True, kw_only=True)
class DeliveryTotals(Funnel):
    """Totals of one group of delivery_totals: `key` holds its `by` values (and "bucket",
    the bucket's start, when asked per bucket); latency percentiles in milliseconds."""

    key: dict
    latency_p50_ms: float | None = None
    latency_p90_ms: float | None = None
    latency_p99_ms: float | None = None

    @property
    def failure_rate(self) -> float | None:
        """Failed and bounced among those that ended: sent, failed or bounced."""
        return ratio(self.failed + self.bounced, self.sent + self.failed + self.bounced)


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
