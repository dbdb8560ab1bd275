"""Build the LXD host images from Debian's mirror, cached by a hash of their recipe.

The boot test boots them in qemu (the NoCloud target) and the local cloud serves them from
Glance (the OpenStack target): one builder, so both run the same Debian system. Three
artefacts, all made with real Debian tools and no mounts on the build machine:

- a host image per network layout: a Debian 12 root filesystem (`debootstrap`, then `apt-get`
  in a chroot) packed into a raw ext4 file with `mke2fs -d`, with its kernel and initrd beside
  it for qemu's `-kernel`/`-initrd`;
- a local apt repository of every package the host image holds, which the test network or the
  local cloud serves the way a cloud's local mirror would: the guest has no internet, yet
  cloud-init's `packages:` module runs `apt-get update` and must succeed;
- an LXD image tarball (`metadata.yaml` + `rootfs/`) with cloud-init inside, so that a slot
  profile's `user.network-config` is applied by the container's own cloud-init; it is placed
  in the host image and imported with `lxc image import`, so nothing is downloaded in the guest.

Every artefact lives under `$LXDHOST_BOOT_CACHE` (default `/var/cache/lxdhost-boot`) in a
folder named after the hash of its recipe: a fresh clone on the same machine reuses it, and a
changed package list, file or build step builds a new one.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class Target:
    """Where a host image boots: how cloud-init finds its datasource, and where apt's mirror is.

    The image points apt at a local mirror, as a cloud image points at its provider's.
    """

    name: str
    mirror_host: str
    datasource_config: str  # the image's own /etc/cloud/cloud.cfg.d file: a vendor's setting
    # Import the container image into LXD at the first boot, as CONTAINER_IMAGE_ALIAS, before
    # cloud-init's final stage: a stack's containers name it (Pulumi.local.yaml).
    preloads_container_image: bool = False
    # The mirror carries every layout's packages, as a distribution's mirror does: a stack may
    # choose either layout on the image, and cloud-init installs the other's packages.
    mirrors_every_layout: bool = False

    @property
    def mirror_url(self) -> str:
        return f"http://{self.mirror_host}/debian"


# The boot test: a NoCloud seed disk, and the mirror on the test network's gateway (see
# boothost/tenant.py). The test's key (handed in by the meta-data, as Nova's metadata would)
# logs in as root whatever users the user-data declares.
NOCLOUD = Target(
    name="nocloud",
    mirror_host="192.168.0.1",
    datasource_config="datasource_list: [NoCloud, None]\ndisable_root: false\n",
)


def openstack_target(mirror_host: str) -> Target:
    """The local cloud (scripts/local-cloud): Nova's metadata service through Neutron's router,
    and the mirror on the external network's uplink address (the cloud's LC_EXT_UPLINK_IP,
    which scripts/local-cloud passes), reached through the router's SNAT."""
    return Target(
        name="openstack",
        mirror_host=mirror_host,
        datasource_config="datasource_list: [OpenStack, None]\ndisable_root: false\n",
        preloads_container_image=True,
        mirrors_every_layout=True,
    )


# Where the container image sits inside the host image.
CONTAINER_IMAGE_PATH = "/var/lib/lxdhost/container.tar"
# Its alias in LXD, on an image that preloads it (Target.preloads_container_image).
CONTAINER_IMAGE_ALIAS = "lxdhost-container"
PRELOAD_UNIT = "lxdhost-container-image.service"
# A oneshot between cloud-init's config stage (the lxd module: LXD initialised) and its final
# stage (runcmd: LXD trusts the stack's client, which is when the stack starts to use it), so a
# container is never asked for before its image is there.
PRELOAD_SCRIPT = "/usr/local/sbin/lxdhost-import-container-image"
PRELOAD_SCRIPT_TEXT = (
    "#!/bin/sh\n"
    "set -eu\n"
    "lxd waitready --timeout 600\n"
    f"lxc image info {CONTAINER_IMAGE_ALIAS} >/dev/null 2>&1 ||\n"
    f"  lxc image import {CONTAINER_IMAGE_PATH} --alias {CONTAINER_IMAGE_ALIAS}\n"
)
PRELOAD_UNIT_TEXT = (
    "[Unit]\n"
    "Description=Import the container image this host image carries into LXD\n"
    "After=cloud-config.service lxd.socket\n"
    "Before=cloud-final.service\n"
    f"ConditionPathExists={CONTAINER_IMAGE_PATH}\n"
    "\n"
    "[Service]\n"
    "Type=oneshot\n"
    "RemainAfterExit=yes\n"
    f"ExecStart={PRELOAD_SCRIPT}\n"
    "\n"
    "[Install]\n"
    "WantedBy=cloud-init.target\n"
)

