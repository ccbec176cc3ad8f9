"""Keyed hashing of email addresses (HMAC-SHA256), the one place the key is handled.

The key comes from `JOURNEY_METRICS_HASH_KEY`, or from a key file (`JOURNEY_METRICS_KEY_FILE`,
default `~/.config/journey-metrics/hash.key`) that the first run creates. It is never written to the
warehouse, a log or a report; the warehouse keeps only a fingerprint (an HMAC of a constant) so a
run with a different key is refused instead of silently splitting every person in two.

The HMAC itself is computed inside DuckDB (set-based) from the padded key blocks, so raw emails
never leave the query that reads them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from journey_metrics.errors import UsageError

KEY_ENV = "JOURNEY_METRICS_HASH_KEY"
KEY_FILE_ENV = "JOURNEY_METRICS_KEY_FILE"
_BLOCK = 64  # SHA-256 block size in bytes
_FINGERPRINT_MESSAGE = b"journey-metrics key fingerprint v1"
# What "trimmed" strips from an address (CONTRACT §1 Identity), on every engine: ASCII blanks and
# the invisible Unicode spaces a copied address brings along (no-break, ideographic,
# zero-width, word joiner, byte-order mark), so `ann@x.io` followed by a no-break space is the
# same person.
EMAIL_BLANKS = (" \t\r\n\x0b\x0c\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200C)))
                + "\u2028\u2029\u202f\u205f\u2060\u3000\ufeff")


@dataclass(frozen=True)
class HashKey:
    secret: bytes
    origin: str  # where it came from, for messages (never the key itself)
    # An id that holds an address (a messageId `ORDER-7:ann@x.io`) is hashed from its exact
    # text: ids differing in case are different ids, as they are without an address; an id that
    # is an address (a userId `Ann@x.io`) is that address, trimmed and lower-cased (decision
    # 195). False: every such id as an address, what a warehouse or lake written before that
    # decision keeps, so its ids stay the same.
    exact_ids: bool = True

    def __repr__(self) -> str:  # keep the secret out of tracebacks and logs
        return f"HashKey(origin={self.origin!r})"

    @property
    def fingerprint(self) -> str:
        return hmac.new(self.secret, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]

    def hash_email(self, email: str) -> str:
        """Python reference of the SQL macro (for tests and tiny lookups)."""
        normalized = lower_as_duckdb(email.strip(EMAIL_BLANKS)).encode()
        return hmac.new(self.secret, normalized, hashlib.sha256).hexdigest()


# DuckDB lower-cases letter by letter (Unicode's simple mappings); Python's str.lower and Java's
# (Spark's lower) also apply Unicode's special casing: İ becomes i and a combining dot, and a
# word-final Σ becomes ς. These two letters are mapped first, so that every engine lower-cases
# an address, an event name or a trait key alike (ΟΔΥΣΣΕΑΣ@x.gr is one person on both).
LOWER_FIRST = (("\u0130", "i"), ("\u03a3", "\u03c3"))


def lower_as_duckdb(text: str) -> str:
    for letter, lower in LOWER_FIRST:
        text = text.replace(letter, lower)
    return text.lower()


def spark_lower(expression: str) -> str:
    """Spark SQL lower-casing `expression` as DuckDB's lower does (LOWER_FIRST)."""
    for letter, lower in LOWER_FIRST:
        expression = f"replace({expression}, '\\u{ord(letter):04X}', '\\u{ord(lower):04X}')"
    return f"lower({expression})"


# An email address in a file's name (`web/export-ann@x.io.jsonl`): the shape of the SQL's
# jm_email_pattern in Python's Unicode classes, the name's format suffix kept apart
_EMAIL_IN_NAME = re.compile(
    r"[\w.%+'-]+(?:@|%(?:25)*40|&(?:amp;)?(?:#0*64;?|#[xX]0*40;?|commat;))[\w-]+(?:\.[\w-]+)*"
    r"\.[^\W\d_]{2,}")
_FORMAT_SUFFIX = re.compile(r"(\.(?:jsonl|json|csv)(?:\.gz)?)?$", re.IGNORECASE)


def _may_hold_email(text: str) -> bool:
    """Whether a text holds some form of @ the pattern reads (as the SQL's jm_may_hold_email)."""
    return any(form in text for form in ("@", "%40", "2540", "&"))


def without_emails(text: str) -> str:
    """A path the warehouse, the lake, a run's output or a report shows, each address in it
    replaced by `<redacted-email>` (CONTRACT §1 Privacy): a folder named for its owner's account,
    as Google Drive for desktop names its own (`CloudStorage/GoogleDrive-ann@x.io/...`)."""
    if not _may_hold_email(text):
        return text
    return _EMAIL_IN_NAME.sub("<redacted-email>", text)


def pseudonymous_name(name: str, hash_email: Callable[[str], str]) -> str:
    """A file's name as the warehouse, the lake, the logs and the reports keep it (CONTRACT §1
    Privacy): an email address in it becomes `email-` and the first 12 hex digits of a keyed
    hash of the address exactly as written, so names stay distinct (`Mia@x.io.jsonl` and
    `mia@x.io.jsonl` are two files) and the same from run to run. `hash_email`: the key's hash
    (`HashKey.hash_email`, or the warehouse's `jm_email_hash`), given the address's UTF-8 bytes
    in hex: the hash's trimming and lower-casing then change nothing, on either engine."""
    if not _may_hold_email(name):
        return name
    suffix = _FORMAT_SUFFIX.search(name)
    cut = suffix.start() if suffix else len(name)
    stem = _EMAIL_IN_NAME.sub(
        lambda m: "email-" + hash_email(m.group(0).encode().hex())[:12], name[:cut])
    return stem + name[cut:]


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "journey-metrics" / "hash.key"


