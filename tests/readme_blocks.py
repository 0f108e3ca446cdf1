"""The README's shell blocks as a reader pastes them: commands, and the answer shown under each.

A ``# `` comment line right under a command shows what it prints (``...`` stands for what differs
on each run); a command with no such line prints nothing. A comment after a blank line, or at the
top of a block, explains and is not an answer.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

README = Path(__file__).resolve().parents[1] / "README.md"


@dataclass(frozen=True)
class Step:
    """One command of the README as a reader pastes it, and the answer the README shows under it."""

    command: str
    shown: Optional[str]


def readme_section(title: str) -> str:
    """The text of the level-2 section ``title``, up to the next one."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README.read_text(), re.S | re.M)
    assert match, f"README.md lost its section {title!r}"
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
    """The commands of a shell block, each with the comment lines right under it (its shown answer)."""
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
    assert not pending, f"README: an unfinished shell command:\n{pending}"
    return [Step("\n".join(command), "\n".join(shown) if shown else None) for command, shown in steps]


def section_steps(title: str) -> list[Step]:
    """Every command of the section's ``sh`` / ``bash`` blocks, in order."""
    return [step for language, body in fenced_blocks(readme_section(title)) if language in ("sh", "bash")
            for step in steps_of(body)]


def answers_as_shown(output: str, shown: Optional[str]) -> bool:
    printed = output.replace("\r", "").strip()
    if shown is None:
        return printed == ""
    pattern = ".*?".join(re.escape(part) for part in shown.split("..."))
    return re.fullmatch(pattern, printed, re.S) is not None


STEP_END = "@@readme-step-end@@"


def run_in_one_shell(steps: list[Step], workdir: Path, env: dict, timeout: float) -> list[tuple[int, str]]:
    """Each step's exit status and output (stdout and stderr), the steps run in order in one bash."""
    lines = []
    for step in steps:
        lines += [step.command, f"printf '\\n{STEP_END} %s\\n' \"$?\""]
    result = subprocess.run(["bash", "-c", "\n".join(lines) + "\n"], cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=timeout)
    parts = re.split(rf"\n{STEP_END} (\d+)\n", result.stdout)
    outputs, statuses = parts[0:-1:2], parts[1::2]
    assert len(outputs) == len(steps), f"the commands stopped early:\n{result.stdout}"
    return [(int(status), output) for status, output in zip(statuses, outputs)]


def wrong_answers(steps: list[Step], results: list[tuple[int, str]]) -> list[str]:
    """Each step that failed or printed something else than the README shows, as a readable report."""
    return [f"$ {step.command}\n-> exit {status}, printed:\n{output.strip()}\n   README shows:\n{step.shown or '(nothing)'}"
            for step, (status, output) in zip(steps, results)
            if status != 0 or not answers_as_shown(output, step.shown)]
