"""The bare-Flask JSON ceiling for `make bench-serve`: one route, no database, cache, session or metrics."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify(status="ok")
