"""The registry clock: UTC for storing, the configured zone for every local day and time."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import time_machine
from flask import Flask

from registry import clock

# 00:30 Beijing time on 2 December is still 1 December on a UTC machine.
EARLY_UTC = datetime(2026, 12, 1, 16, 30, tzinfo=timezone.utc)
# 23:30 Beijing time on 2 December is 15:30 UTC the same day.
LATE_UTC = datetime(2026, 12, 2, 15, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("instant", [EARLY_UTC, LATE_UTC], ids=["00:30", "23:30"])
def test_today_is_the_beijing_date(instant):
    with time_machine.travel(instant, tick=False):
        assert clock.today() == date(2026, 12, 2)
        assert clock.now() == instant
        assert clock.now().utcoffset() == timedelta(0)
        assert clock.local_now().utcoffset() == timedelta(hours=8)
        assert clock.local_now() == instant  # the same instant, seen in another zone


def test_stamp_carries_the_local_time():
    with time_machine.travel(EARLY_UTC, tick=False):
        assert clock.local_stamp() == "20261202-003000"
        assert clock.local_stamp("%Y%m%d-%H%M") == "20261202-0030"


def test_zone_follows_the_app_config():
    app = Flask(__name__)
    app.config["TIMEZONE"] = "Europe/London"
    with time_machine.travel(EARLY_UTC, tick=False):
        assert clock.zone().key == clock.DEFAULT_TIMEZONE == "Asia/Shanghai"  # no app context: the default
        with app.app_context():
            assert clock.zone().key == "Europe/London"
            assert clock.today() == date(2026, 12, 1)
            assert clock.local_stamp() == "20261201-163000"


def test_registry_timezone_environment_variable(monkeypatch, tmp_path):
    from registry.config import load_config
    monkeypatch.setenv("REGISTRY_TIMEZONE", "Asia/Tokyo")
    assert load_config(str(tmp_path))["TIMEZONE"] == "Asia/Tokyo"


def test_unknown_zone_fails_at_startup(tmp_path):
    from registry import create_app
    with pytest.raises(ValueError, match="TIMEZONE"):
        create_app({"TESTING": True, "TIMEZONE": "Mars/Olympus", "SECRET_KEY": "x",
                    "DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db")})


def test_to_local_reads_naive_values_as_utc():
    naive = datetime(2026, 12, 1, 19, 56)
    assert clock.to_local(naive) == datetime(2026, 12, 2, 3, 56, tzinfo=clock.zone())
    assert clock.to_local(naive.replace(tzinfo=timezone.utc)) == clock.to_local(naive)


def test_local_midnight_is_16_utc_the_day_before():
    assert clock.local_midnight(date(2026, 12, 2)) == datetime(2026, 12, 1, 16, 0, tzinfo=timezone.utc)
