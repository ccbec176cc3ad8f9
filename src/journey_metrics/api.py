"""The Python API for notebooks: every registered metric as a method returning a polars frame.

    import journey_metrics
    jm = journey_metrics.open("journey.duckdb")
    jm.funnel("aarrr", by="channel")          # the CLI's JSON columns, as a polars DataFrame
    jm.retention("aarrr", start="activation", period="month")
    jm.metrics()                              # what is available

Each call opens the warehouse read-only for that one query and closes it, so a notebook never
blocks the nightly run for longer than one query.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journey_metrics.metrics.registry import get, metrics

if TYPE_CHECKING:
    import polars as pl


class Journey:
    """A warehouse, with one method per registered metric (`jm.<metric>(...)`)."""

    def __init__(self, db: str | Path) -> None:
        self.db = Path(db)

    def metrics(self) -> list[str]:
        return [m.name for m in metrics()]

    def query(self, metric: str, framework: str | None = None, **options: Any) -> pl.DataFrame:
        """Evaluate a metric: options as the CLI's, with underscores (`as_of`, `from_`)."""
        import polars as pl

        from journey_metrics.errors import UsageError
        from journey_metrics.evaluate import evaluate

        spec = get(metric)
        # a blank value is refused, as on the command line: `from_=""` (a notebook's empty
        # widget) would otherwise read as "no bound" and count everything
        for name, value in {"framework": framework, **options}.items():
            if isinstance(value, str) and not value.strip():
                raise UsageError(f"{name} is empty: give a value, or leave {name} out")
        shared = {k: options.pop(k) for k in ("by", "where", "as_of", "tz") if k in options}
        where = shared.get("where") or ()
        result = evaluate(
            spec, self.db, options, framework=framework, by=shared.get("by"),
            where=(where,) if isinstance(where, str) else tuple(where),
            as_of=shared.get("as_of"), tz="UTC" if shared.get("tz") is None else shared["tz"],
        )
        names = [c.name for c in result.columns]
        return pl.DataFrame([{n: row.get(n) for n in names} for row in result.rows],
                            schema=names, orient="row", infer_schema_length=None) \
            if result.rows else pl.DataFrame(schema=names)

    def __getattr__(self, name: str) -> Callable[..., pl.DataFrame]:
        try:
            spec = get(name.replace("_", "-")) if "_" in name else get(name)
        except KeyError:
            try:
                spec = get(name)
            except KeyError:
                raise AttributeError(name) from None

        def call(framework: str | None = None, **options: Any) -> pl.DataFrame:
            return self.query(spec.name, framework, **options)

        call.__doc__ = spec.help
        return call

    def __repr__(self) -> str:
        return f"journey_metrics.open({str(self.db)!r})"


def open(db: str | Path = "journey.duckdb") -> Journey:
    return Journey(db)