# LXD refuses an image without a creation date; a fixed one keeps the tarball reproducible.
CREATION_DATE = 1704067200  # 2024-01-01T00:00:00Z

BUILD_TIMEOUT = 1200  # seconds for one build command: generous, but a hung mirror fails the run


@dataclass(frozen=True)
class RootfsRecipe:
    """A Debian root filesystem: what debootstrap installs, then what apt installs on top."""

    name: str
    debootstrap_include: tuple[str, ...]
    apt_install: tuple[str, ...]
    files: Mapping[str, str] = field(default_factory=dict)  # path in the image -> content
    configure: str = ""  # shell run in the chroot once packages and files are in place
    # Downloaded into apt's archives with the installed ones, so the image's repository carries
    # them, but not installed.
    apt_download: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostImage:
    """A built host image: the raw disk, its kernel and initrd, and the apt repository."""

    disk: Path
    kernel: Path
    initrd: Path
    apt_repository: Path
    build_seconds: float


@dataclass(frozen=True)
class ContainerImage:
    """A built LXD image tarball (unified format: metadata.yaml + rootfs/)."""

    tarball: Path
    build_seconds: float


# Packages every host image has. `locales` because cloud-init's locale module fails without
# it, and an error should mean the user-data, not the image. `dbus` as Debian's cloud images
# have it: `netplan apply` reconfigures systemd-networkd through `networkctl`, which talks to
# it over the system bus. No ifupdown or netplan here: each layout's image adds its own, as
# Debian's cloud images ship one or the other.
HOST_BASE_INCLUDE = (
    "systemd-sysv",
    "udev",
    "kmod",
    "iproute2",
    "netbase",
    "linux-image-cloud-amd64",
    "ca-certificates",
)
HOST_BASE_APT = (
    "cloud-init",
    "lxd",
    "lxd-client",
    "bridge-utils",
    "locales",
    "openssh-server",
    "sudo",
    "iputils-ping",
    "dnsmasq-base",
    "apparmor",
    "dbus",
)

LAYOUT_PACKAGES: Mapping[str, tuple[str, ...]] = {
    # Debian 12's cloud images: netplan rendering to systemd-networkd.
    "netplan": ("netplan.io",),
    # Debian's classic layout, the seed blog's: /etc/network/interfaces and a DHCP client.
    "ifupdown": ("ifupdown", "isc-dhcp-client"),
}

# cloud-init's locale module sets LANG=en_US.UTF-8 (the distro's default) and Debian's
# locale-gen only builds what /etc/locale.gen enables, as the Debian installer leaves it.
LOCALE_GEN = "en_US.UTF-8 UTF-8\n"

HOST_FILES: Mapping[str, str] = {
    "/etc/fstab": "/dev/vda / ext4 rw,errors=remount-ro 0 1\n",
    "/etc/locale.gen": LOCALE_GEN,
    # Unprivileged containers need a subordinate id range for root; Debian's lxd package
    # leaves it to the administrator (README.Debian).
    "/etc/subuid": "root:1000000:1000000000\n",
    "/etc/subgid": "root:1000000:1000000000\n",
}

CONTAINER_RECIPE = RootfsRecipe(
    name="container",
    debootstrap_include=("systemd-sysv", "iproute2", "iputils-ping", "ifupdown", "netbase"),
    # cloud-init cannot go in debootstrap's --include (it does not resolve virtual packages).
    apt_install=("cloud-init", "locales"),
    files={
        "/etc/locale.gen": LOCALE_GEN,
        # Nothing but loopback until cloud-init renders the slot's network-config: an address
        # on eth0 can only have come from the profile's user.network-config.
        "/etc/network/interfaces": "auto lo\niface lo inet loopback\n\n"
        "source /etc/network/interfaces.d/*\n",
        # The LXD datasource reads user.network-config from /dev/lxd/sock.
        "/etc/cloud/cloud.cfg.d/90-boot-test.cfg": "datasource_list: [LXD, None]\n",
    },
    # A smaller tarball imports faster in the guest (LXD hashes and unpacks every byte, under
    # TCG): no documentation, translations or apt caches, which nothing in the test reads.
    configure="locale-gen && rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/locale/* "
    "/var/cache/apt/*.bin /var/lib/apt/lists/*",
)


