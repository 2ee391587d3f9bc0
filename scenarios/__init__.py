"""dpm.scenarios: the scenario defaults (defaults.toml) and the embedded cases."""
from importlib.resources import files


def path(name: str = ""):
    """Path of a file or case shipped in this package (e.g. ``path("voorbeeldregio")``)."""
    return files(__name__) / name if name else files(__name__)
