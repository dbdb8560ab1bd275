"""seed.yaml reproduces the blog's cloud-config, compared as parsed YAML.

The fixture is the cloud-config block of the blog post *Adventures with container networking*
(2016), copied verbatim.
"""

from __future__ import annotations

import yaml

from tests.userdata.support import EXAMPLES_DIR, FIXTURES
from userdata import render_host
from userdata.hostfile import load_host_file

BLOG_FIXTURE = FIXTURES / "blog-cloud-config.yaml"
# The one deliberate difference: minimal images have no ifconfig (net-tools); iproute2's ip does it.
BLOG_PROMISC = "up ifconfig ens3 promisc up"
OUR_PROMISC = "up ip link set ens3 promisc on"


def blog_document() -> dict[str, object]:
    text = BLOG_FIXTURE.read_text(encoding="utf-8")
    assert text.count(BLOG_PROMISC) == 1
    parsed = yaml.safe_load(text.replace(BLOG_PROMISC, OUR_PROMISC))
    assert isinstance(parsed, dict)
    return parsed


def test_seed_example_renders_the_blogs_document() -> None:
    rendered = render_host(load_host_file(EXAMPLES_DIR / "seed.yaml"))
    assert yaml.safe_load(rendered) == blog_document()


def test_seed_example_keeps_the_blogs_module_order() -> None:
    rendered = yaml.safe_load(render_host(load_host_file(EXAMPLES_DIR / "seed.yaml")))
    assert (
        list(rendered) == list(blog_document()) == ["packages", "write_files", "lxd", "power_state"]
    )
