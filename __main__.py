"""The servestack Pulumi program: read config, build the environment, export its outputs.

Run by `pulumi up` for real, and by `servestack plan` under Pulumi's mock runtime.
"""

import pulumi

from components.config import load_stack_config
from components.environment import ServingEnvironment, ServingEnvironmentArgs

config = load_stack_config()  # raises ConfigError listing every problem, before any resource
environment = ServingEnvironment("servestack", ServingEnvironmentArgs(config=config))
for key, value in environment.outputs.items():
    pulumi.export(key, value)
