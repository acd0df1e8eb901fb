"""Stage 3, the gate: the GX suites and reconciliation checks of what a run wrote (quality, its SQL in sql/), the
task step that passes or holds it (dq_gate_step), and the reconciliation of the lake with PostgreSQL (reconcile)."""
