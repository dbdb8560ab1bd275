"""The review tooling: the program run without a cloud, and what `python -m lxdhost plan` shows.

`engine` runs `__main__.py` under Neutron/Nova-like mocks and records what it registers (the
tests, the policy tests, the boot test and the bench use it too); `model` turns a run into an
`OfflinePlan`; `diff` compares two plans; `jsonformat` writes and reads `plan --json`; `render`
prints a plan or a diff as text or Markdown. None of it runs during `pulumi up`.
"""

from lxdhost.offline.engine import (
    PROJECT_ROOT,
    CloudMocks,
    ProgramRun,
    RecordedInvoke,
    RecordedResource,
    StackFileError,
    encode_config,
    list_stacks,
    read_stack_config,
    run_program,
)

__all__ = [
    "PROJECT_ROOT",
    "CloudMocks",
    "ProgramRun",
    "RecordedInvoke",
    "RecordedResource",
    "StackFileError",
    "encode_config",
    "list_stacks",
    "read_stack_config",
    "run_program",
]
