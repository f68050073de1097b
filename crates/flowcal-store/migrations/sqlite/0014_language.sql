-- The language of a user's pages (en, de or ja); null: the browser's choice.
ALTER TABLE users ADD COLUMN language TEXT;
