"""The parsing and arithmetic of ``benchmarks/abuse.py`` (``make abuse``); its figures are read, not asserted."""

from __future__ import annotations

import gzip
import importlib.util
import os
import sys

import pytest
from notebook_helpers import ROOT

_spec = importlib.util.spec_from_file_location("abuse_bench", ROOT / "benchmarks" / "abuse.py")
assert _spec is not None and _spec.loader is not None
abuse = importlib.util.module_from_spec(_spec)
sys.modules["abuse_bench"] = abuse  # dataclasses look their module up there
_spec.loader.exec_module(abuse)

# /proc/<pid>/stat of a process whose name holds a space and a parenthesis: utime 250, stime 50 ticks.
STAT = "4242 (python (x) 3) S 1 4242 4242 0 -1 4194560 9000 0 0 0 250 50 0 0 20 0 3 0 100 0 0"


def test_parse_proc_stat_reads_utime_and_stime_after_the_name():
    assert abuse.parse_proc_stat(STAT, 100) == pytest.approx(3.0)
    assert abuse.parse_proc_stat(STAT, 1000) == pytest.approx(0.3)


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="Linux only")
def test_cpu_seconds_of_this_process_grow():
    before = abuse.cpu_seconds(os.getpid())
    sum(range(3_000_000))
    assert abuse.cpu_seconds(os.getpid()) >= before >= 0


def test_the_gzip_bomb_inflates_to_the_size_asked():
    bomb = abuse.gzip_bomb(10 * abuse.MIB + 5, chunk=abuse.MIB)
    assert len(gzip.decompress(bomb)) == 10 * abuse.MIB + 5
    assert len(bomb) < abuse.MIB // 50  # zeros compress about a thousand times


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (b"HTTP/1.1 415 Unsupported Media Type\r\nContent-Length: 0\r\n\r\n", 415),
        (b"HTTP/1.0 400 Bad Request\r\n", 400),
        (b"", None),
        (b"garbage", None),
        (b"HTTP/1.1 abc\r\n", None),
    ],
)
def test_status_of_a_raw_answer(answer, status):
    assert abuse.status_of(answer) == status


def test_figure_puts_the_value_beside_its_threshold():
    assert abuse.verdict(0.07, 0.2) == "ok"
    assert abuse.verdict(0.2, 0.2) == "OVER"
    line = abuse.figure("server CPU", 0.0704, "s", 0.2)
    assert line.split() == ["server", "CPU", "0.070", "s", "(threshold", "<", "0.2", "s:", "ok)"]
    assert "OVER" in abuse.figure("GET / max latency", 120.0, "ms", 100)


def test_login_head_frames_the_body():
    head = abuse.login_head(12, "Content-Encoding: gzip\r\n")
    assert head.startswith(b"POST /login HTTP/1.1\r\n") and head.endswith(b"\r\n\r\n")
    assert b"Content-Length: 12\r\n" in head and b"Content-Encoding: gzip\r\n" in head
