#!/bin/bash
# MWAA's startup script (uploaded as startup.sh by `cdk deploy`, from the bundle scripts/mwaa_bundle.py builds).
# MWAA runs it on every scheduler, worker and web server before Airflow starts. The stack sets the pipeline's
# settings as the environment's Airflow configuration options `bfp.<name>`, which MWAA exports as
# AIRFLOW__BFP__<NAME>; the tasks read BFP_<NAME> (pipeline.settings), and DATABASE_URL for the OLTP database.
# Sourced, not executed: only exported variables survive.
for variable in $(compgen -e | grep '^AIRFLOW__BFP__'); do
    name="${variable#AIRFLOW__BFP__}"
    if [ "$name" = "DATABASE_URL" ]; then
        export DATABASE_URL="${!variable}"
    else
        export "BFP_${name}=${!variable}"
    fi
done
