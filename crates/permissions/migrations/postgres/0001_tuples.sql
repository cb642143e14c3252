-- Relation tuples. `subject` is one column whatever the subject's form (`id:alice`,
-- `set:Group:eng#members`) so uniqueness and lookups need no NULL handling. `seq` orders
-- pages: new tuples get higher numbers, so page tokens stay valid while tuples are added.
CREATE TABLE permission_relation_tuples (
    seq BIGSERIAL PRIMARY KEY,
    namespace TEXT NOT NULL,
    object TEXT NOT NULL,
    relation TEXT NOT NULL,
    subject TEXT NOT NULL,
    subject_id TEXT,
    subject_set_namespace TEXT,
    subject_set_object TEXT,
    subject_set_relation TEXT,
    created_at BIGINT NOT NULL
);
-- Checks and expands: a tuple, or every subject of (namespace, object, relation).
CREATE UNIQUE INDEX permission_tuples_forward ON permission_relation_tuples (namespace, object, relation, subject);
-- Reverse lookups: what a subject reaches.
CREATE INDEX permission_tuples_reverse ON permission_relation_tuples (subject, namespace, relation, object);
