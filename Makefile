# Black Friday Sales Platform. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
# The local services' URLs (DATABASE_URL, REDIS_URL, BFP_CACHE_REDIS_URL) come from scripts/services.sh, the one
# place their ports are set and derived (BFP_PG_PORT, BFP_REDIS_PORT, BFP_REDIS_CACHE_PORT: the state port + 1);
# a URL already in the environment wins.
SERVICES_ENV := $(shell BFP_PG_PORT=$(BFP_PG_PORT) BFP_REDIS_PORT=$(BFP_REDIS_PORT) \
	BFP_REDIS_CACHE_PORT=$(BFP_REDIS_CACHE_PORT) scripts/services.sh env)
$(foreach assignment,$(SERVICES_ENV),$(eval export $(subst =, ?= ,$(assignment))))
# pytest starts its own Postgres + Redis here, apart from the demo's (see tests/conftest.py)
export BFP_TEST_STATE_DIR ?= $(CURDIR)/.local/test-services
# The demo history runs through yesterday (five complete seasons before it), so it is made anew each day.
DEMO_THROUGH := $(shell date -u -d yesterday +%F)
DEMO_PURCHASES := data/demo/through-$(DEMO_THROUGH)/amazon-purchases.csv
# local Airflow for the pipeline DAGs (metadata: database bfp_airflow on the local Postgres); the lake is a folder
export AIRFLOW_HOME ?= $(CURDIR)/.local/airflow
export AIRFLOW__CORE__DAGS_FOLDER ?= $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export BFP_LAKE_URI ?= file://$(CURDIR)/data/lake
# Python caches compiled modules (the project's in __pycache__/, ignored by git; .venv-infra's, which
# scripts/bootstrap.sh leaves to the first process that imports each) for the next process: with the variable set,
# every Airflow task, DAG parse and spark-submit driver compiles the modules it imports from source again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: dag-tasks infra-venv synth test-infra test-infra-beside pytest deploy system services-env drill-trust bench-hot-product test-fast airflow airflow-stop drill-freshness capacity-plan spark-cluster spark-cluster-stop serve-scaled drill-scaled drill-abuse drill-serve drill-pipeline help venv services-up services-down services-status migrate demo serve test lint format bench-serve bench-generate \
	bench-extract airflow-init spark-package spark-import spark-order-lines \
	spark-marts bench-transform bench-transform-cluster bench-hourly bench-query profile-serve serve-stop query report mwaa-bundle clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

system: ## install the Debian packages the project uses (scripts/system-packages.txt) that are missing, once
	@scripts/system_packages.sh install

venv: system ## create .venv and install the pinned requirements (only when they changed)
	@scripts/bootstrap.sh

services-up: system ## start the local Postgres + Redis; prints the URLs
	@scripts/services.sh up

services-down: ## stop the local Postgres + Redis
	@scripts/services.sh down

services-env: ## print the local services' URLs the other targets use (derived by scripts/services.sh from the ports)
	@printf 'DATABASE_URL=%s\nREDIS_URL=%s\nBFP_CACHE_REDIS_URL=%s\n' "$$DATABASE_URL" "$$REDIS_URL" "$$BFP_CACHE_REDIS_URL"

services-status: ## show whether the local services run, and their URLs
	@scripts/services.sh status

migrate: venv services-up ## apply the OLTP schema (sql/oltp) to $DATABASE_URL
	@$(PY) -m serving.migrate

demo: venv services-up migrate ## end to end: demo data, OLTP load, storefront, shoppers, Airflow DAGs, DQ, registration, report
	@[ -f $(DEMO_PURCHASES) ] || $(PY) -m datagen generate --scale demo --last-day $(DEMO_THROUGH) --out $(DEMO_PURCHASES)
	$(PY) -m datagen load --purchases $(DEMO_PURCHASES)
	$(PY) -m datagen figures --purchases $(DEMO_PURCHASES)
	PYTHONPATH=$(CURDIR):$(CURDIR)/dags $(PY) scripts/demo.py --purchases $(DEMO_PURCHASES)

serve-stop: ## stop the storefront `make demo` left running
	@[ -f .local/storefront.pid ] && kill -- -$$(cat .local/storefront.pid) 2>/dev/null; rm -f .local/storefront.pid; echo "storefront stopped"

query: venv ## run an analyst query on the local catalog: make query Q=black_friday_by_year (or SQL="SELECT ...")
	@$(PY) -m analytics query $(if $(SQL),--sql "$(SQL)",$(Q))

report: venv ## render the interactive Black Friday dashboard (data/report/index.html) from the registered tables
	@$(PY) -m analytics report --out data/report

bench-query: venv ## canonical queries on the full-scale lake (p50/p95, bytes scanned), and the full pipeline on 1.8M purchases
	PYTHONPATH=$(CURDIR):$(CURDIR)/dags $(PY) -m bench.record bench-query -- $(PY) -m bench.query

