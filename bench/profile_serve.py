"""`make profile-serve`: where a storefront request's CPU goes, sampled by py-spy under load.

The storefront runs under gunicorn with its production config on the full catalog (bench-serve's database);
Locust drives one mix (the Shopper mix at 250 users, or the checkout loop) while py-spy samples every worker.
Writes a flame graph (SVG) and prints, per component, the microseconds of GIL-holding Python a request costs
(samples / rate / requests answered), attributed to the innermost component on each sampled stack.

Usage: python -m bench.profile_serve [--mix shopper|checkout|detail] [--seconds 20] [--out .local/profile]
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.serve import BIN, ROOT, bench_environment, locust_command, parse_with_services, server, warm_hot_set

# (component, path fragments of its frames); a stack is charged to the first match walking from its leaf.
COMPONENTS = (
    ("access log (gunicorn glogging, JsonAccessLogger)", ("gunicorn/glogging.py", "serving/gunicorn.conf.py")),
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    ("session cookie (flask sessions, itsdangerous)", ("flask/sessions.py", "itsdangerous/")),
    ("JSON encode/decode", ("json/", "flask/json/")),
    ("Redis client (redis-py, hiredis)", ("redis/", "hiredis")),
    ("PostgreSQL client (psycopg, pool)", ("psycopg/", "psycopg_pool/")),
    ("routing (werkzeug routing)", ("werkzeug/routing/",)),
    ("request arguments (webargs, marshmallow)", ("webargs/", "marshmallow/", "flask_smorest/")),
    ("CSRF, rate limit (flask_wtf, limits)", ("flask_wtf/", "limits/")),
    ("request/response objects (werkzeug)", ("werkzeug/",)),
    ("Flask dispatch and contexts", ("flask/",)),
    ("gunicorn HTTP parsing and sockets", ("gunicorn/",)),
    ("storefront code (serving/)", ("serving/",)),
)
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def component_of(stack: list[str]) -> str:
    """The component of the innermost frame that belongs to one (stack: root first, as py-spy writes it)."""
    for frame in reversed(stack):
        match = FRAME.match(frame)
        where = match.group("file") if match else frame
        for name, fragments in COMPONENTS:
            if any(_belongs(where, fragment) for fragment in fragments):
                return name
    return "other (Python runtime, threading, stdlib)"


def _belongs(where: str, fragment: str) -> bool:
    """py-spy names a file by its path below site-packages or the project ("flask/app.py", "serving/db.py")."""
    if fragment.endswith("/"):
        return where.startswith(fragment) or f"/{fragment}" in where
    return fragment in where


def breakdown(raw_stacks: str) -> collections.Counter:
    """Samples per component from py-spy's raw output (`frame;frame;... count`, one stack per line)."""
    samples: collections.Counter = collections.Counter()
    for line in raw_stacks.splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not stack_text or not count.isdigit():
            continue
        frames = stack_text.split(";")
        if not any("gunicorn: worker" in frame for frame in frames):
            continue  # the arbiter (master), not a worker answering requests
        samples[component_of(frames)] += int(count)
    return samples


def responses_answered(url: str) -> float:
    text = requests.get(url + "/metrics", timeout=10).text
    return sum(float(v) for v in re.findall(r"^storefront_responses_total\{[^}]*\} ([\d.e+]+)$", text, re.M))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_serve", description=__doc__.splitlines()[0])
    parser.add_argument("--mix", choices=("shopper", "checkout", "detail"), default="shopper")
    parser.add_argument("--seconds", type=int, default=20, help="sampling time (load runs 5 s longer)")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=ROOT / ".local" / "profile")
    args = parse_with_services(parser, argv)
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="bfp-profile-"))
    _, sample, env = bench_environment(args.database_url, args.redis_url, args.cache_redis_url, args.purchases, scratch)
    svg, raw = args.out / f"storefront-{args.mix}.svg", args.out / f"storefront-{args.mix}.txt"

    with server("gunicorn", env) as (url, pid, internal_url):
        warm_hot_set(url, sample["hot_products"])
        if args.mix == "detail":
            load = subprocess.Popen(
                ["wrk", "-t2", "-c64", f"-d{args.seconds + 5}s", f"{url}/api/v1/products/{sample['hot_products'][0]}"],
                stdout=subprocess.DEVNULL,
            )
        else:
            user_class, users = {"shopper": ("Shopper", 250), "checkout": ("CheckoutShopper", 50)}[args.mix]
            load = subprocess.Popen(
                locust_command(url, users, args.seconds + 5, user_class),
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        time.sleep(3)  # past the ramp-up: sample the steady state
        before = responses_answered(internal_url)
        spy = [str(BIN / "py-spy"), "record", "--pid", str(pid), "--subprocesses", "--gil", "--nonblocking"]
        spy += ["--rate", str(args.rate), "--duration", str(args.seconds)]
        samplers = [
            subprocess.Popen([*spy, "--format", "flamegraph", "--output", str(svg)], stdout=subprocess.DEVNULL),
            subprocess.Popen([*spy, "--format", "raw", "--output", str(raw)], stdout=subprocess.DEVNULL),
        ]
        for sampler in samplers:
            if sampler.wait() != 0:
                print("py-spy failed: it needs ptrace rights (run as root, or set kernel.yama.ptrace_scope=0)")
                return 1
        answered = responses_answered(internal_url) - before
        load.wait()

    # py-spy writes the bytes of a frame name as it found them: a cut multi-byte character is not UTF-8
    samples = breakdown(raw.read_text(encoding="utf-8", errors="replace"))
    total = sum(samples.values())
    per_request_us = 1e6 * total / args.rate / max(answered, 1)
    print(f"profile-serve: {args.mix} mix, {answered:,.0f} responses in {args.seconds} s sampled at {args.rate}/s")
    print(f"GIL-holding Python per response: {per_request_us:,.0f} us (all workers; sockets and waits excluded)")
    print(f"{'component':<48}{'share':>7}{'us/response':>13}")
    for name, count in samples.most_common():
        print(f"{name:<48}{count / total:>7.1%}{per_request_us * count / total:>13,.0f}")
    print(f"flame graph: {svg}\nraw stacks:  {raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
