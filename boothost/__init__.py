"""The boot harness: the program's host 0 booted in qemu on a Neutron-like network, and checked.

The boot test (`tests/boot`), the time-to-ready benchmark (`bench/time_to_ready.py`) and the
soak (`scripts/soak-boot`) all boot through it:

- `server`: host 0's user-data and port, as the program declares them under the offline mocks;
- `tenant`: the Neutron-like tenant network, in a network namespace;
- `vm`: the qemu guest, booted like a Nova server;
- `launch`: the variants, one variant's VM and network, and the wait for its host to be ready;
- `checks`: what the boot test asks of a booted host;
- `runs`: repeated boots without pytest, and their report (the benchmark's and the soak's).
"""
