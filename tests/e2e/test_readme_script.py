"""The README's shell commands, run as written against a served process.

Two kinds: the CI section's curl-only script, and the journey section's commands, which a reader
pastes one after the other into one shell. In the journey section a ``# `` comment line right under
a command shows what it prints (``...`` stands for what differs on each run); a command with no
such line prints nothing. The only change made before running them is the port: the README says
``http://127.0.0.1:8080`` (``make serve``), the test's server listens on a free port.
"""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from readme_blocks import README, Step, fenced_blocks, readme_section, run_in_one_shell, section_steps, wrong_answers

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")]

README_BASE = "http://127.0.0.1:8080"
RUN_LIMIT_S = 60


def readme_script() -> str:
    match = re.search(r"<!-- ci-journey-script -->\s*```bash\n(.*?)```", README.read_text(), re.S)
    assert match, "README.md lost its CI journey script"
    return match.group(1)


def test_readme_curl_journey_runs_as_written(served, tmp_path):
    script = tmp_path / "journey.sh"
    script.write_text(readme_script())
    result = subprocess.run(["bash", str(script)], env={"BASE": served.url, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=RUN_LIMIT_S)
    assert result.returncode == 0, result.stderr
    assert '"result": true' in result.stdout


# -- the journey section, command by command ------------------------------------------------------

def journey_section() -> str:
    return readme_section("The journey with curl")


def journey_steps() -> list[Step]:
    return section_steps("The journey with curl")


def run_journey(steps: list[Step], base: str, workdir: Path) -> list[tuple[int, str]]:
    """The steps run in order in one bash, against ``base`` instead of the README's server."""
    steps = [Step(step.command.replace(README_BASE, base), step.shown) for step in steps]
    assert not any("127.0.0.1:8080" in s.command or "localhost:8080" in s.command for s in steps), \
        "a command the test cannot redirect"
    return run_in_one_shell(steps, workdir, {"PATH": "/usr/bin:/bin", "HOME": str(workdir)}, RUN_LIMIT_S)


def test_journey_section_commands_answer_as_the_readme_shows(served, tmp_path):
    steps = journey_steps()
    funds = [step for step in steps if "funds-confirmations" in step.command]
    assert funds and all(step.shown and '"result": true' in step.shown for step in funds), \
        "README: the journey section shows no funds confirmation answering result: true"

    results = run_journey(steps, served.url, tmp_path)

    wrong = wrong_answers(steps, results)
    assert not wrong, "\n\n".join(wrong)
    journal = requests.get(f"{served.url}/__admin/requests", timeout=10).json()["requests"]
    refused = [(entry["path"], entry["status"], entry["error"]) for entry in journal if entry["status"] >= 400]
    assert not refused, refused
    assert [entry["status"] for entry in journal if entry["path"].endswith("/funds-confirmations")] == [200] * len(funds)


def test_journey_section_browser_link_opens_the_bank_identification_page(served):
    links = [body.strip() for language, body in fenced_blocks(journey_section()) if language == ""]
    assert links, "README: the journey section lost its browser link"
    for link in links:
        assert link.startswith(README_BASE + "/authorize?"), link
        page = requests.get(link.replace(README_BASE, served.url), timeout=10)
        assert page.status_code == 200 and 'name="login"' in page.text, (link, page.status_code)
