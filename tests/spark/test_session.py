"""The Spark session the local target starts keeps its listeners on loopback, like every other local server."""

from __future__ import annotations

import ipaddress
import os

import psutil


def test_a_local_session_listens_on_loopback_only(spark):
    spark.range(10).count()  # the block manager and the driver's endpoint are up
    jvms = [p for p in psutil.Process(os.getpid()).children(recursive=True) if p.name() == "java"]
    assert jvms, "the session's JVM was not found among this process's children"
    listening = {
        conn.laddr.ip for jvm in jvms for conn in jvm.net_connections(kind="tcp") if conn.status == psutil.CONN_LISTEN
    }
    assert listening, "the session's JVM listens on nothing"
    for address in listening:
        ip = ipaddress.ip_address(address)
        ip = ip.ipv4_mapped or ip if ip.version == 6 else ip
        assert ip.is_loopback, f"the Spark driver listens on {address}, not loopback"
