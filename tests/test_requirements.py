"""The pinned requirements install and import together in this environment."""

import subprocess
import sys
from pathlib import Path

SMOKE = Path(__file__).with_name("smoke_imports.py")


def test_every_pinned_package_imports_at_its_pinned_version():
    done = subprocess.run([sys.executable, str(SMOKE)], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "versions match requirements.txt" in done.stdout
