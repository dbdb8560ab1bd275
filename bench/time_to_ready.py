"""Benchmark: from qemu's start to the first container at the gateway, per bring-up and layout.

Not a test: it prints figures. Boots each variant of the boot test (reboot and in-place bring-up,
netplan + preseed and ifupdown + module) `--runs` times, one VM at a time, variants in turn, and
prints the median, minimum and maximum of first boot done, host ready (LXD on br0) and first
container at the gateway, the in-place/reboot ratio per layout, and the first boot's cloud-init
steps. See `boothost/runs.py`.

    sudo venv/bin/python bench/time_to_ready.py [--runs 3] [--variants ID ...] [--checks]

Targets: the first container at the gateway in place <= 0.7 x with the reboot, for both
layouts; ifupdown + module in place no slower than netplan + preseed with the reboot.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from boothost.runs import main

if __name__ == "__main__":
    sys.exit(main(checks_default=False))
