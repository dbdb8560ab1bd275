"""The program's data-source lookups, whose failure ends the program with one plain error.

A lookup runs at `preview` as at `up`, before anything is made, and it is where a stack first
meets its cloud: no `clouds.yaml` on the machine, a cloud it does not name, a cloud that does
not answer, an external network or image that does not exist. The SDK's `*_output` functions
report such a failure as "Program failed with an unhandled exception", with a traceback, and
nothing in the program can catch it (the SDK counts the call among its own pending calls, and
raises its failure when the program ends). `call_data_source` makes the call itself, where the
caller can catch its failure: `lookup` ends the program with one error that says what was
looked up, from which stack keys, in the provider's own words, the way a bad key ends it
(`lxdhost.config`); the server status read (`lxdhost.host`) turns it into a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi

from lxdhost import tokens
from lxdhost.interrupt import ERROR_REPORTED_EXIT_CODE

# "invoke of <token> failed: invocation of <token> returned an error: 1 error occurred:" and
# then the provider's reasons, one `* ` line each.
_REASON_LINE = re.compile(r"^\s*\*\s+(.*\S)\s*$", re.MULTILINE)


def provider_reason(message: str) -> str:
    """The provider's reasons in a failed call's message, without the SDK's preamble."""
    reasons = _REASON_LINE.findall(message)
    if reasons:
        return "; ".join(reasons)
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no reason given"


async def call_data_source(
    token: str, args: Mapping[str, Any], parent: pulumi.Resource | None
) -> Mapping[str, Any]:
    """The data source `token`'s answer to `args` (resolved), at the provider version the
    resources are registered with; raises what the provider failed with, which the caller can
    catch."""
    result = await pulumi.runtime.invoke_async(
        token, dict(args), opts=pulumi.InvokeOptions(parent=parent, version=tokens.PROVIDER_VERSION)
    )
    return result or {}


def lookup(
    token: str,
    args: Mapping[str, pulumi.Input[Any]],
    what: str,
    parent: pulumi.Resource | None,
) -> pulumi.Output[dict[str, Any]]:
    """The data source `token`'s answer to `args`, as the provider's camelCase outputs; if it
    fails, the program logs "`what` could not be looked up on the stack's cloud
    (openstack:cloud): <the provider's reason>" as its one error and ends (exit status 32: the
    engine adds nothing after it)."""

    async def call(resolved: dict[str, Any]) -> dict[str, Any]:
        try:
            result = await call_data_source(token, resolved, parent)
        except Exception as error:  # any failed lookup ends the program with its reason
            pulumi.log.error(
                f"{what} could not be looked up on the stack's cloud (openstack:cloud): "
                f"{provider_reason(str(error))}"
            )
            raise SystemExit(ERROR_REPORTED_EXIT_CODE) from None
        return dict(result)

    return pulumi.Output.from_input(dict(args)).apply(call)
