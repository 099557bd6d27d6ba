"""Exceptions raised by the aggregation rules."""


class AggregationError(ValueError):
    """Raised when updates, weights or knobs cannot be aggregated."""


class UnknownAggregatorError(KeyError):
    """Raised when an aggregator name is not in the registry."""

    def __str__(self) -> str:
        # KeyError would repr() the message; show it as written instead.
        return str(self.args[0]) if self.args else ""
