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
    # Saturday 2026-03-14 is day 20526 since 1970-01-01, day 20529 since Monday 1969-12-29: with
    # 28-day epochs epoch 733 (days 20524..20551 since the Monday: 2026-03-09 to 2026-04-05, four
    # whole ISO weeks, weeks 11 to 14)
    assert epoch_number(dt.date(2026, 3, 14), 28) == 733
    assert epoch_number(dt.date(2026, 3, 9), 28) == 733  # the Monday that starts it
    assert epoch_number(dt.date(2026, 3, 8), 28) == 732  # the Sunday before
    assert epoch_number(dt.date(2026, 4, 5), 28) == 733  # its last Sunday
    assert epoch_number(dt.date(2026, 4, 6), 28) == 734  # the next Monday
    assert epoch_number(dt.date(2026, 3, 14), 7) == 2932  # 20529 // 7: weekly epochs
    assert epoch_number(dt.date(1969, 12, 29), 7) == 0 and epoch_number(dt.date(1970, 1, 4), 7) == 0
    same_a = epoch_key(MASTER, dt.date(2026, 3, 14), 28)
    same_b = epoch_key(MASTER, dt.date(2026, 4, 5), 28)
    other = epoch_key(MASTER, dt.date(2026, 4, 6), 28)
    assert same_a == same_b
    assert same_a.pseudonym("4917612345678") == same_b.pseudonym("4917612345678")
    assert same_a.pseudonym("4917612345678") != other.pseudonym("4917612345678")
    assert same_a.key_id.startswith("e733-") and other.key_id.startswith("e734-")
    assert same_a.key_id.split("-")[1] == other.key_id.split("-")[1]  # same master fingerprint
    assert MASTER.hex() not in repr(same_a) and same_a.secret.hex() not in repr(same_a)
    # a different master key gives a different fingerprint
    assert epoch_key(bytes(32), dt.date(2026, 3, 14), 28).key_id != same_a.key_id


@pytest.mark.parametrize("epoch_days", [7, 28, 91, 364])
def test_every_iso_week_lies_in_one_epoch(epoch_days):
    """A week's distinct visitors can be counted: no ISO week has two pseudonyms for one person."""
    monday = dt.date(2019, 12, 30)  # ISO week 2020-W01
    while monday.year < 2031:
        week = [monday + dt.timedelta(days=d) for d in range(7)]
        assert week[0].isocalendar().weekday == 1 and len({d.isocalendar().week for d in week}) == 1
        assert len({epoch_number(d, epoch_days) for d in week}) == 1, monday
        monday += dt.timedelta(days=7)


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


@pytest.mark.parametrize("job", ["run", "ingest", "load-reference"])
def test_a_short_key_is_refused_before_the_spark_session_starts(job, tmp_path, monkeypatch, capsys):
    """The jobs that pseudonymise check the key first: a session's start costs seconds to a
    minute, and a bad key found after it (as `footfall run` did, after creating the tables)
    wastes them."""
    from footfall import cli
    from footfall.pipeline import ingest, reference, run

    def no_session(cfg):
        raise AssertionError("the session was started before the key was checked")

    for module in (run, ingest, reference):
        monkeypatch.setattr(module, "build_session", no_session)
    monkeypatch.setenv("FOOTFALL_PSEUDONYM_KEY", "ab" * 21)
    assert cli.main([job, "--date", "2026-03-14", "--set", f"paths.data_dir={tmp_path}"]) == 77
    assert capsys.readouterr().err == (
        f"footfall {job}: the pseudonymisation key in the environment variable FOOTFALL_PSEUDONYM_KEY has "
        "21 bytes, fewer than 32: generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`\n")
