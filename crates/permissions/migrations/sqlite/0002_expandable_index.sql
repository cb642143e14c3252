-- Subject sets that name a relation (`Group:eng#members`) are what a check expands at every
-- node it visits. Indexing them apart keeps the many plain subjects of a node (users,
-- objects as subjects) out of that lookup.
CREATE INDEX permission_tuples_expandable ON permission_relation_tuples (namespace, object, relation, subject)
    WHERE subject_id IS NULL AND subject_set_relation <> '';
