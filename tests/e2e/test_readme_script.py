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
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest
import requests

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")]

README = Path(__file__).resolve().parents[2] / "README.md"
README_BASE = "http://127.0.0.1:8080"
STEP_END = "@@readme-step-end@@"
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

@dataclass(frozen=True)
class Step:
    """One command of the README as a reader pastes it, and the answer the README shows under it."""

    command: str
    shown: Optional[str]


def journey_section() -> str:
    match = re.search(r"^## The journey with curl\n(.*?)(?=^## )", README.read_text(), re.S | re.M)
    assert match, "README.md lost its section 'The journey with curl'"
    return match.group(1)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)]


def is_complete(command: str) -> bool:
    """Whether these lines are a whole shell command (no open quote, no trailing backslash): bash decides."""
    if command.rstrip().endswith("\\"):
        return False
    return subprocess.run(["bash", "-n"], input=command, capture_output=True, text=True).returncode == 0


def steps_of(block: str) -> list[Step]:
    """The commands of a shell block, each with the comment lines right under it (its shown answer).

    A comment after a blank line, or at the top of the block, explains and is not an answer.
    """
    steps: list[tuple[list[str], list[str]]] = []
    pending: list[str] = []
    answer_may_follow = False
    for line in block.splitlines():
        if pending:
            pending.append(line)
        elif line.startswith("#"):
            if answer_may_follow:
                steps[-1][1].append(line[1:].removeprefix(" "))
            continue
        elif not line.strip():
            answer_may_follow = False
            continue
        else:
            pending = [line]
        if is_complete("\n".join(pending)):
            steps.append((pending, []))
            pending = []
            answer_may_follow = True
    assert not pending, f"README: an unfinished shell command in the journey section:\n{pending}"
    return [Step("\n".join(command), "\n".join(shown) if shown else None) for command, shown in steps]


def journey_steps() -> list[Step]:
    return [step for language, body in fenced_blocks(journey_section()) if language in ("sh", "bash")
            for step in steps_of(body)]


def run_in_one_shell(steps: list[Step], base: str, workdir: Path) -> list[tuple[int, str]]:
    """Each step's exit status and output (stdout and stderr), the steps run in order in one bash."""
    lines = []
    for step in steps:
        lines += [step.command.replace(README_BASE, base), f"printf '\\n{STEP_END} %s\\n' \"$?\""]
    script = "\n".join(lines) + "\n"
    assert "127.0.0.1:8080" not in script and "localhost:8080" not in script, "a command the test cannot redirect"
    result = subprocess.run(["bash", "-c", script], cwd=workdir, env={"PATH": "/usr/bin:/bin", "HOME": str(workdir)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=RUN_LIMIT_S)
    parts = re.split(rf"\n{STEP_END} (\d+)\n", result.stdout)
    outputs, statuses = parts[0:-1:2], parts[1::2]
    assert len(outputs) == len(steps), f"the journey stopped early:\n{result.stdout}"
    return [(int(status), output) for status, output in zip(statuses, outputs)]


def answers_as_shown(output: str, shown: Optional[str]) -> bool:
    printed = output.replace("\r", "").strip()
    if shown is None:
        return printed == ""
    pattern = ".*?".join(re.escape(part) for part in shown.split("..."))
    return re.fullmatch(pattern, printed, re.S) is not None


def test_journey_section_commands_answer_as_the_readme_shows(served, tmp_path):
    steps = journey_steps()
    funds = [step for step in steps if "funds-confirmations" in step.command]
    assert funds and all(step.shown and '"result": true' in step.shown for step in funds), \
        "README: the journey section shows no funds confirmation answering result: true"

    results = run_in_one_shell(steps, served.url, tmp_path)

    wrong = [f"$ {step.command}\n-> exit {status}, printed:\n{output.strip()}\n   README shows:\n{step.shown or '(nothing)'}"
             for step, (status, output) in zip(steps, results)
             if status != 0 or not answers_as_shown(output, step.shown)]
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
