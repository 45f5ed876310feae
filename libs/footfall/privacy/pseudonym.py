"""Keyed pseudonyms: HMAC-SHA256 with a secret master key and per-epoch derived keys.

The master key (hex, at least 32 bytes) comes from the environment variable named by
`privacy.key_env`, else from the file `privacy.key_file`; never from a config file. Keys rotate
per epoch: epoch n = (days since Monday 1969-12-29 of the processing date) //
`privacy.key_epoch_days`, a multiple of 7, so an epoch is a run of whole ISO weeks (Monday to
Sunday) and a week's subscribers carry one pseudonym each all week; the epoch key is
HMAC(master, "footfall-epoch-key:<n>"), so the same subscriber gets unrelated pseudonyms in two
epochs and the master key never leaves the driver.

In Spark the pseudonym is computed once per DISTINCT msisdn with `mapInPandas`, the epoch key
travelling in a broadcast variable: a query plan or a log shows the broadcast's id, never the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pyspark import Broadcast
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from footfall.config import PrivacySection
from footfall.errors import MissingKeyError
from footfall.schemas import C

MIN_KEY_BYTES = 32
_EPOCH_LABEL = b"footfall-epoch-key:"
_FINGERPRINT_LABEL = b"footfall-key-fingerprint"
# The Monday that starts the ISO week of 1970-01-01 (a Thursday): epochs of whole weeks count from it.
_EPOCH_ORIGIN = dt.date(1969, 12, 29)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


@dataclass(frozen=True)
class EpochKey:
    """The key of one epoch; `repr` never shows the secret."""

    key_id: str
    secret: bytes = field(repr=False)

    def pseudonym(self, msisdn: str) -> str:
        """Pseudonym of an already normalised msisdn (see `normalised_msisdn`)."""
        return hmac.new(self.secret, msisdn.encode(), hashlib.sha256).hexdigest()


def _parse_key(text: str, origin: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise MissingKeyError(f"the pseudonymisation key in {origin} is not hex: store it as hex digits") from None
    if len(key) < MIN_KEY_BYTES:
        raise MissingKeyError(
            f"the pseudonymisation key in {origin} has {len(key)} bytes, fewer than {MIN_KEY_BYTES}: "
            f"generate one with `python -c 'import secrets; print(secrets.token_hex({MIN_KEY_BYTES}))'`"
        )
    return key


def load_master_key(privacy: PrivacySection) -> bytes:
    """The master key from the environment variable, else the key file; MissingKeyError if neither."""
    value = os.environ.get(privacy.key_env)
    if value:
        return _parse_key(value, f"the environment variable {privacy.key_env}")
    if privacy.key_file:
        path = Path(privacy.key_file)
        if path.is_file():
            return _parse_key(path.read_text(), f"the key file {path}")
    where = f" or the key file {privacy.key_file} (missing)" if privacy.key_file else ""
    raise MissingKeyError(
        f"no pseudonymisation key: set the environment variable {privacy.key_env}{where} to "
        f"{MIN_KEY_BYTES}+ random bytes in hex, or set privacy.key_file to a file holding them "
        "(`make run` creates a demo key in .data/demo.key)"
    )


def epoch_number(day: dt.date, epoch_days: int) -> int:
    """The key epoch of `day`; epochs of `epoch_days` (a multiple of 7) days start on Mondays."""
    return (day - _EPOCH_ORIGIN).days // epoch_days


def epoch_key(master: bytes, day: dt.date, epoch_days: int) -> EpochKey:
    """The key of the epoch containing `day`, with an id naming the epoch and the master key's fingerprint."""
    n = epoch_number(day, epoch_days)
    fingerprint = hmac_sha256(master, _FINGERPRINT_LABEL).hex()[:8]
    return EpochKey(f"e{n}-{fingerprint}", hmac_sha256(master, _EPOCH_LABEL + str(n).encode()))


def key_for(privacy: PrivacySection, day: dt.date) -> EpochKey:
    return epoch_key(load_master_key(privacy), day, privacy.key_epoch_days)


def ensure_demo_key(path: str | Path) -> Path:
    """Create a random demo key file (hex, mode 600) unless one exists. For `make run` only."""
    target = Path(path)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL + mode 600 at creation: the key is never readable by others, not even briefly.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")
    return target


def normalised_msisdn(column: Column) -> Column:
    """Digits only as delivered by the CRM and the network: no spaces, no '+' or '00' prefix.

    An empty result becomes NULL (a missing msisdn).
    """
    digits = F.regexp_replace(F.regexp_replace(column, r"\s+", ""), r"^(\+|00)", "")
    return F.when(digits != "", digits)


def broadcast_key(spark: SparkSession, key: EpochKey) -> Broadcast[bytes]:
    """Ship the epoch key to executors; the caller destroys it when the job's writes are done."""
    return spark.sparkContext.broadcast(key.secret)


def pseudonym_map(msisdns: DataFrame, key: Broadcast[bytes], key_id: str) -> DataFrame:
    """DISTINCT normalised msisdns -> (msisdn, pseudo_id, key_id), hashed in Python once per msisdn."""

    def hash_batches(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        secret = key.value
        for batch in batches:
            ids = batch[C.MSISDN]
            yield pd.DataFrame({
                C.MSISDN: ids,
                C.PSEUDO_ID: [hmac.new(secret, m.encode(), hashlib.sha256).hexdigest() for m in ids],
                C.KEY_ID: key_id,
            })

    schema = f"{C.MSISDN} string, {C.PSEUDO_ID} string, {C.KEY_ID} string"
    return (
        msisdns.select(C.MSISDN).where(F.col(C.MSISDN).isNotNull()).distinct()
        .mapInPandas(hash_batches, schema)
    )


def with_pseudo_id(df: DataFrame, key: Broadcast[bytes], key_id: str) -> DataFrame:
    """Add pseudo_id and key_id for the normalised `msisdn` column and drop the raw msisdn.

    Rows without an msisdn get NULL pseudo_id and key_id.
    """
    mapping = pseudonym_map(df, key, key_id)
    # The map has one row per distinct subscriber of the input, which can be millions: no
    # explicit broadcast; adaptive execution broadcasts it at run time when it is small.
    return (
        df.alias("d")
        .join(mapping.alias("p"), F.col(f"d.{C.MSISDN}") == F.col(f"p.{C.MSISDN}"), how="left")
        .select("d.*", f"p.{C.PSEUDO_ID}", f"p.{C.KEY_ID}")
        .drop(C.MSISDN)
    )
