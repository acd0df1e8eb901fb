-- One row per shopper; historical shoppers carry the purchases file's Survey ResponseID.
CREATE TABLE IF NOT EXISTS customers (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  survey_response_id text UNIQUE CHECK (survey_response_id <> ''),
  email              text UNIQUE CHECK (position('@' IN email) > 1),
  home_state         char(2) CHECK (home_state ~ '^[A-Z]{2}$'),
  created_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE customers IS 'One row per shopper; historical ones keep their survey response id.';
