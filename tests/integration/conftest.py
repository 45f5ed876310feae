"""The slow tier's generated day, generated and run once per session (fixture `generated_day`)."""

from __future__ import annotations

import pytest
from support import GENERATED_DATE, GENERATED_ZONE_SETS, GeneratedDay, run_footfall

SUBSCRIBERS = 6000
SEED = 5
MASTER = "cd" * 32


@pytest.fixture(scope="session")
def generated_day(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDay:
    """`footfall generate` (6,000 subscribers) and `footfall run` of GENERATED_ZONE_SETS on
    GENERATED_DATE, as subprocesses in a data folder of their own (tests/support.py GeneratedDay).
    The tests that read it (test_disclosure_attack.py, test_accuracy_floors.py) only read."""
    data = tmp_path_factory.mktemp("generated-day")
    log = data / "run.log"
    day = GENERATED_DATE.isoformat()
    run_footfall(data, log, MASTER, "generate", "--date", day, "--subscribers", str(SUBSCRIBERS), "--seed", str(SEED))
    zone_sets = [arg for zone_set in GENERATED_ZONE_SETS for arg in ("--zone-set", zone_set)]
    run_footfall(data, log, MASTER, "run", "--date", day, *zone_sets)
    return GeneratedDay(data=data, log=log, key=MASTER, day=GENERATED_DATE, subscribers=SUBSCRIBERS,
                        zone_sets=GENERATED_ZONE_SETS)
