"""PHP's value rules, once: where the reference's bytes or decisions depend on how PHP converts,
compares or writes a value, the code asks these modules.

* `numbers`: 64-bit integers, numeric strings, floats written as PHP writes them;
* `casts`: `intval`, `floatval`, `boolval`, string conversion and the entity setters' `settype`;
* `arrays`: array keys and what makes an array a list;
* `compare`: PHP 8's `<=>` of scalars, `ksort` order and `strnatcmp`;
* `json`: `json_encode` and `json_decode`;
* `var_export`: `var_export` as config.php holds it.
"""
