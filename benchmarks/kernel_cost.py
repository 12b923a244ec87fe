"""What one learner's kernel costs a hub: CPU seconds and peak memory of running each notebook top to bottom.

    .venv/bin/python benchmarks/kernel_cost.py notebooks/01-login.ipynb notebooks/06-cost.ipynb

Each notebook runs in a fresh kernel (nbclient, as ``make notebooks`` runs it). After each cell (so the last
reading comes after the last cell, before the kernel stops) this reads from the kernel process and its
children: the CPU time used (user + system, what a shared node's cores pay) and the peak resident memory
(Linux's ``VmHWM``). Wall time is printed too, but on a shared machine only the CPU seconds and the memory mean
anything. docs/instructor-guide.md turns the figures into hub sizing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, cast

import nbformat
import psutil
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The checkout's authoring tools (not installed), as make runs them.
from authoring.nbtools import CurrentEnvKernelManager


def peak_rss(process: psutil.Process) -> int:
    """Peak resident memory of ``process`` in bytes (``VmHWM``; the current RSS where /proc has no peak)."""
    try:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return process.memory_info().rss


def measure(path: Path) -> dict[str, float]:
    """Run ``path`` in a fresh kernel; the kernel's CPU seconds, peak memory (MiB) and the wall time."""
    nb = nbformat.read(path, as_version=4)
    figures: dict[str, float] = {}
    client = NotebookClient(
        nb,
        timeout=600,
        allow_errors=True,
        kernel_manager_class=CurrentEnvKernelManager,
        resources={"metadata": {"path": str(path.parent)}},
    )

    def read_kernel(**_: object) -> None:
        # The local provisioner's kernel process (nbclient starts kernels locally here).
        kernel = psutil.Process(cast(Any, client.km).provisioner.process.pid)
        processes = [kernel, *kernel.children(recursive=True)]
        times = [p.cpu_times() for p in processes]
        figures["cpu_s"] = sum(t.user + t.system + t.children_user + t.children_system for t in times)
        figures["peak_mib"] = max(peak_rss(p) for p in processes) / 2**20

    # After every cell, so the last reading is taken after the last cell and before the kernel stops.
    client.on_cell_executed = read_kernel
    start = time.perf_counter()
    client.execute()
    figures["wall_s"] = time.perf_counter() - start
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    print(f"{'notebook':<28} {'kernel CPU s':>12} {'peak MiB':>9} {'wall s':>7}")
    for path in args.paths:
        figures = measure(path)
        print(f"{path.name:<28} {figures['cpu_s']:>12.1f} {figures['peak_mib']:>9.0f} {figures['wall_s']:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
