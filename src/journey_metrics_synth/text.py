"""Text building blocks: identifiers from numbers, and JSON/CSV fragments as polars expressions.

JSON is assembled with string expressions; values never need escaping (all generated text is plain
ASCII without quotes or backslashes).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from journey_metrics_synth.rand import U64, Arr

B32 = np.frombuffer(b"0123456789abcdefghjkmnpqrstvwxyz", dtype=np.uint8)
B32_UPPER = np.frombuffer(b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ", dtype=np.uint8)
B64 = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


# --- identifiers -----------------------------------------------------------------------------


def digits(x: Arr, alphabet: Arr, n: int, bits: int) -> Arr:
    """(len, n) ASCII codes of the low n*bits bits of x, most significant digit first."""
    shifts = np.arange(n - 1, -1, -1, dtype=np.uint64) * U64(bits)
    idx = (x.astype(np.uint64)[:, None] >> shifts) & U64((1 << bits) - 1)
    out: Arr = alphabet[idx.astype(np.intp)]
    return out


def strings(chars: Arr) -> pl.Series:
    """One string per row of a (len, width) array of ASCII codes."""
    chars = np.ascontiguousarray(chars, dtype=np.uint8)
    width = chars.shape[1]
    raw = chars.view(f"S{width}").ravel()
    return pl.Series(raw, dtype=pl.Binary).cast(pl.String)


def prefixed(prefix: bytes, code: Arr) -> pl.Series:
    """`prefix` followed by each row of ASCII codes (e.g. usr_ + 8 base-32 digits)."""
    head = np.tile(np.frombuffer(prefix, dtype=np.uint8), (len(code), 1))
    return strings(np.concatenate([head, code], axis=1))


def uuid(hi: Arr, lo: Arr) -> pl.Series:
    """Version-4-shaped UUID text from two 64-bit halves."""
    a = digits(hi, HEX, 16, 4)
    b = digits(lo, HEX, 16, 4)
    out = np.full((len(hi), 36), ord("-"), dtype=np.uint8)
    out[:, 0:8] = a[:, 0:8]
    out[:, 9:13] = a[:, 8:12]
    out[:, 14] = ord("4")
    out[:, 15:18] = a[:, 13:16]
    out[:, 19] = HEX[8 + (lo >> U64(62)).astype(np.intp)]
    out[:, 20:23] = b[:, 1:4]
    out[:, 24:36] = b[:, 4:16]
    return strings(out)


def b64(x: Arr, y: Arr) -> pl.Series:
    """22 URL-safe base-64 characters from two 64-bit numbers."""
    return strings(np.concatenate([digits(x, B64, 11, 6), digits(y, B64, 11, 6)], axis=1))


def scramble40(x: Arr, c: int) -> Arr:
    """Bijection on [0, 2**40): distinct ordinals give distinct codes."""
    mask = U64((1 << 40) - 1)
    return ((x.astype(np.uint64) * U64(0x5DEECE66D)) + U64(c & 0xFF_FFFF_FFFF)) & mask


# --- JSON fragments ---------------------------------------------------------------------------


def kv(key: str, value: pl.Expr) -> pl.Expr:
    """`"key":"value"`"""
    return pl.concat_str([pl.lit(f'"{key}":"'), value, pl.lit('"')])


def kn(key: str, raw: pl.Expr) -> pl.Expr:
    """`"key":raw` (a number, object or array written as is)."""
    return pl.concat_str([pl.lit(f'"{key}":'), raw])


def obj(parts: list[pl.Expr]) -> pl.Expr:
    """A JSON object of the non-null parts."""
    inner = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.concat_str([pl.lit("{"), inner, pl.lit("}")])


def money(cents: pl.Expr) -> pl.Expr:
    """Cents as a decimal amount: 12999 -> 129.99."""
    return pl.concat_str(
        [(cents // 100).cast(pl.String), pl.lit("."), (cents % 100).cast(pl.String).str.zfill(2)]
    )


def iso(ms: pl.Expr, millis: bool = True, suffix: str = "Z") -> pl.Expr:
    """Epoch milliseconds as ISO 8601 text."""
    fmt = "%Y-%m-%dT%H:%M:%S%.3f" if millis else "%Y-%m-%dT%H:%M:%S"
    return pl.from_epoch(ms, time_unit="ms").dt.strftime(fmt + suffix)
