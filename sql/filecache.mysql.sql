-- MySQL/MariaDB: the file cache's inserts that keep a row a concurrent writer added first
-- (see filecache.sql); `ON DUPLICATE KEY UPDATE` instead of `ON CONFLICT`.

-- name: insert_storage
INSERT INTO *PREFIX*storages (id, available) VALUES (:id, 1) ON DUPLICATE KEY UPDATE id = id;

-- name: insert_mimetype
INSERT INTO *PREFIX*mimetypes (mimetype) VALUES (:mimetype) ON DUPLICATE KEY UPDATE mimetype = mimetype;

-- name: insert_entry
INSERT INTO *PREFIX*filecache
    (storage, path, path_hash, parent, name, mimetype, mimepart, size, mtime, storage_mtime, etag, permissions,
     checksum)
VALUES (:storage, :path, :path_hash, :parent, :name, :mimetype, :mimepart, :size, :mtime, :storage_mtime, :etag,
        :permissions, :checksum)
ON DUPLICATE KEY UPDATE
    parent = VALUES(parent), name = VALUES(name), mimetype = VALUES(mimetype), mimepart = VALUES(mimepart),
    size = VALUES(size), mtime = VALUES(mtime), storage_mtime = VALUES(storage_mtime), etag = VALUES(etag),
    permissions = VALUES(permissions), checksum = VALUES(checksum);
