-- Photos uploaded by participants (receipts, shelf photos): stored as files in the
-- data directory under their SHA-256, recorded here with who may see them.
CREATE TABLE photos (
    sha256       TEXT    PRIMARY KEY,
    program_id   BIGINT  NOT NULL REFERENCES programs(id),
    content_type TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    uploaded_by  BIGINT  NOT NULL REFERENCES users(id),
    created_at   BIGINT  NOT NULL
);
