"""LXD hosts whose containers sit directly on an OpenStack tenant network: what `pulumi up` runs.

End at once, without a traceback, if the engine interrupts the program (`lxdhost.interrupt`).
Load the stack's settings (every bad key, the hosts' user_data included, is reported before
anything is declared), declare the stack (`lxdhost.stack`), and export what it returns.
"""

import pulumi

from lxdhost.config import load_settings_or_exit
from lxdhost.interrupt import exit_quietly_when_interrupted
from lxdhost.stack import declare_stack, neutron_name_prefix, user_data_problems

exit_quietly_when_interrupted()
settings = load_settings_or_exit(user_data_problems)
exports = declare_stack(settings, neutron_name_prefix())
for name, value in exports.items():
    pulumi.export(name, value)
