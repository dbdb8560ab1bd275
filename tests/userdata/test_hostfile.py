"""Host description files: whatever YAML a user writes gives a HostSpec or one UserDataError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.userdata.strategies import junk
from userdata import UserDataError, render_host
from userdata.hostfile import KEYS, spec_from_mapping


@settings(max_examples=200, deadline=None)
@given(
    document=st.dictionaries(
        st.sampled_from([key.name for key in KEYS] + ["bogus"]), junk, max_size=5
    )
    | junk
)
def test_any_parsed_file_gives_a_spec_or_user_data_error_never_a_crash(document: object) -> None:
    try:
        spec = spec_from_mapping(document)
    except UserDataError as error:
        assert error.problems
    else:
        render_host(spec)  # a spec the loader accepts renders
