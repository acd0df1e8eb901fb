"""Every size synthesized once per session (offline, in this process), into a temporary cloud assembly."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from aws_cdk import assertions

from bfp_infra import platform, sizes

SIZES = sizes.names()


@dataclass
class Synthesized:
    size: sizes.Size
    out: Path
    stacks: dict  # stack name -> Stack
    templates: dict  # stack name -> assertions.Template

    def template(self, stack: str) -> assertions.Template:
        return self.templates[stack]

    def resources(self, kind: str) -> list[tuple[str, str, dict]]:
        """(stack, logical id, resource) of every resource of `kind` in every template, nested ones included."""
        found = []
        for path in sorted(self.out.glob("*.template.json")):
            body = json.loads(path.read_text())
            for logical, resource in body.get("Resources", {}).items():
                if resource["Type"] == kind:
                    found.append((path.name.removesuffix(".template.json"), logical, resource))
        return found


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> dict[str, Synthesized]:
    os.environ.pop("CDK_DEFAULT_ACCOUNT", None)  # offline: no account
    result = {}
    for name in SIZES:
        out = tmp_path_factory.mktemp(f"cdk-{name}")
        app = platform.app(name, str(out))
        stacks = platform.build(app, name)
        app.synth()
        templates = {stack: assertions.Template.from_stack(value) for stack, value in stacks.items()}
        result[name] = Synthesized(sizes.load(name), out, stacks, templates)
    return result


@pytest.fixture(scope="session")
def seed(synthesized) -> Synthesized:
    return synthesized["seed"]
