"""The pipeline's modules by layer: what on-call runs by hand (the audit CLI, the alerts, the run-id rules)
imports without Airflow, and the DAG wiring depends on them, never the other way round."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_audit_cli_the_alerts_and_the_task_steps_load_without_airflow():
    probe = (
        "import sys; import pipeline.audit, pipeline.alerts, pipeline.run_ids, pipeline.transform.transform_step, "
        "pipeline.gate.dq_gate_step, pipeline.publish.register_step, pipeline.publish.publish_step, "
        "pipeline.extract.extract_step; "
        "loaded = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'dags'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_run_id_rules_import_nothing_of_the_pipeline():
    source = (ROOT / "dags" / "pipeline" / "run_ids.py").read_text()
    assert "from pipeline" not in source and "import airflow" not in source and "from airflow" not in source
    for module in ("alerts.py", "audit.py"):
        assert "pipeline.wiring" not in (ROOT / "dags" / "pipeline" / module).read_text(), module
