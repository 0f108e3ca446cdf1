"""The README's curl-only journey script, run as written against a served process."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_script() -> str:
    match = re.search(r"<!-- ci-journey-script -->\s*```bash\n(.*?)```", README.read_text(), re.S)
    assert match, "README.md lost its CI journey script"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curl_journey_runs_as_written(served, tmp_path):
    script = tmp_path / "journey.sh"
    script.write_text(readme_script())
    result = subprocess.run(["bash", str(script)], env={"BASE": served.url, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert '"result": true' in result.stdout
