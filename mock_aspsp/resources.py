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


def shipped_scenarios() -> dict[str, Path]:
    """The shipped scenario files by name (the file name without ``.yaml``), the default first."""
    files = sorted(scenarios_dir().glob("*.yaml"), key=lambda path: (path.stem != "default", path.stem))
    return {path.stem: path for path in files}


def find_scenario(name_or_path: str) -> Path:
    """A scenario file as given, else the shipped scenario of that name (``consent-refused`` or
    ``consent-refused.yaml``): after ``pip install`` the shipped files are inside the package.
    FileNotFoundError naming the shipped scenarios when it is neither."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_scenarios()
    name = path.name.removesuffix(".yaml")
    if path.name == name_or_path and name in shipped:
        return shipped[name]
    if path.exists():
        return path  # a folder, say: reading it tells what is wrong
    raise FileNotFoundError(f"{name_or_path}: no such file, and no shipped scenario of that name "
                            f"(shipped: {', '.join(shipped)}; see mock-aspsp scenario list)")