def host_recipe(layout: str, target: Target) -> RootfsRecipe:
    files = {
        **HOST_FILES,
        # Only the target's mirror: the guest reaches nothing else.
        "/etc/apt/sources.list": f"deb [trusted=yes] {target.mirror_url} ./\n",
        # The image's own cloud-init settings (a vendor's, not the user's).
        "/etc/cloud/cloud.cfg.d/90-lxdhost-image.cfg": target.datasource_config,
    }
    configure = "locale-gen"
    if target.preloads_container_image:
        files[f"/etc/systemd/system/{PRELOAD_UNIT}"] = PRELOAD_UNIT_TEXT
        files[PRELOAD_SCRIPT] = PRELOAD_SCRIPT_TEXT
        configure += f" && chmod 755 {PRELOAD_SCRIPT} && systemctl enable {PRELOAD_UNIT}"
    return RootfsRecipe(
        # The boot test's images keep the names they always had.
        name=f"host-{layout}" if target == NOCLOUD else f"host-{layout}-{target.name}",
        debootstrap_include=HOST_BASE_INCLUDE,
        apt_install=HOST_BASE_APT + LAYOUT_PACKAGES[layout],
        files=files,
        configure=configure,
        apt_download=tuple(
            sorted(
                package
                for other, packages in LAYOUT_PACKAGES.items()
                if other != layout and target.mirrors_every_layout
                for package in packages
            )
        ),
    )


def cache_root() -> Path:
    return Path(os.environ.get("LXDHOST_BOOT_CACHE", "/var/cache/lxdhost-boot"))


def build_steps(*functions: Callable[..., object]) -> list[str]:
    """The build functions' code as syntax trees: a changed step rebuilds, a reformat does not."""
    return [ast.dump(ast.parse(textwrap.dedent(inspect.getsource(f)))) for f in functions]


def recipe_key(*parts: object) -> str:
    """A short hash of everything that decides an artefact's bytes, build steps included."""
    text = json.dumps(
        [asdict(p) if isinstance(p, RootfsRecipe) else p for p in parts],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class BuildError(Exception):
    """A build command failed; the message carries its output's tail."""


def _run(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> None:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        result = subprocess.run(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise BuildError(f"{argv[0]} exited {result.returncode} (log {log}):\n{tail}")


def _chroot(root: Path, script: str, log: Path) -> None:
    """Run a shell script in the root filesystem with /proc, /sys and /dev mounted.

    The mounts live in a private mount namespace that ends with the command, so nothing stays
    mounted on the build machine whatever happens.
    """
    mounts = (
        f"mount -t proc proc {root}/proc && mount -t sysfs sys {root}/sys && "
        f"mount --rbind /dev {root}/dev && "
    )
    _run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-ec",
            f"{mounts} chroot {root} sh -ec '{script}'",
        ],
        log,
        env={"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
    )


def build_rootfs(recipe: RootfsRecipe, root: Path, debs: Path, log: Path) -> None:
    """debootstrap minbase, then apt-get install in the chroot, then the recipe's files."""
    debs.mkdir(parents=True, exist_ok=True)
    _run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(recipe.debootstrap_include)}",
            f"--cache-dir={debs}",
            SUITE,
            str(root),
            DEBIAN_MIRROR,
        ],
        log,
    )
    # Services must not start inside the chroot.
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    if recipe.apt_install:
        packages = " ".join(recipe.apt_install)
        script = f"apt-get update -q && apt-get install -y -q --no-install-recommends {packages}"
        if recipe.apt_download:
            script += (
                " && apt-get install -y -q --download-only --no-install-recommends "
                + " ".join(recipe.apt_download)
            )
        _chroot(root, script, log)
    for path, content in recipe.files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    if recipe.configure:
        _chroot(root, recipe.configure, log)
    policy.unlink()


