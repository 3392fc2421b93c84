-- Everyone who uploaded a photo: files are kept once per content hash, but two people
-- sending the same picture (a shared fixture, a forwarded image) each own their upload
-- and may see it; before this only the first uploader could.
-- Keep in meaning-for-meaning step with migrations/postgres/0023_photo_uploads.sql.
CREATE TABLE photo_uploads (
    sha256          TEXT    NOT NULL REFERENCES photos(sha256),
    user_id         BIGINT  NOT NULL REFERENCES users(id),
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (sha256, user_id)
);
INSERT INTO photo_uploads (sha256, user_id, program_id, created_at)
SELECT sha256, uploaded_by, program_id, created_at FROM photos;
