"""The same extract against S3 (a moto server standing in for AWS, the only stand-in allowed)."""

from __future__ import annotations

import datetime as dt

import boto3
import pyarrow.parquet as pq

from datagen.simulate import backdate_orders
from pipeline.extract import window_extract
from pipeline.extract.watermark import Window
from pipeline.lake import Lake

BOUNDARY = dt.datetime(2026, 2, 1, 0, 0, tzinfo=dt.UTC)


def test_extract_to_s3_writes_the_same_layout(settings, simulator, aws_endpoint, oltp_url):
    placed = simulator.place_orders(12)
    backdate_orders(oltp_url, {p.id: BOUNDARY - dt.timedelta(minutes=i + 1) for i, p in enumerate(placed)})
    s3_settings = settings.__class__(**{**settings.__dict__, "lake_uri": "s3://bfp-lake/prod"})
    window = Window(BOUNDARY - dt.timedelta(hours=1), BOUNDARY)

    window_extract.extract_window(window, s3_settings)
    window_extract.extract_window(window, s3_settings)  # a re-run replaces the window on S3 too

    keys = sorted(
        o["Key"] for o in boto3.client("s3", endpoint_url=aws_endpoint).list_objects_v2(Bucket="bfp-lake")["Contents"]
    )
    assert "prod/raw/orders/window=20260201T0000/_manifest.json" in keys
    assert "prod/raw/orders/window=20260201T0000/part-00000.parquet" in keys
    assert "prod/raw/order_items/window=20260201T0000/_manifest.json" in keys
    assert not [k for k in keys if "/_staging/" in k and not k.endswith("/")]  # only empty folder markers
    lake = Lake.from_uri("s3://bfp-lake/prod")
    manifest = lake.manifest(lake.path("raw", "orders", "window=20260201T0000"))
    assert manifest["rows"] == 12
    assert manifest["files"] == ["s3://bfp-lake/prod/raw/orders/window=20260201T0000/part-00000.parquet"]
    rows = pq.read_table("bfp-lake/prod/raw/orders/window=20260201T0000/part-00000.parquet", filesystem=lake.fs)
    assert sorted(rows.column("id").to_pylist()) == sorted(p.id for p in placed)
