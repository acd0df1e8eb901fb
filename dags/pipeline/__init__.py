"""Pipeline logic the DAGs call: watermark windows, the extract, the lake, audit and alerts.

Lives under dags/ because MWAA puts the dags folder on sys.path; nothing here runs at import time.
"""
