"""aws target: the pipeline's CloudWatch metrics (namespace BFP/Pipeline), what the stack's alarms watch
(infra/bfp_infra/alarms.py): WindowsPublished and PublishedWindowAgeSeconds at each publication (a lake gone
stale), DqGateFailures at each gate (0 or 1). The local target sends nothing."""

from __future__ import annotations

import logging

from pipeline.settings import Settings

METRIC_NAMESPACE = "BFP/Pipeline"
log = logging.getLogger(__name__)


def put(settings: Settings, data: list[dict]) -> dict | None:
    """Sends `data` (CloudWatch MetricData entries) on the aws target through the task's AWS connection; returns
    what was sent, for the task's log line (None locally)."""
    if settings.target != "aws" or not data:
        return None
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    client = AwsBaseHook(aws_conn_id=settings.aws_conn_id, client_type="cloudwatch").get_conn()
    client.put_metric_data(Namespace=METRIC_NAMESPACE, MetricData=data)
    return {"namespace": METRIC_NAMESPACE, "metrics": {d["MetricName"]: d["Value"] for d in data}}


def gate_verdict(settings: Settings, failed: bool) -> dict | None:
    """DqGateFailures for one gate. A failure to send never hides the gate's own verdict: it is logged, and the
    freshness alarm still fires when nothing is published."""
    try:
        return put(settings, [{"MetricName": "DqGateFailures", "Value": 1 if failed else 0, "Unit": "Count"}])
    except Exception as exc:  # CloudWatch unreachable must not replace the gate's error
        log.warning("could not send DqGateFailures to CloudWatch (%s); the gate's verdict stands", exc)
        return None
