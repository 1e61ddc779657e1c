"""Load the ncpasswords pytest plugin.

Once ncpasswords is installed with its `pytest11` entry point pytest loads the plugin by itself;
until then (or with an older install) this conftest loads it by module name.
"""

from importlib.metadata import entry_points

if not any(ep.value == "ncpasswords.testing.plugin" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["ncpasswords.testing.plugin"]
