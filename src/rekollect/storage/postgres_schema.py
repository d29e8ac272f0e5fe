"""The PostgreSQL schema of the server stores, as numbered migration steps (``PostgresDatabase.migrate``).

Step *n* takes a database from schema version *n - 1* to *n*. Steps are appended, never edited: a
database made by an earlier release is brought forward by the steps it lacks when a node starts.

Version 1: the metadata tables and index change log of ``PostgresStore`` (the same tables as
``SqliteStore``, with PL/pgSQL triggers filling ``index_log`` and a statement trigger sending
``NOTIFY rekollect_index``), the ``secrets`` table (the pagination key), and the video job queue of
``PostgresJobStore`` (with each job's ``owner`` and ``lease_until``, and the progress of long jobs).

Version 2: the ``face_crops`` table (each face's picture, kept with ``--face-crops``).
Version 3: the Face Liveness sessions (``storage/liveness.py``).
Version 4: the stream processors and their latest matches (``streams.SqlStreamStore``), beside the
job queue that runs them.
"""

_VERSION_1 = """
CREATE TABLE collections (
    seq BIGSERIAL PRIMARY KEY,
    collection_id TEXT NOT NULL UNIQUE,
    arn TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    face_model_version TEXT NOT NULL
);
CREATE TABLE tags (
    collection_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (collection_id, key)
);
CREATE TABLE images (
    collection_id TEXT NOT NULL,
    image_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    external_image_id TEXT,
    PRIMARY KEY (collection_id, image_id)
);
CREATE INDEX images_by_hash ON images (collection_id, content_hash);
CREATE TABLE faces (
    seq BIGSERIAL PRIMARY KEY,
    collection_id TEXT NOT NULL,
    face_id TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    external_image_id TEXT,
    box_width DOUBLE PRECISION NOT NULL,
    box_height DOUBLE PRECISION NOT NULL,
    box_left DOUBLE PRECISION NOT NULL,
    box_top DOUBLE PRECISION NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    model_version TEXT NOT NULL,
    embedding BYTEA NOT NULL,
    user_id TEXT
);
CREATE INDEX faces_by_collection ON faces (collection_id, seq);
CREATE INDEX faces_by_image ON faces (collection_id, image_id);
CREATE INDEX faces_by_user ON faces (collection_id, user_id);
CREATE TABLE users (
    seq BIGSERIAL PRIMARY KEY,
    collection_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    vector BYTEA,
    UNIQUE (collection_id, user_id)
);
CREATE TABLE index_log (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    key TEXT
);
CREATE FUNCTION rekollect_log_face() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO index_log (kind, collection_id, key) VALUES ('faces', NEW.collection_id, NEW.face_id);
    ELSIF EXISTS (SELECT 1 FROM collections WHERE collection_id = OLD.collection_id) THEN
        INSERT INTO index_log (kind, collection_id, key) VALUES ('faces', OLD.collection_id, OLD.face_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER index_log_face AFTER INSERT OR DELETE ON faces FOR EACH ROW EXECUTE FUNCTION rekollect_log_face();
CREATE FUNCTION rekollect_log_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO index_log (kind, collection_id, key) VALUES ('users', NEW.collection_id, NEW.user_id);
    ELSIF EXISTS (SELECT 1 FROM collections WHERE collection_id = OLD.collection_id) THEN
        INSERT INTO index_log (kind, collection_id, key) VALUES ('users', OLD.collection_id, OLD.user_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER index_log_user_vector AFTER UPDATE OF vector ON users
    FOR EACH ROW EXECUTE FUNCTION rekollect_log_user();
CREATE TRIGGER index_log_user_deleted AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION rekollect_log_user();
CREATE FUNCTION rekollect_log_collection() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO index_log (kind, collection_id, key)
    VALUES ('faces', OLD.collection_id, NULL), ('users', OLD.collection_id, NULL);
    RETURN NULL;
END $$;
CREATE TRIGGER index_log_collection AFTER DELETE ON collections
    FOR EACH ROW EXECUTE FUNCTION rekollect_log_collection();
CREATE FUNCTION rekollect_notify_index() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('rekollect_index', '');
    RETURN NULL;
END $$;
CREATE TRIGGER index_log_notify AFTER INSERT ON index_log
    FOR EACH STATEMENT EXECUTE FUNCTION rekollect_notify_index();
CREATE TABLE saved_responses (
    scope TEXT NOT NULL,
    token TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    PRIMARY KEY (scope, token)
);
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
CREATE TABLE jobs (
    seq BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL UNIQUE,
    api TEXT NOT NULL,
    client_token TEXT,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    video_metadata TEXT,
    created DOUBLE PRECISION NOT NULL,
    finished DOUBLE PRECISION,
    owner TEXT,
    lease_until TIMESTAMPTZ
);
CREATE UNIQUE INDEX jobs_by_token ON jobs (api, client_token) WHERE client_token IS NOT NULL;
CREATE INDEX jobs_by_status ON jobs (status, seq);
CREATE TABLE job_results (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    timestamp BIGINT NOT NULL,
    person_index INTEGER,
    payload TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE job_progress (
    job_id TEXT PRIMARY KEY,
    done DOUBLE PRECISION NOT NULL
);
"""

_VERSION_2 = """
CREATE TABLE face_crops (
    collection_id TEXT NOT NULL,
    face_id TEXT NOT NULL PRIMARY KEY,
    jpeg BYTEA NOT NULL
);
CREATE INDEX face_crops_by_collection ON face_crops (collection_id);
"""

_VERSION_3 = """
CREATE TABLE liveness_sessions (
    session_id TEXT PRIMARY KEY,
    client_token TEXT,
    settings TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    started DOUBLE PRECISION,
    challenge TEXT,
    result TEXT
);
CREATE INDEX liveness_sessions_by_token ON liveness_sessions (client_token);
CREATE INDEX liveness_sessions_by_created ON liveness_sessions (created);
"""

_VERSION_4 = """
CREATE TABLE stream_processors (
    seq BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    arn TEXT NOT NULL,
    settings TEXT NOT NULL,
    tags TEXT NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    session_id TEXT,
    job_id TEXT,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);
CREATE TABLE stream_matches (
    seq BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    session_id TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX stream_matches_by_name ON stream_matches (name, seq);
"""

MIGRATIONS = (_VERSION_1, _VERSION_2, _VERSION_3, _VERSION_4)

