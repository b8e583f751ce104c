"""The real llama.cpp and vLLM servers the live tests and load tests run against.

`provision(name)` builds or installs a server once into the user cache directory (override it with
PROVIDER_CONFORMANCE_CACHE); `start_server(name)` starts it on 127.0.0.1 and returns a
`RunningServer`, a context manager that always stops the whole process tree. Every failure is a
`ServerError` whose message names the step, the command, the log file and the fix.
"""

from ._errors import ProvisionError, ServerError, StartError, UnknownServerError
from ._paths import CACHE_ENV_VAR, cache_dir
from ._process import RunningServer, start_server
from ._registry import SERVER_NAMES, provision

__all__ = [
    "SERVER_NAMES",
    "CACHE_ENV_VAR",
    "provision",
    "start_server",
    "RunningServer",
    "ServerError",
    "ProvisionError",
    "StartError",
    "UnknownServerError",
    "cache_dir",
]
