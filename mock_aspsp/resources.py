"""Locate the schemas and scenarios shipped with the product.

They live at the top of the repository (``schemas/``, ``scenarios/``) and are
installed inside the package (``mock_aspsp/schemas``, ``mock_aspsp/scenarios``)
by ``setup.cfg``; both layouts must work, so a source checkout runs unchanged.
"""
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The installed copy if there is one, else the repository's folder."""
    installed = _PACKAGE / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def schemas_dir() -> Path:
    return resource_dir("schemas")


def scenarios_dir() -> Path:
    return resource_dir("scenarios")


def default_scenario() -> Path:
    return scenarios_dir() / "default.yaml"