def _collect_debs(root: Path, debs: Path, repository: Path, log: Path) -> None:
    """Every .deb the root filesystem was built from, as a flat apt repository."""
    repository.mkdir(parents=True, exist_ok=True)
    for source in (*debs.glob("*.deb"), *(root / "var/cache/apt/archives").glob("*.deb")):
        shutil.copy2(source, repository / source.name)
    with (repository / "Packages").open("w") as packages:
        result = subprocess.run(
            ["dpkg-scanpackages", "--multiversion", "."],
            cwd=repository,
            stdout=packages,
            stderr=subprocess.PIPE,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    if result.returncode != 0:
        raise BuildError(f"dpkg-scanpackages failed: {result.stderr[-2000:]}")
    _run(["gzip", "-9kf", str(repository / "Packages")], log)


def _strip_for_boot(root: Path) -> None:
    """Leave what a cloud image leaves: no package caches, no machine identity, no host keys."""
    for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*", "etc/ssh/ssh_host_*"):
        for path in root.glob(pattern):
            path.unlink()
    (root / "etc/machine-id").write_text("")
    dbus_id = root / "var/lib/dbus/machine-id"
    if dbus_id.is_symlink() or dbus_id.exists():
        dbus_id.unlink()


def _newest(root: Path, pattern: str) -> Path:
    matches = sorted(root.glob(pattern))
    if not matches:
        raise BuildError(f"no {pattern} in {root}")
    return matches[-1]


def build_container_image(cache: Path | None = None) -> ContainerImage:
    """The LXD image tarball, built once per recipe and cached."""
    cache = cache or cache_root()
    key = recipe_key(
        CONTAINER_RECIPE, CREATION_DATE, build_steps(build_container_image, build_rootfs)
    )
    done = cache / f"container-{key}"
    tarball = done / "container.tar"
    if tarball.is_file():
        return ContainerImage(tarball=tarball, build_seconds=0.0)
    started = time.monotonic()
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="build-container-") as scratch:
        work = Path(scratch)
        log = work / "build.log"
        rootfs = work / "image" / "rootfs"
        try:
            build_rootfs(CONTAINER_RECIPE, rootfs, cache / "debs", log)
        except BuildError:
            shutil.copy2(log, cache / "container-build-failed.log")
            raise
        _strip_for_boot(rootfs)
        # The unified image format: metadata.yaml next to rootfs/. No templates: the LXD
        # datasource reads the instance's config from /dev/lxd/sock.
        (work / "image" / "metadata.yaml").write_text(
            "architecture: x86_64\n"
            f"creation_date: {CREATION_DATE}\n"
            "properties:\n"
            "  os: debian\n"
            "  release: bookworm\n"
            "  variant: cloud\n"
            "  description: Debian bookworm with cloud-init (boot test)\n"
        )
        staged = work / "container.tar"
        _run(
            [
                "tar",
                "--numeric-owner",
                "--xattrs",
                "-C",
                str(work / "image"),
                "-cf",
                str(staged),
                "metadata.yaml",
                "rootfs",
            ],
            log,
        )
        partial = cache / f"container-{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        shutil.move(staged, partial / "container.tar")
        partial.rename(done)
    return ContainerImage(tarball=tarball, build_seconds=time.monotonic() - started)


def build_host_image(
    layout: str, container: ContainerImage, target: Target = NOCLOUD, cache: Path | None = None
) -> HostImage:
    """The host image for one network layout and target, with the container image inside."""
    cache = cache or cache_root()
    recipe = host_recipe(layout, target)
    key = recipe_key(
        recipe,
        CONTAINER_IMAGE_PATH,
        container.tarball.parent.name,  # the container image's own recipe hash
        build_steps(build_host_image, build_rootfs, _collect_debs, _strip_for_boot),
    )
    done = cache / f"{recipe.name}-{key}"
    image = HostImage(
        disk=done / "disk.raw",
        kernel=done / "vmlinuz",
        initrd=done / "initrd.img",
        apt_repository=done / "apt",
        build_seconds=0.0,
    )
    if image.disk.is_file():
        return image
    started = time.monotonic()
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=f"build-{recipe.name}-") as scratch:
        work = Path(scratch)
        log = work / "build.log"
        rootfs = work / "rootfs"
        partial = cache / f"{recipe.name}-{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        try:
            build_rootfs(recipe, rootfs, cache / "debs", log)
            _collect_debs(rootfs, cache / "debs", partial / "apt", log)
            _strip_for_boot(rootfs)
            in_image = rootfs / CONTAINER_IMAGE_PATH.lstrip("/")
            in_image.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(container.tarball, in_image)
            shutil.copy2(_newest(rootfs / "boot", "vmlinuz-*"), partial / "vmlinuz")
            shutil.copy2(_newest(rootfs / "boot", "initrd.img-*"), partial / "initrd.img")
            # A sparse 8 GiB disk: room for LXD's dir pool and a few containers.
            _run(
                ["mke2fs", "-q", "-t", "ext4", "-d", str(rootfs), str(partial / "disk.raw"), "8G"],
                log,
            )
        except BuildError:
            shutil.copy2(log, cache / f"{recipe.name}-build-failed.log")
            raise
        partial.rename(done)
    return HostImage(
        disk=image.disk,
        kernel=image.kernel,
        initrd=image.initrd,
        apt_repository=image.apt_repository,
        build_seconds=time.monotonic() - started,
    )
