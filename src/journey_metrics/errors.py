"""The two kinds of failure a user sees, each with its exit status (CONTRACT §5)."""


class JourneyMetricsError(Exception):
    """An error the CLI reports as one line, without a traceback."""

    exit_code = 1


class UsageError(JourneyMetricsError):
    """Bad usage or bad configuration: exit status 2."""

    exit_code = 2


class NoSourceFolder(UsageError):
    """An input folder holding none of the sources' folders (most likely the wrong folder)."""


class RunError(JourneyMetricsError):
    """A run that could not complete (locked warehouse, unreadable input folder): exit status 1."""

    exit_code = 1


class WarehouseLocked(RunError):
    """Another process holds the warehouse: transient, so a scheduler may retry (never on bad
    data)."""
