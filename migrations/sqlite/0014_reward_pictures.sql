-- A photo shown in the showcase (a reward's picture) is seen by every participant of
-- its program, not only by its uploader and the staff who check photos.
ALTER TABLE photos ADD COLUMN public BIGINT NOT NULL DEFAULT 0;
