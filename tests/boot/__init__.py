"""The boot test: the program's user-data booted in qemu on a Neutron-like network."""
