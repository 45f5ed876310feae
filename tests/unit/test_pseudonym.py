import datetime as dt
import logging
import os
import stat

import pytest
from chispa import assert_df_equality

from footfall.config import PrivacySection
from footfall.errors import MissingKeyError
from footfall.privacy.pseudonym import (
    broadcast_key,
    ensure_demo_key,
    epoch_key,
    epoch_number,
    hmac_sha256,
    load_master_key,
    normalised_msisdn,
    with_pseudo_id,
)
from footfall.schemas import C

MASTER = bytes(range(32))


# RFC 4231 section 4, HMAC-SHA-256 (case 5 is a truncated output and not applicable).
@pytest.mark.parametrize(
    ("key", "data", "expected"),
    [
        (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (b"Jefe", b"what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (bytes(range(1, 26)), b"\xcd" * 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger than block-size data. "
         b"The key needs to be hashed before being used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ],
)
def test_hmac_matches_rfc4231(key, data, expected):
    assert hmac_sha256(key, data).hex() == expected


def test_epochs_rotate_pseudonyms_and_ids():
    # 2026-03-14 is day 20526 since 1970-01-01: epoch 684 (days 20520..20549) with 30-day epochs
    assert epoch_number(dt.date(2026, 3, 14), 30) == 684
    assert epoch_number(dt.date(2026, 4, 6), 30) == 684  # day 20549
    assert epoch_number(dt.date(2026, 4, 7), 30) == 685  # day 20550
    assert epoch_number(dt.date(2026, 3, 14), 1) == 20526
    same_a = epoch_key(MASTER, dt.date(2026, 3, 14), 30)
    same_b = epoch_key(MASTER, dt.date(2026, 4, 6), 30)
    other = epoch_key(MASTER, dt.date(2026, 4, 7), 30)
    assert same_a == same_b
    assert same_a.pseudonym("4917612345678") == same_b.pseudonym("4917612345678")
    assert same_a.pseudonym("4917612345678") != other.pseudonym("4917612345678")
    assert same_a.key_id.startswith("e684-") and other.key_id.startswith("e685-")
    assert same_a.key_id.split("-")[1] == other.key_id.split("-")[1]  # same master fingerprint
    assert MASTER.hex() not in repr(same_a) and same_a.secret.hex() not in repr(same_a)
    # a different master key gives a different fingerprint
    assert epoch_key(bytes(32), dt.date(2026, 3, 14), 30).key_id != same_a.key_id


def test_key_from_environment_then_file_else_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("FF_TEST_KEY", raising=False)
    key_file = tmp_path / "k.hex"
    privacy = PrivacySection(key_env="FF_TEST_KEY", key_file=str(key_file))
    with pytest.raises(MissingKeyError, match=r"FF_TEST_KEY.*k\.hex.*make run") as err:
        load_master_key(privacy)
    assert "Traceback" not in str(err.value)
    ensure_demo_key(key_file)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    from_file = load_master_key(privacy)
    assert len(from_file) == 32
    ensure_demo_key(key_file)  # an existing key is never replaced
    assert load_master_key(privacy) == from_file
    monkeypatch.setenv("FF_TEST_KEY", MASTER.hex())
    assert load_master_key(privacy) == MASTER
    monkeypatch.setenv("FF_TEST_KEY", "00ff")
    with pytest.raises(MissingKeyError, match="2 bytes, fewer than 32"):
        load_master_key(privacy)


def test_with_pseudo_id_hashes_distinct_normalised_msisdns(spark):
    key = epoch_key(MASTER, dt.date(2026, 3, 14), 30)
    events = spark.createDataFrame(
        [("+49 176 1234", 1), ("004917612 34", 2), ("491761234", 3), ("4915100", 4), (None, 5), ("  ", 6)],
        "msisdn string, n int",
    ).withColumn(C.MSISDN, normalised_msisdn("msisdn"))
    bc = broadcast_key(spark, key)
    try:
        out = events.transform(with_pseudo_id, bc, key.key_id)
        p1, p2 = key.pseudonym("491761234"), key.pseudonym("4915100")
        expected = spark.createDataFrame(
            [(1, p1, key.key_id), (2, p1, key.key_id), (3, p1, key.key_id), (4, p2, key.key_id),
             (5, None, None), (6, None, None)],
            "n int, pseudo_id string, key_id string",
        )
        assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)
    finally:
        bc.destroy()


def test_key_never_in_plan_explain_or_logs(spark, capsys, caplog):
    key = epoch_key(MASTER, dt.date(2026, 3, 14), 30)
    secret_hex = key.secret.hex()
    caplog.set_level(logging.DEBUG)
    bc = broadcast_key(spark, key)
    try:
        out = spark.createDataFrame([("4917600",)], "msisdn string").transform(with_pseudo_id, bc, key.key_id)
        out.explain(mode="extended")
        plan = out._jdf.queryExecution().toString()
        assert out.collect()[0][C.PSEUDO_ID] == key.pseudonym("4917600")
        executed = out._jdf.queryExecution().executedPlan().toString()
    finally:
        bc.destroy()
    printed = capsys.readouterr().out
    assert "MapInPandas" in printed  # the explain output was captured
    for text in (plan, executed, printed, caplog.text):
        assert secret_hex not in text and MASTER.hex() not in text
