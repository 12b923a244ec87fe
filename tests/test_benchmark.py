"""The benchmark's own parsing (``benchmarks/auth_cost.py``); its numbers are read by people, not asserted."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys

import pytest
from notebook_helpers import ROOT

_spec = importlib.util.spec_from_file_location("auth_cost", ROOT / "benchmarks" / "auth_cost.py")
assert _spec is not None and _spec.loader is not None
auth_cost = importlib.util.module_from_spec(_spec)
sys.modules["auth_cost"] = auth_cost  # dataclasses look their module up there
_spec.loader.exec_module(auth_cost)

WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:40000/get-user
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.51ms  512.00us  10.00ms   90.00%
    Req/Sec     6.40k   300.00     7.00k    80.00%
  19200 requests in 3.00s, 5.20MB read
{extra}Requests/sec:   6400.00
Transfer/sec:      1.73MB
"""


def test_parse_wrk_reads_count_and_rate():
    assert auth_cost.parse_wrk(WRK_OUTPUT.format(extra="")) == (19200, 6400.0, 0)


def test_parse_wrk_reads_non_2xx_answers():
    output = WRK_OUTPUT.format(extra="  Non-2xx or 3xx responses: 19200\n")
    assert auth_cost.parse_wrk(output)[2] == 19200


def test_parse_wrk_refuses_output_without_numbers():
    with pytest.raises(RuntimeError, match="no request count"):
        auth_cost.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_cpu_seconds_of_a_live_process():
    assert auth_cost.cpu_seconds(os.getpid()) > 0


def test_cpu_seconds_of_no_process_is_none():
    assert auth_cost.cpu_seconds(2**31 - 1) is None


def test_cpu_text_and_median():
    run, unknown = auth_cost.Run(1000.0, 61.2), auth_cost.Run(1000.0, None)
    assert auth_cost.cpu_text(run, auth_cost.Run(900.0, 66.0)) == "61 µs vs 66 µs"
    assert auth_cost.cpu_text(run, unknown) == "n/a"
    assert auth_cost.median_cpu([run, auth_cost.Run(1.0, 70.0), unknown]) == pytest.approx(65.6)
    assert auth_cost.median_cpu([unknown]) is None


# --- --callgrind: instructions instead of time --------------------------------------------------------------


def test_callgrind_totals_reads_the_totals_line(tmp_path):
    dump = tmp_path / "callgrind.out.1"
    dump.write_text("version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 0\n\ntotals: 150784560\n")
    assert auth_cost.callgrind_totals(dump) == 150784560


def test_callgrind_totals_refuses_another_file(tmp_path):
    dump = tmp_path / "not-callgrind.txt"
    dump.write_text("hello\n")
    with pytest.raises(RuntimeError, match="no 'totals:' line"):
        auth_cost.callgrind_totals(dump)


def test_callgrind_without_valgrind_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setattr(auth_cost.shutil, "which", lambda name: None)
    assert auth_cost.main(["--callgrind"]) == 2
    assert "apt-get install valgrind" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind (apt-get install valgrind)")
def test_callgrind_mode_counts_more_instructions_for_the_protected_route(capsys):
    # Counts, not time: the protected route runs the token checks on top of the public twin's work, so it
    # executes more instructions on any machine, however busy. 50 requests, not 5: one timer or poll of the
    # store inside a 5-request window once tilted the ratio past 1 (about 15 s under valgrind).
    assert auth_cost.main(["--callgrind", "--rounds", "1", "--requests", "50"]) == 0
    out = capsys.readouterr().out
    ratio = float(re.search(r"requests per instruction, median of rounds\): ([\d.]+)", out).group(1))
    assert 0.5 < ratio < 1.0
    assert re.search(r"authentication adds [\d,]+ instructions per request", out)


def test_callgrind_dumps_come_in_the_order_written(tmp_path):
    for number in (10, 2, 1):
        (tmp_path / f"callgrind.out.{number}").write_text("totals: 1\n")
    (tmp_path / "callgrind.out").write_text("totals: 1\n")  # the final dump at exit, not a numbered one
    names = [path.name for path in auth_cost.callgrind_dumps(tmp_path / "callgrind.out")]
    assert names == ["callgrind.out.1", "callgrind.out.2", "callgrind.out.10"]


@pytest.mark.skipif(shutil.which("callgrind_control") is None, reason="needs valgrind (apt-get install valgrind)")
def test_callgrind_control_failures_raise():
    # callgrind_control exits 0 when it finds no such run; the benchmark must not read an old dump then.
    with pytest.raises(RuntimeError, match="failed"):
        auth_cost.callgrind_control(2**31 - 1, "--zero")


@pytest.mark.parametrize("option", ["--rounds", "--requests"])
def test_counts_must_be_positive(option, capsys):
    with pytest.raises(SystemExit):
        auth_cost.main(["--callgrind", option, "0"])
    assert "is not 1 or more" in capsys.readouterr().err


def test_latencies_print_as_median_and_90th_percentile():
    line = auth_cost.latency_text("POST /refresh", [0.001 * n for n in range(1, 11)])
    assert "POST /refresh" in line and "median   5.50 ms" in line and "p90   9.90 ms" in line
    assert "median   2.00 ms   p90   2.00 ms" in auth_cost.latency_text("one", [0.002])