def load_key(announce: Callable[[str], None] | None = None,
             existing: str | None = None) -> HashKey:
    """The hashing key from the environment or the key file, creating the file on first use.
    `existing`: a warehouse or lake that is already there ("warehouse w.duckdb"), built with
    some key: no new key is made for it (it would be refused, and its file would be left
    behind as if it were the key)."""
    from_env = os.environ.get(KEY_ENV)
    if from_env is not None:
        if len(from_env) < 16:
            raise UsageError(f"{KEY_ENV} is too short: use at least 16 characters")
        return HashKey(from_env.encode(), f"environment variable {KEY_ENV}")
    key_file = Path(os.environ.get(KEY_FILE_ENV) or default_key_file())
    if key_file.exists():
        secret = key_file.read_text(encoding="utf-8").strip()
        if len(secret) < 16:
            raise UsageError(f"hash key file {key_file} is too short: use at least 16 characters")
        return HashKey(secret.encode(), f"key file {key_file}")
    if existing is not None:
        raise UsageError(
            f"no email hashing key: {existing} was built with one; set {KEY_ENV} or"
            f" {KEY_FILE_ENV} to it ({key_file} does not exist)")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    if announce:
        announce(f"created a new email hashing key in {key_file} (keep it: persons depend on it)")
    return HashKey(secret.encode(), f"key file {key_file}")


def install_hash_macro(con: duckdb.DuckDBPyConnection, key: HashKey) -> None:
    """Create the TEMP macro `jm_email_hash(email)` = hex HMAC-SHA256(key, lower(trim(email)))."""
    inner, outer = _padded_blocks(key)
    # Hex digits and character codes only, so composing them into the macro text cannot inject
    # anything. TEMP macros live in the connection, never in the warehouse file.
    blanks = " || ".join(f"chr({ord(c)})" for c in EMAIL_BLANKS)
    con.execute("CREATE OR REPLACE TEMP MACRO jm_normalize_email(txt) AS"
                f" (nullif(lower({_trimmed('txt', f'trim(txt, {blanks})')}), ''))")
    con.execute("CREATE OR REPLACE TEMP MACRO jm_hmac(txt) AS (sha256(from_hex("
                f"'{outer}') || from_hex(sha256(from_hex('{inner}') || encode(txt)))))")
    con.execute(
        "CREATE OR REPLACE TEMP MACRO jm_email_hash(email) AS ("
        "  CASE WHEN jm_normalize_email(email) IS NOT NULL"
        "  THEN jm_hmac(jm_normalize_email(email)) END)"
    )
    # Identifiers that contain an email (a userId that is an address, a messageId built from
    # one) are replaced by 'h:' + the keyed hash of the whole identifier.
    hashed = "jm_email_hash(value)"
    if key.exact_ids:
        hashed = ("CASE WHEN jm_redact(jm_normalize_email(value)) = '<redacted-email>' THEN"
                  f" {hashed} ELSE jm_hmac(value) END")
    con.execute(
        "CREATE OR REPLACE TEMP MACRO jm_pseudonymize(value) AS ("
        f"  CASE WHEN jm_contains_email(value) THEN 'h:' || {hashed} ELSE value END)"
    )


def _trimmed(column: str, trim: str) -> str:
    """`trim` (stripping EMAIL_BLANKS from `column`) only where the text begins or ends with
    something else than printable ASCII: a trim by a set of characters costs ~10x a plain
    comparison (DuckDB: 0.9 s against 0.1 s per 2M addresses), and almost no address needs it."""
    return (f"CASE WHEN ascii({column}) BETWEEN 33 AND 126 AND ascii(right({column}, 1))"
            f" BETWEEN 33 AND 126 THEN {column} ELSE {trim} END")


def _padded_blocks(key: HashKey) -> tuple[str, str]:
    """The HMAC's inner and outer padded key blocks, as hex (RFC 2104)."""
    secret = key.secret if len(key.secret) <= _BLOCK else hashlib.sha256(key.secret).digest()
    block = secret.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in block).hex(), bytes(b ^ 0x5C for b in block).hex()


def spark_hmac_sql(key: HashKey, column: str, *, exact: bool = False) -> str:
    """Spark SQL for hex HMAC-SHA256(key, lower(trim(column))), NULL for a blank or NULL value:
    the same value as DuckDB's `jm_email_hash` and `HashKey.hash_email`; `exact`: as
    `jm_pseudonymize` hashes an id (HashKey.exact_ids): an address as one, any other text as is.

    `column` is an expression the caller controls (a column or parameter name of a SQL
    function); the key enters as hex digits only, so the text cannot inject anything.
    """
    inner, outer = _padded_blocks(key)

    def hmac_of(text: str) -> str:
        return (f"sha2(concat(unhex('{outer}'), unhex(sha2(concat(unhex('{inner}'),"
                f" encode({text}, 'UTF-8')), 256))), 256)")

    blanks = "".join(f"\\u{ord(c):04X}" for c in EMAIL_BLANKS)
    trimmed = _trimmed(column, f"trim(BOTH '{blanks}' FROM {column})")
    if exact:  # an id that is an address, as one (jm_pseudonymize on DuckDB)
        return (f"CASE WHEN jm_redact({trimmed}) = '<redacted-email>'"
                f" THEN {spark_hmac_sql(key, column)} ELSE {hmac_of(column)} END")
    normalized = f"nullif({spark_lower(trimmed)}, '')"
    return f"CASE WHEN {normalized} IS NOT NULL THEN {hmac_of(normalized)} END"
