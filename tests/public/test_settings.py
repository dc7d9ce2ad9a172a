"""The public side's settings from the environment: the throttle rates are checked at startup
like the API's (a typo stops the process instead of failing every public form), ``off``
turns one off."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _settings_with(env):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.PUBLIC_BASE_URL, s.LEAD_ANSWER_DAYS, s.PUBLIC_LEAD_RATE_IP,"
        " s.PUBLIC_LEAD_RATE_TOILET, s.PUBLIC_LOOKUP_RATE)"
    )
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_defaults_and_values_from_the_environment():
    result = _settings_with({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "7 5/h 10/d 30/h"
    result = _settings_with(
        {
            "PUBLIC_BASE_URL": "https://wc.example.gov.cn/",
            "LEAD_ANSWER_DAYS": "3",
            "PUBLIC_LEAD_RATE_IP": "20/hour",
            "PUBLIC_LEAD_RATE_TOILET": "off",
            "PUBLIC_LOOKUP_RATE": "10/min",
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://wc.example.gov.cn 3 20/hour None 10/min"


def test_a_bad_public_rate_stops_startup():
    result = _settings_with({"PUBLIC_LEAD_RATE_IP": "5/week"})
    assert result.returncode != 0
    assert "PUBLIC_LEAD_RATE_IP must look like 600/min" in result.stderr
