-- Nextcloud's file cache (oc_storages, oc_mimetypes, oc_filecache and the rows that hang off a
-- file id), read and written the way lib/private/Files/Cache does. Only present on a database
-- that a real Nextcloud created; see plugin/ncpasswords/files/.

-- name: storage
SELECT numeric_id FROM *PREFIX*storages WHERE id = :id;

-- A storage, MIME type or file row that a concurrent writer (Nextcloud's scanner, another command)
-- added first is kept: the first two are left as they are, a file row gets this writer's values
-- under its existing file id, as Nextcloud's Cache::insert does when the row appears meanwhile.
-- name: insert_storage
INSERT INTO *PREFIX*storages (id, available) VALUES (:id, 1) ON CONFLICT (id) DO NOTHING;

-- name: mimetypes
SELECT id, mimetype FROM *PREFIX*mimetypes;

-- name: insert_mimetype
INSERT INTO *PREFIX*mimetypes (mimetype) VALUES (:mimetype) ON CONFLICT (mimetype) DO NOTHING;

-- name: entry
SELECT fileid, parent, name, mimetype, size, mtime, storage_mtime, etag, permissions, unencrypted_size
FROM *PREFIX*filecache WHERE storage = :storage AND path_hash = :path_hash;

-- name: children
SELECT fileid, parent, name, mimetype, size, mtime, storage_mtime, etag, permissions, unencrypted_size
FROM *PREFIX*filecache WHERE parent = :parent AND storage = :storage ORDER BY name;

-- name: child_sizes
SELECT size, unencrypted_size FROM *PREFIX*filecache WHERE parent = :parent AND storage = :storage;

-- name: insert_entry
INSERT INTO *PREFIX*filecache
    (storage, path, path_hash, parent, name, mimetype, mimepart, size, mtime, storage_mtime, etag, permissions,
     checksum)
VALUES (:storage, :path, :path_hash, :parent, :name, :mimetype, :mimepart, :size, :mtime, :storage_mtime, :etag,
        :permissions, :checksum)
ON CONFLICT (storage, path_hash) DO UPDATE
SET parent = excluded.parent, name = excluded.name, mimetype = excluded.mimetype, mimepart = excluded.mimepart,
    size = excluded.size, mtime = excluded.mtime, storage_mtime = excluded.storage_mtime, etag = excluded.etag,
    permissions = excluded.permissions, checksum = excluded.checksum;

-- name: update_entry
UPDATE *PREFIX*filecache
SET parent = :parent, name = :name, mimetype = :mimetype, mimepart = :mimepart, size = :size, mtime = :mtime,
    storage_mtime = :storage_mtime, etag = :etag, permissions = :permissions, checksum = :checksum
WHERE fileid = :fileid;

-- name: update_size
UPDATE *PREFIX*filecache SET size = :size, unencrypted_size = :unencrypted_size WHERE fileid = :fileid;

-- name: update_etag
UPDATE *PREFIX*filecache SET etag = :etag WHERE fileid = :fileid;

-- name: delete_entry
DELETE FROM *PREFIX*filecache WHERE fileid = :fileid;

-- name: delete_extended
DELETE FROM *PREFIX*filecache_extended WHERE fileid = :fileid;

-- name: delete_metadata
DELETE FROM *PREFIX*files_metadata WHERE file_id = :fileid;

-- name: delete_metadata_index
DELETE FROM *PREFIX*files_metadata_index WHERE file_id = :fileid;

-- name: update_folder_size
UPDATE *PREFIX*filecache SET size = :size WHERE fileid = :fileid;
