-- Orders changed at or after the lake's published mark: their newest version is not in the lake yet, so the
-- reconciliation leaves them out on both sides. Few: the changes of the last window or two.
-- Parameters: %(through)s.
SELECT id FROM orders WHERE updated_at >= %(through)s;
