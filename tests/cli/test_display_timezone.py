"""--display-timezone (issue 14): times in the terminal, the HTML and the CSV files in the user's zone; JSON stays UTC."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tests.conftest import SAMPLE_LOGS, run_cli

CSV = SAMPLE_LOGS / "service_desk_events.csv"  # 2025-01-06 10:36:21 to 2025-04-10 05:33:57 UTC


def test_the_terminal_shows_times_in_the_zone_named_after_each():
    utc = run_cli("inspect", CSV).stdout
    assert "Period      2025-01-06 10:36 UTC to 2025-04-10 05:33 UTC\n" in utc
    berlin = run_cli("inspect", CSV, "--display-timezone", "Europe/Berlin").stdout
    assert "Period      2025-01-06 11:36 Europe/Berlin to 2025-04-10 07:33 Europe/Berlin\n" in berlin  # CET, then CEST
    assert berlin.replace("11:36 Europe/Berlin", "10:36 UTC").replace("07:33 Europe/Berlin", "05:33 UTC") == utc
    for command in ("mine", "compare"):
        first = run_cli(command, CSV, "--display-timezone", "America/Los_Angeles").stdout.splitlines()[0]
        assert first.endswith("2025-01-06 02:36 America/Los_Angeles to 2025-04-09 22:33 America/Los_Angeles  [csv]"), first


def test_html_and_csv_show_the_zone_and_json_stays_utc(tmp_path):
    runs = {}
    for tz in ("UTC", "America/Los_Angeles"):
        out = tmp_path / tz.replace("/", "_")
        out.mkdir()
        result = run_cli("report", CSV, "-o", out / "r.html", "--json", out / "r.json", "--csv-dir", out / "csv", "--quiet",
                         "--display-timezone", tz)
        assert result.exit_code == 0, result.stderr
        runs[tz] = out
    html = {tz: (out / "r.html").read_text() for tz, out in runs.items()}
    assert re.search(r"by vsm · times in <b>UTC</b></p>", html["UTC"])
    assert re.search(r"by vsm · times in <b>America/Los_Angeles</b></p>", html["America/Los_Angeles"])
    assert '<span class="v">2025-01-06 to 2025-04-10</span><span class="l">period' in html["UTC"]
    assert '<span class="v">2025-01-06 to 2025-04-09</span><span class="l">period' in html["America/Los_Angeles"]
    docs = {tz: json.loads((out / "r.json").read_text()) for tz, out in runs.items()}
    assert all(d.pop("generated_at").endswith("Z") for d in docs.values())
    assert docs["UTC"] == docs["America/Los_Angeles"]
    assert (docs["UTC"]["log"]["start"], docs["UTC"]["log"]["end"]) == ("2025-01-06T10:36:21Z", "2025-04-10T05:33:57Z")
    utc = pd.read_csv(runs["UTC"] / "csv" / "tickets.csv")
    la = pd.read_csv(runs["America/Los_Angeles"] / "csv" / "tickets.csv")
    assert list(utc.columns[4:7]) == ["events", "start", "end"]
    assert list(la.columns[4:7]) == ["events", "start (America/Los_Angeles)", "end (America/Los_Angeles)"]
    assert (utc.loc[0, "start"], la.loc[0, "start (America/Los_Angeles)"]) == ("2025-01-06 10:36:21+00:00", "2025-01-06 02:36:21-08:00")
    same = pd.to_datetime(la["end (America/Los_Angeles)"], utc=True).equals(pd.to_datetime(utc["end"], utc=True))
    assert same and (la.drop(columns=la.columns[5:7]).equals(utc.drop(columns=utc.columns[5:7])))


@pytest.mark.parametrize("command", ["inspect", "mine", "compare", "report"])
@pytest.mark.parametrize("zone, hint", [
    ("Europe/Berln", "did you mean 'Europe/Berlin'?"),
    ("europe/berlin", "did you mean 'Europe/Berlin'?"),
    ("Mars/Olympus", "use an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC'"),
])
def test_an_unknown_zone_is_one_line_with_a_hint(tmp_path, command, zone, hint):
    out = ["-o", tmp_path / "r.html"] if command == "report" else []
    result = run_cli(command, CSV, *out, "--display-timezone", zone)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: --display-timezone: unknown time zone {zone!r}; {hint}\n")
