"""`hostimage.build`'s recipes: what each image and its mirror carry."""

from __future__ import annotations

import pytest

from hostimage.build import LAYOUT_PACKAGES, NOCLOUD, host_recipe, openstack_target


@pytest.mark.parametrize("layout", sorted(LAYOUT_PACKAGES))
def test_the_local_clouds_mirror_carries_every_layouts_packages(layout: str) -> None:
    # A stack may choose either layout on the cloud's image: cloud-init installs the other
    # layout's packages from the mirror, which is the image's own packages and these.
    recipe = host_recipe(layout, openstack_target("172.24.4.1"))
    carried = set(recipe.apt_install) | set(recipe.apt_download)
    for packages in LAYOUT_PACKAGES.values():
        assert set(packages) <= carried
    # The other layout's are downloaded only: the image keeps the one layout it ships.
    assert set(LAYOUT_PACKAGES[layout]) <= set(recipe.apt_install)
    assert not set(recipe.apt_download) & set(recipe.apt_install)


@pytest.mark.parametrize("layout", sorted(LAYOUT_PACKAGES))
def test_the_boot_tests_images_carry_their_own_layout_alone(layout: str) -> None:
    recipe = host_recipe(layout, NOCLOUD)
    assert recipe.apt_download == ()
    others = {p for other, ps in LAYOUT_PACKAGES.items() if other != layout for p in ps}
    assert not others & set(recipe.apt_install)
