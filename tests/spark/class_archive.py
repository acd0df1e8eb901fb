"""Makes the test session's Spark class archive: tests/spark/class_archive_job.py under spark-submit once with
-XX:ArchiveClassesAtExit, then once more mapping the new archive (a truncated one, e.g. from a full disk, crashes
every JVM that maps it: SIGBUS), then renamed into place. tests/conftest.py calls make() before the tests when the
archive is missing."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
from pathlib import Path

JOB = Path(__file__).with_name("class_archive_job.py")
LOOPBACK = "127.0.0.1"


def make(archive: Path, java_options: str, conf: list[str]) -> str | None:
    """None once the archive is in place (made here, or by another session meanwhile); else the job's output."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with open(archive.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest session of this checkout may be making it
        if archive.exists():
            return None
        for stale in archive.parent.glob("spark-classes-*.jsa"):  # another JDK's, pyspark's, job's or settings'
            stale.unlink()
        partial = archive.with_suffix(".partial")  # beside it: renamed into place once a job ran with it
        made = run_job(f"{java_options} -XX:ArchiveClassesAtExit={partial}", conf)
        checked = run_job(f"{java_options} -XX:SharedArchiveFile={partial}", conf) if made.returncode == 0 else made
        if checked.returncode != 0 or not partial.exists():
            partial.unlink(missing_ok=True)
            return f"no Spark class archive (the tests' jobs run without it):\n{checked.stderr[-1500:]}"
        os.replace(partial, archive)
    return None


def run_job(java_options: str, conf: list[str]) -> subprocess.CompletedProcess:
    """class_archive_job.py under spark-submit with the tests' settings, in a work folder of its own."""
    spark_submit = Path(sys.executable).with_name("spark-submit")
    with tempfile.TemporaryDirectory() as work:
        return subprocess.run(
            [
                str(spark_submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                "--conf", f"spark.driver.extraJavaOptions={java_options}",
                *(f"--conf={pair}" for pair in conf), str(JOB), work,
            ],
            capture_output=True, text=True, timeout=600, check=False, cwd=work,  # a crash report stays in work
            env={**os.environ, "PATH": f"{spark_submit.parent}:{os.environ['PATH']}", "SPARK_LOCAL_IP": LOOPBACK},
        )  # fmt: skip
