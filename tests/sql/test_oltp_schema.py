"""The OLTP schema's rules, checked against a real PostgreSQL: constraints, triggers, migrations."""

from __future__ import annotations

import shutil

import psycopg2
import psycopg2.errors
import pytest

from serving.migrate import DEFAULT_SQL_DIR, MigrationError, apply_migrations

SHIPPING = {
    "shipping_name": "Ada Shopper",
    "shipping_address": "1 Main St",
    "shipping_city": "Springfield",
    "shipping_state": "IL",
    "shipping_zip": "62701",
}


def insert_product(cur, asin="B000000001", price="9.99", stock=5) -> int:
    cur.execute("INSERT INTO categories (code, name) VALUES ('TOYS', 'Toys') ON CONFLICT (code) DO NOTHING")
    cur.execute(
        "INSERT INTO products (asin, title, category_id, price, stock) "
        "SELECT %s, 'A toy', id, %s, %s FROM categories WHERE code = 'TOYS' RETURNING id",
        (asin, price, stock),
    )
    return cur.fetchone()[0]


def insert_order(cur, status="pending") -> int:
    cur.execute("INSERT INTO customers (email) VALUES (%s) RETURNING id", (f"{status}-{id(cur)}@example.com",))
    customer_id = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO orders (customer_id, status, item_count, subtotal, shipping_fee, total, shipping_name, "
        "shipping_address, shipping_city, shipping_state, shipping_zip) "
        "VALUES (%s, %s, 1, 9.99, 0, 9.99, %s, %s, %s, %s, %s) RETURNING id",
        (customer_id, status, *SHIPPING.values()),
    )
    return cur.fetchone()[0]


def updated_at_of(cur, order_id: int):
    cur.execute("SELECT updated_at FROM orders WHERE id = %s", (order_id,))
    return cur.fetchone()[0]


def test_migrations_apply_once_and_record_every_file(database_url):
    assert apply_migrations(database_url) == []  # the template already has them all
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        recorded = [row[0] for row in cur.fetchall()]
    assert recorded == sorted(p.stem for p in DEFAULT_SQL_DIR.glob("*.sql"))


def test_an_edited_migration_is_refused(database_url, tmp_path):
    edited = tmp_path / "oltp"
    shutil.copytree(DEFAULT_SQL_DIR, edited)
    first = sorted(edited.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")
    with pytest.raises(MigrationError, match=f"{first.name} changed after it was applied"):
        apply_migrations(database_url, edited)


def test_negative_stock_is_rejected(db):
    with db.cursor() as cur:
        product_id = insert_product(cur, stock=1)
        db.commit()
        with pytest.raises(psycopg2.errors.CheckViolation, match="products_stock_check"):
            cur.execute("UPDATE products SET stock = stock - 2 WHERE id = %s", (product_id,))
    db.rollback()
    with db.cursor() as cur:
        cur.execute("SELECT stock FROM products WHERE id = %s", (product_id,))
        assert cur.fetchone()[0] == 1


@pytest.mark.parametrize(
    ("column", "value", "constraint"),
    [
        ("price", "-0.01", "products_price_check"),
        ("asin", "not-an-asin", "products_asin_check"),
    ],
)
def test_product_values_are_checked(db, column, value, constraint):
    with db.cursor() as cur:
        product_id = insert_product(cur)
        with pytest.raises(psycopg2.errors.CheckViolation, match=constraint):
            cur.execute(f"UPDATE products SET {column} = %s WHERE id = %s", (value, product_id))  # noqa: S608


def test_order_line_quantity_must_be_positive(db):
    with db.cursor() as cur:
        product_id = insert_product(cur)
        order_id = insert_order(cur)
        with pytest.raises(psycopg2.errors.CheckViolation, match="order_items_quantity_check"):
            cur.execute(
                "INSERT INTO order_items (order_id, line_no, product_id, asin, title, category_code, unit_price, "
                "quantity) VALUES (%s, 1, %s, 'B000000001', 'A toy', 'TOYS', 9.99, 0)",
                (order_id, product_id),
            )


def test_order_total_must_add_up(db):
    with db.cursor() as cur:
        order_id = insert_order(cur)
        with pytest.raises(psycopg2.errors.CheckViolation, match="orders_total_is_subtotal_plus_shipping"):
            cur.execute("UPDATE orders SET total = 1.00 WHERE id = %s", (order_id,))


def test_updated_at_is_bumped_by_the_database_on_every_update(db):
    with db.cursor() as cur:
        order_id = insert_order(cur)
        db.commit()
        created = updated_at_of(cur, order_id)
        cur.execute("UPDATE orders SET status = 'paid' WHERE id = %s", (order_id,))
        db.commit()
        paid = updated_at_of(cur, order_id)
        # A client cannot set updated_at itself: the trigger overrides it with the transaction time.
        cur.execute("UPDATE orders SET updated_at = '2000-01-01' WHERE id = %s RETURNING updated_at", (order_id,))
        overridden = cur.fetchone()[0]
        cur.execute("SELECT now()")
        transaction_time = cur.fetchone()[0]
        db.commit()
    assert created < paid < overridden
    assert overridden == transaction_time


def test_updated_at_is_timestamptz_with_the_watermark_index(db):
    with db.cursor() as cur:
        cur.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'orders' AND column_name = 'updated_at'"
        )
        assert cur.fetchone()[0] == "timestamp with time zone"
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'orders_updated_at_id_idx'")
        assert cur.fetchone()[0].endswith("(updated_at, id)")


def test_a_line_added_later_bumps_its_order(db):
    with db.cursor() as cur:
        product_id = insert_product(cur)
        order_id = insert_order(cur)
        db.commit()
        before = updated_at_of(cur, order_id)
        cur.execute(
            "INSERT INTO order_items (order_id, line_no, product_id, asin, title, category_code, unit_price, "
            "quantity) VALUES (%s, 1, %s, 'B000000001', 'A toy', 'TOYS', 9.99, 2) RETURNING line_total",
            (order_id, product_id),
        )
        assert str(cur.fetchone()[0]) == "19.98"
        db.commit()
        assert updated_at_of(cur, order_id) > before


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["paid", "shipped", "delivered"], True),
        (["cancelled"], True),
        (["paid", "cancelled"], True),
        (["shipped"], False),
        (["paid", "shipped", "cancelled"], False),
        (["paid", "shipped", "delivered", "pending"], False),
    ],
)
def test_status_follows_the_lifecycle(db, path, allowed):
    with db.cursor() as cur:
        order_id = insert_order(cur)
        db.commit()
        try:
            for status in path:
                cur.execute("UPDATE orders SET status = %s WHERE id = %s", (status, order_id))
            db.commit()
            reached = path[-1]
        except psycopg2.errors.CheckViolation as exc:
            db.rollback()
            assert "status cannot change" in str(exc)
            reached = None
    assert (reached is not None) == allowed


def test_unknown_status_is_rejected(db):
    with db.cursor() as cur:
        with pytest.raises(psycopg2.errors.CheckViolation, match="orders_status_check"):
            insert_order(cur, status="lost")


def test_soft_delete_bumps_updated_at(db):
    with db.cursor() as cur:
        order_id = insert_order(cur)
        db.commit()
        before = updated_at_of(cur, order_id)
        cur.execute("UPDATE orders SET deleted_at = now() WHERE id = %s", (order_id,))
        db.commit()
        assert updated_at_of(cur, order_id) > before