test: venv lint ## lint, then every test against real Postgres, Redis, Spark, Airflow, DuckDB with the AWS stacks' checks beside them (what CI runs)
	@# the stacks' checks (their own venv installed meanwhile) run beside the tests, which leave a core idle much
	@# of the time; their output goes to a log, shown when they fail
	@$(MAKE) --no-print-directory -j2 test-infra-beside pytest

pytest: venv
	@# whole modules per process, longest first (tests/conftest.py orders them; xdist's own reorder would not)
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=25

test-infra-beside:
	@mkdir -p .local
	@if $(MAKE) --no-print-directory test-infra >.local/test-infra.log 2>&1; then \
		printf '\ntest-infra: %s (the stacks'"'"' checks; log: .local/test-infra.log)\n' "$$(tail -n 1 .local/test-infra.log)"; \
	else cat .local/test-infra.log; echo "test-infra FAILED (log: .local/test-infra.log)"; exit 1; fi

test-fast: venv ## the inner loop: the tests without Spark, Airflow runs or live servers (about a minute)
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not slow"

lint: venv ## ruff lint + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

serve: venv services-up migrate ## run the storefront (gunicorn, gthread) on http://127.0.0.1:8000 with the demo catalog
	@scripts/serve.sh

bench-serve: venv services-up ## Locust 1..500 users; ceiling vs cached detail (gunicorn, granian); checkout vs raw PG; staleness
	$(PY) -m bench.record bench-serve -- $(PY) -m bench.serve

profile-serve: venv services-up ## py-spy flame graphs of the storefront under load (.local/profile/), us per response by component
	$(PY) -m bench.record profile-serve -- sh -c '$(PY) -m bench.profile_serve --mix detail && \
		$(PY) -m bench.profile_serve --mix shopper && $(PY) -m bench.profile_serve --mix checkout'

spark-cluster: venv ## a Spark standalone cluster (master + 2 one-core workers) from pyspark; prints BFP_SPARK_MASTER
	@scripts/spark_cluster.sh up

spark-cluster-stop: ## stop the Spark standalone cluster
	@scripts/spark_cluster.sh down

capacity-plan: venv ## docs/capacity.md and infra/sizes.json from the figures the benchmarks kept in bench/results/
	$(PY) -m bench.capacity

serve-scaled: venv services-up migrate ## the storefront as N instances (BFP_INSTANCES, 3) behind HAProxy, Postgres behind PgBouncer; Ctrl-C stops
	PYTHONPATH=$(CURDIR) $(PY) -m support.scaled

drill-freshness: venv ## real scheduler, 15-minute windows: minutes from an order's commit to the analyst's query (about 1 h)
	$(PY) -m drills.freshness

drill-scaled: venv ## N instances behind HAProxy + PgBouncer vs one instance: throughput cost, staleness, kill -9, PG connections
	$(PY) -m drills.scaled

drill-abuse: venv ## shoppers beside bots (hoarders, a patient bot, junk keys), the cache role down, a Redis freeze, a doorbuster (table into serving/README.md)
	$(PY) -m bench.record drill-abuse --doc serving/README.md -- $(PY) -m drills.abuse

drill-serve: venv ## fault drill: shoppers on production gunicorn while a worker dies, Postgres restarts, Redis stops/freezes
	$(PY) -m drills.serve

bench-hot-product: venv ## one doorbuster: checkouts with every buyer on one product against the same load over 100 products (own services)
	$(PY) -m bench.record bench-hot-product -- $(PY) -m bench.hot_product

bench-generate: venv services-up ## full scale: generate 1.8M lines, load 873K products into a scratch database
	$(PY) -m bench.record bench-generate -- $(PY) -m bench.generate

bench-extract: venv services-up ## 1.8M orders in one window vs COPY TO STDOUT; RSS; a month of windows
	$(PY) -m bench.record bench-extract -- $(PY) -m bench.extract

dag-tasks: venv ## rewrite dags/README.md's list of the DAGs and their tasks (schedule, retries, pools) from the DAG files
	PYTHONPATH=$(CURDIR):$(CURDIR)/dags $(PY) -m bench.record dag-tasks --doc dags/README.md -- $(PY) -m support.dag_table

drill-trust: venv ## weeks of accidents on a real airflow standalone, 5-minute windows: outage, failed gate, lost window, kill -9, blind role (about 1.5 h; table into dags/README.md)
	PYTHONPATH=$(CURDIR):$(CURDIR)/dags $(PY) -m bench.record drill-trust --doc dags/README.md -- $(PY) -m drills.trust

drill-pipeline: venv ## fault drill on a real airflow standalone: held transaction, kill -9 Spark and scheduler, backfills, corrupt window, a week caught up in one run (ONLY="catch_up …" runs some)
	PYTHONPATH=$(CURDIR)/dags $(PY) -m drills.pipeline $(foreach drill,$(ONLY),--only $(drill))

