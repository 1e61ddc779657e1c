-- MySQL / MariaDB only: put a table aside under another name (and back), for --clear-schema.

-- name: rename_table
RENAME TABLE *PREFIX**TABLE* TO *PREFIX**NEWNAME*;
