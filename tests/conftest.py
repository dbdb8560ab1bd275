"""Shared test helpers: a stack's recorded run and plan, and a host's user_data read back."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.installed import cloud_init_schema

if TYPE_CHECKING:
    from tests.stacks import Stacks


@dataclass(frozen=True)
class RenderedCloudConfig:
    """A rendered `#cloud-config` read back into the facts the program is responsible for."""

    text: str

    @property
    def document(self) -> dict[str, Any]:
        assert self.text.startswith("#cloud-config\n")
        document = yaml.safe_load(self.text)
        assert isinstance(document, dict)
        return document

    def file(self, path: str) -> str:
        for entry in self.document.get("write_files", []):
            if entry["path"] == path:
                return str(entry["content"])
        raise KeyError(path)

    @property
    def bridge_macaddress(self) -> str:
        """br0's pinned MAC, from whichever renderer wrote it (netplan or ifupdown)."""
        for entry in self.document.get("write_files", []):
            if entry["path"].startswith("/etc/netplan/"):
                bridges = (yaml.safe_load(entry["content"])["network"] or {}).get("bridges")
                if bridges and "br0" in bridges:
                    return str(bridges["br0"]["macaddress"])
            if entry["path"] == "/etc/network/interfaces":
                match = re.search(r"hwaddress ether (\S+)", entry["content"])
                if match:
                    return match.group(1)
        raise AssertionError("no bridge file pins br0's MAC")

    @property
    def lxd_profiles(self) -> dict[str, dict[str, Any]]:
        """The LXD profiles by name, from the preseed or from the lxd-module form's files."""
        lxd = self.document["lxd"]
        if "preseed" in lxd:
            preseed = yaml.safe_load(lxd["preseed"])
            return {profile["name"]: profile for profile in preseed.get("profiles", [])}
        profiles = {}
        for entry in self.document.get("write_files", []):
            if entry["path"].endswith(".yaml") and "profile" in entry["path"]:
                profile = yaml.safe_load(entry["content"])
                profiles[entry["path"].rsplit("/", 1)[-1].removesuffix(".yaml")] = profile
        return profiles

    def slot_network_config(self, slot: str) -> dict[str, Any]:
        profile = self.lxd_profiles[slot]
        config = yaml.safe_load(profile["config"]["user.network-config"])
        assert isinstance(config, dict)
        return config


@pytest.fixture(scope="session")
def stacks() -> Stacks:
    """A shipped stack's configuration, run and plan with some keys changed, each made once."""
    from tests.stacks import Stacks  # noqa: PLC0415 (only the tests that run a stack need it)

    return Stacks()


@pytest.fixture
def read_user_data() -> Callable[[str], RenderedCloudConfig]:
    return RenderedCloudConfig


@pytest.fixture
def cloud_config_validator() -> Callable[[Mapping[str, Any]], list[str]]:
    """Validates a cloud-config against the schema cloud-init itself ships."""
    from jsonschema import Draft4Validator  # noqa: PLC0415 (only these tests need it)

    validator = Draft4Validator(json.loads(cloud_init_schema().read_text()))

    def errors(document: Mapping[str, Any]) -> list[str]:
        return [
            f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(document)
        ]

    return errors
