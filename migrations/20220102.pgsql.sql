-- Version20220102 (PostgreSQL only): restart each id sequence past the highest id, as the
-- reference does after copying legacy rows. A no-op on empty tables.

SELECT setval('*PREFIX*passwords_password_id_seq', MAX(id)) FROM *PREFIX*passwords_password HAVING MAX(id) IS NOT NULL;
SELECT setval('*PREFIX*passwords_password_rv_id_seq', MAX(id)) FROM *PREFIX*passwords_password_rv HAVING MAX(id) IS NOT NULL;
SELECT setval('*PREFIX*passwords_folder_id_seq', MAX(id)) FROM *PREFIX*passwords_folder HAVING MAX(id) IS NOT NULL;
SELECT setval('*PREFIX*passwords_folder_rv_id_seq', MAX(id)) FROM *PREFIX*passwords_folder_rv HAVING MAX(id) IS NOT NULL;
SELECT setval('*PREFIX*passwords_tag_id_seq', MAX(id)) FROM *PREFIX*passwords_tag HAVING MAX(id) IS NOT NULL;
SELECT setval('*PREFIX*passwords_tag_rv_id_seq', MAX(id)) FROM *PREFIX*passwords_tag_rv HAVING MAX(id) IS NOT NULL;
SELECT setval('*PREFIX*passwords_pw_tag_rel_id_seq', MAX(id)) FROM *PREFIX*passwords_pw_tag_rel HAVING MAX(id) IS NOT NULL;
SELECT setval('*PREFIX*passwords_share_id_seq', MAX(id)) FROM *PREFIX*passwords_share HAVING MAX(id) IS NOT NULL;
SELECT setval('*PREFIX*passwords_session_id_seq', MAX(id)) FROM *PREFIX*passwords_session HAVING MAX(id) IS NOT NULL;
SELECT setval('*PREFIX*passwords_keychain_id_seq', MAX(id)) FROM *PREFIX*passwords_keychain HAVING MAX(id) IS NOT NULL;
SELECT setval('*PREFIX*passwords_challenge_id_seq', MAX(id)) FROM *PREFIX*passwords_challenge HAVING MAX(id) IS NOT NULL;
SELECT setval('*PREFIX*passwords_registration_id_seq', MAX(id)) FROM *PREFIX*passwords_registration HAVING MAX(id) IS NOT NULL;
