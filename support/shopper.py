"""The simulated shopper of the drills and the demo: the storefront's JSON API used as a careful client uses it
(browse a category, look at a product, maybe search, put items in the cart, check out, retrying a 503 or a
lost answer with the same Idempotency-Key so the order is made once). One class; each caller says how its
shoppers behave (`Habits`) and reads what they got (`Answers`)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

SHIPPING = {"name": "Shopper", "address": "1 Main St", "city": "Austin", "state": "TX", "zip": "73301"}
LOST = 0  # the status recorded when a request got no answer (connection refused, reset, timed out)


@dataclass
class Answers:
    """What a group of clients got, shared by their threads: every status (LOST for no answer), when it came
    and how long it took; checkouts placed or failed; the orders answered 201 by idempotency key."""

    statuses: Counter = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time answered, status)
    checkouts: Counter = field(default_factory=Counter)  # "placed" / "failed"
    checkout_seconds: list[float] = field(default_factory=list)  # first attempt to 201, retries included
    committed: dict[str, int] = field(default_factory=dict)  # idempotency key -> order id answered 201
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, took: float) -> None:
        now = time.monotonic()
        with self.lock:
            self.statuses[status] += 1
            self.seconds.append(took)
            self.timeline.append((now, status))

    def checkout(self, key: str, order_id: int | None, took: float) -> None:
        with self.lock:
            self.checkouts["placed" if order_id is not None else "failed"] += 1
            if order_id is not None:
                self.committed[key] = order_id
                self.checkout_seconds.append(took)

    def failed_at(self) -> list[float]:
        """When each 5xx or lost answer came (monotonic time)."""
        with self.lock:
            return [when for when, status in self.timeline if status == LOST or status >= 500]

    @property
    def last_failure(self) -> float:
        """When the last 5xx or lost answer came (0.0: none did)."""
        return max(self.failed_at(), default=0.0)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def by_class(self) -> Counter:
        """Counts by "2xx" / "4xx" / "503" / "5xx" (other than 503) / "lost"."""
        classes = Counter()
        for status, count in self.statuses.items():
            classes["lost" if status == LOST else "503" if status == 503 else f"{status // 100}xx"] += count
        return classes


@dataclass(frozen=True)
class Catalog:
    """What shoppers pick from."""

    products: tuple[int, ...]
    categories: tuple[str, ...]
    words: tuple[str, ...] = ("usb", "lamp", "mug", "cable", "book", "kit", "pro", "case")


@dataclass(frozen=True)
class Habits:
    """How a shopper behaves on one visit and between visits."""

    search_share: float = 1.0  # share of visits that search
    items: tuple[int, ...] = (1,)  # how many products a visit puts in the cart (one of these)
    checkout_attempts: int = 3  # tries with the same Idempotency-Key after a 503 or a lost answer
    retry_pause: float | None = None  # seconds between tries; None: the answer's Retry-After (1 s without one)
    think_seconds: float = 0.0  # pause after a visit (±20%); 0: the next visit at once
    shipping: dict = field(default_factory=lambda: dict(SHIPPING))


class Client(threading.Thread):
    """A client with its own session (cookie jar), optionally from its own address (sent as X-Forwarded-For,
    the way the load balancer sends it), repeating `step()` until told to stop."""

    def __init__(self, base: str, answers: Answers, stop: threading.Event, seed: int | None = None, address=None):
        super().__init__(daemon=True)
        self.base, self.answers, self.stop, self.address = base, answers, stop, address
        self.session = requests.Session()
        self.rng = random.Random(seed)

    def call(self, method: str, path: str, **kwargs) -> requests.Response | None:
        """One request; its status (LOST without an answer) and time go to `answers`."""
        headers = kwargs.pop("headers", {})
        if self.address is not None:
            headers = {"X-Forwarded-For": self.address, **headers}
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.base + path, timeout=10, headers=headers, **kwargs)
        except requests.RequestException:
            self.answers.record(LOST, time.perf_counter() - started)
            return None
        self.answers.record(response.status_code, time.perf_counter() - started)
        return response

    def step(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        while not self.stop.is_set():
            self.step()


class Shopper(Client):
    """A shopper: each visit browses a category page, looks at a product, searches (sometimes), adds items and,
    when an item went in, checks out."""

    def __init__(self, base: str, catalog: Catalog, answers: Answers, stop: threading.Event, habits=Habits(), **kw):
        super().__init__(base, answers, stop, **kw)
        self.catalog, self.habits = catalog, habits

    def visit(self) -> int | None:
        """One visit; the order id when a checkout was answered 201 (a visit that could put nothing in the cart
        counts as a failed checkout: the shopper wanted to buy)."""
        catalog = self.catalog
        self.call("GET", f"/api/v1/categories/{self.rng.choice(catalog.categories)}/products", params={"limit": 12})
        self.call("GET", f"/api/v1/products/{self.rng.choice(catalog.products)}")
        if self.rng.random() < self.habits.search_share:
            self.call("GET", "/api/v1/search", params={"q": self.rng.choice(catalog.words), "limit": 5})
        added = False
        for _ in range(self.rng.choice(self.habits.items)):
            answer = self.call("POST", "/api/v1/cart/items", json={"product_id": self.rng.choice(catalog.products)})
            added |= answer is not None and answer.status_code == 200
        if not added:
            self.answers.checkout("", None, 0.0)
            return None
        return self.checkout()

    def checkout(self) -> int | None:
        """Checks the cart out with one Idempotency-Key, retried after a 503 or a lost answer (a 4xx — sold out,
        a limit — is an answer, not a fault); the order id when answered 201."""
        key, started = uuid.uuid4().hex, time.perf_counter()
        order_id = None
        for attempt in range(self.habits.checkout_attempts):
            answer = self.call("POST", "/api/v1/checkout", json=self.habits.shipping, headers={"Idempotency-Key": key})
            if answer is not None and answer.status_code == 201:
                order_id = answer.json()["id"]
                break
            if answer is not None and answer.status_code != 503:
                break
            if attempt + 1 < self.habits.checkout_attempts:
                pause = self.habits.retry_pause
                if pause is None:
                    pause = float(answer.headers.get("Retry-After", "1")) if answer is not None else 1.0
                time.sleep(pause)
        self.answers.checkout(key, order_id, time.perf_counter() - started)
        return order_id

    def step(self) -> None:
        self.visit()
        if self.habits.think_seconds:
            self.stop.wait(self.habits.think_seconds * self.rng.uniform(0.8, 1.2))


def run_for(clients: list[Client], seconds: float) -> None:
    """Starts the clients, lets them run `seconds`, stops them and waits for them to finish their step."""
    for client in clients:
        client.start()
    time.sleep(seconds)  # the load runs meanwhile
    for client in clients:
        client.stop.set()
    for client in clients:
        client.join(timeout=30)