airflow: venv services-up migrate ## Airflow for real (standalone) on http://127.0.0.1:8080, login admin/admin, DAGs unpaused
	@scripts/airflow.sh up

airflow-stop: ## stop every Airflow process `make airflow` started
	@scripts/airflow.sh down

airflow-init: venv services-up ## create the local Airflow home (.local/airflow), its metadata database (bfp_airflow) and the lake writers' pool
	@PYTHONPATH=$(CURDIR)/dags $(PY) -m pipeline.airflow_setup && echo "AIRFLOW_HOME=$(AIRFLOW_HOME)"

SPARK_ZIP := .local/dist/bfp_spark.zip
# spark-submit finds its Spark home with the python3 first on PATH: the venv's
SPARK_SUBMIT = PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/spark-submit --master local[2] --driver-memory 4g \
	--conf spark.ui.enabled=false --py-files $(SPARK_ZIP)

spark-package: venv ## zip spark/transforms + spark/jobs for --py-files (the same archive goes to EMR)
	@$(PY) scripts/package_spark.py $(SPARK_ZIP)

mwaa-bundle: venv ## the MWAA upload in .local/dist/mwaa: dags/ (DAGs, suites, DDL, dashboard), requirements.txt, startup.sh
	@$(PY) scripts/mwaa_bundle.py .local/dist/mwaa

# --- the aws target as code (infra/: a CDK app in its own venv) ---------------------------------------------------
INFRA_PY := $(CURDIR)/.venv-infra/bin/python
SIZE ?= seed
# Debian's Node (18) and this machine's (20) are past their end of life: jsii (the CDK's runtime) warns on every
# start; synthesis works on them, deploy from Node 22+
JSII_QUIET := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=18,20

infra-venv: system ## create .venv-infra from infra/requirements.txt (the CDK app, cfn-lint, checkov)
	@scripts/bootstrap.sh infra

synth: infra-venv mwaa-bundle spark-package ## synthesize the stacks of every size offline into infra/cdk.out/<size>/
	cd infra && $(JSII_QUIET) $(INFRA_PY) -m bfp_infra.synth

test-infra: infra-venv mwaa-bundle spark-package ## the stacks' tests: every size synthesized, assertions, cfn-lint, checkov
	cd infra && $(JSII_QUIET) $(INFRA_PY) -m pytest -q

deploy: infra-venv mwaa-bundle spark-package ## cdk deploy --all of SIZE=seed|10x|100x (needs AWS credentials, CERTIFICATE_ARN)
	@[ -n "$(CERTIFICATE_ARN)" ] || { echo "deploy: set CERTIFICATE_ARN=arn:aws:acm:... (the shop's HTTPS certificate)"; exit 2; }
	cd infra && npm ci --no-audit --no-fund && BFP_INFRA_PYTHON=$(INFRA_PY) npx cdk deploy --all -c size=$(SIZE) \
		--parameters bfp-storefront:CertificateArn=$(CERTIFICATE_ARN)

spark-import: spark-package ## Spark: demo purchases CSV -> raw/purchases/import=demo (bad lines quarantined)
	$(SPARK_SUBMIT) spark/jobs/import_purchases.py --input $(DEMO_PURCHASES) --lake $(BFP_LAKE_URI) --import-id demo

spark-order-lines: spark-package ## Spark: the demo import + every complete OLTP window -> curated/order_lines
	$(SPARK_SUBMIT) spark/jobs/build_order_lines.py --lake $(BFP_LAKE_URI) --purchases-import demo --all-windows

spark-marts: spark-package ## Spark: curated/order_lines -> marts (daily, state, category, cube, BF summary)
	$(SPARK_SUBMIT) spark/jobs/build_marts.py --lake $(BFP_LAKE_URI)

bench-hourly: venv ## the hourly refresh on lakes a day, a month, a year and five years old, beside its floor; file system calls; 10-1000x windows
	PYTHONPATH=$(CURDIR):$(CURDIR)/dags $(PY) -m bench.record bench-hourly -- $(PY) -m bench.hourly

comma := ,
bench-transform: venv ## Spark at full scale (SCALES=1,2,4: 1x, 2x and 4x the 1.8M lines): import + curated + marts against a floor; CSV vs Parquet size
	$(PY) -m bench.record bench-transform -- $(PY) -m bench.transform --scales $(or $(SCALES),1)

bench-transform-cluster: venv spark-cluster ## the same build at SCALES (1,2,4) on the standalone cluster: the driver's heap apart from the executors'
	$(PY) -m bench.record bench-transform-cluster -- $(PY) -m bench.transform --scales $(or $(SCALES),1$(comma)2$(comma)4) \
		--master spark://127.0.0.1:$${BFP_SPARK_MASTER_PORT:-7077} --lake data/bench/spark-lake-cluster

clean: services-down ## stop services and remove generated data, services state and the venv
	rm -rf .local data $(VENV)
