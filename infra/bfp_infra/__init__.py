"""The platform's AWS stacks (CDK, Python). One module per part of the architecture: foundation (network, keys,
logs), lake (buckets, Glue catalog, Athena), oltp (RDS, RDS Proxy, ElastiCache), pipeline (EMR Serverless,
MWAA, alerts), storefront (EKS), alarms; `platform.build` wires them for one size of the capacity plan."""
