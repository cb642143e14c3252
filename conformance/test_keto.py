"""The official Python SDK for Keto (ory-keto-client) against `gatehouse permissions serve`:
every call goes through the SDK's request building and its pydantic models, so an answer
Keto clients cannot read fails here. The model is the reference document/folder/group OPL
(crates/permissions/tests/it/opl_model.rs); tests that write use objects of their own."""

import uuid

import ory_keto_client as keto
import pytest
from conftest import KETO_MODEL, keto_sdk
from ory_keto_client.exceptions import (
    ApiException,
    BadRequestException,
    ForbiddenException,
    NotFoundException,
)

MODEL_TUPLES = [
    "Group:eng#members@User:alice",
    "Group:eng#members@User:dave",
    "Group:eng#members@Group:leads#members",
    "Group:leads#members@User:carol",
    "Folder:root#viewers@Group:eng#members",
    "Document:spec#parents@Folder:root",
    "Document:spec#owners@User:bob",
    "Document:spec#blocked@User:dave",
    "Document:spec#view@User:erin",
]

BROKEN_OPL = "class Doc implements Namespace {\n  related: {\n    owners: Nobody[]\n  }\n}\n"


def rel(text: str) -> keto.Relationship:
    """`ns:obj#rel@subject` as the SDK's Relationship: `User:alice` is the subject set with
    the empty relation, `Group:eng#members` a subject set, `alice` a subject id."""
    ns, rest = text.split(":", 1)
    obj, rest = rest.split("#", 1)
    relation, subject = rest.split("@", 1)
    if ":" not in subject:
        return keto.Relationship(namespace=ns, object=obj, relation=relation, subject_id=subject)
    sns, rest = subject.split(":", 1)
    sobj, _, srel = rest.partition("#")
    return keto.Relationship(
        namespace=ns, object=obj, relation=relation,
        subject_set=keto.SubjectSet(namespace=sns, object=sobj, relation=srel),
    )


def text(r: keto.Relationship) -> str:
    """The inverse of `rel`, from what the SDK deserialized."""
    if r.subject_set is None:
        subject = r.subject_id
    else:
        s = r.subject_set
        subject = f"{s.namespace}:{s.object}" + (f"#{s.relation}" if s.relation else "")
    return f"{r.namespace}:{r.object}#{r.relation}@{subject}"


def query(r: keto.Relationship) -> dict:
    """A tuple as the SDK's query parameters (check, list and delete take them flat)."""
    q = {"namespace": r.namespace, "object": r.object, "relation": r.relation}
    if r.subject_set is None:
        q["subject_id"] = r.subject_id
    else:
        q["subject_set_namespace"] = r.subject_set.namespace
        q["subject_set_object"] = r.subject_set.object
        q["subject_set_relation"] = r.subject_set.relation
    return q


def insert(write: keto.RelationshipApi, *tuples: str) -> None:
    write.patch_relationships([keto.RelationshipPatch(action="insert", relation_tuple=rel(t)) for t in tuples])


def listed(read: keto.RelationshipApi, **filters) -> set:
    """Every tuple matching `filters`, following page tokens."""
    seen, token = [], None
    while True:
        page = read.get_relationships(page_token=token, **filters)
        assert isinstance(page, keto.Relationships)
        seen += [text(r) for r in page.relation_tuples or []]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)), seen
    return set(seen)


def error_of(e: ApiException, code: int) -> keto.GenericError:
    """The herodot error the SDK deserialized into ErrorGeneric for a documented status."""
    assert e.status == code, e.body
    assert isinstance(e.data, keto.ErrorGeneric), (e.data, e.body)
    assert e.data.error.code == code
    return e.data.error


def subject(node: keto.ExpandedPermissionTree) -> str:
    """An expand node's subject as text; Keto leaves the tuple's own fields empty."""
    t = node.tuple
    assert (t.namespace, t.object, t.relation) == ("", "", "")
    return text(t).split("@", 1)[1]


def shape(node: keto.ExpandedPermissionTree):
    """(type, subject, sorted children shapes): children order is not part of the API."""
    children = sorted(shape(c) for c in node.children or [])
    return (node.type, subject(node), children)


@pytest.fixture(scope="module")
def model(relationships_write):
    insert(relationships_write, *MODEL_TUPLES)


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:10]


# --- namespaces, metadata, ports -----------------------------------------------------------


def test_namespaces_are_the_opl_classes(relationships_read):
    got = relationships_read.list_relationship_namespaces()
    assert isinstance(got, keto.RelationshipNamespaces)
    assert all(isinstance(n, keto.Namespace) for n in got.namespaces)
    assert sorted(n.name for n in got.namespaces) == ["Document", "Folder", "Group", "User"]


def test_health_and_version_on_every_port(keto_server):
    for url in (keto_server.read, keto_server.write, keto_server.opl):
        meta = keto.MetadataApi(keto_sdk(url))
        assert meta.is_alive().status == "ok"
        assert meta.is_ready().status == "ok"
        version = meta.get_version()
        assert isinstance(version, keto.GetVersion200Response) and version.version


def test_the_read_port_cannot_write(relationships_read, uid):
    body = keto.CreateRelationshipBody.from_dict(rel(f"Document:{uid}#owners@User:mallory").to_dict())
    with pytest.raises(NotFoundException):
        relationships_read.create_relationship(body)
    with pytest.raises(NotFoundException):
        relationships_read.patch_relationships(
            [keto.RelationshipPatch(action="insert", relation_tuple=rel(f"Document:{uid}#owners@User:mallory"))]
        )
    with pytest.raises(NotFoundException):
        relationships_read.delete_relationships(namespace="Document")
    assert listed(relationships_read, namespace="Document", object=uid) == set()


# --- writing: create, patch, delete --------------------------------------------------------


def test_create_relationship_echoes_the_tuple(relationships_write, relationships_read, uid):
    with_set = rel(f"Document:{uid}#viewers@Group:eng#members")
    got = relationships_write.create_relationship_with_http_info(
        keto.CreateRelationshipBody.from_dict(with_set.to_dict())
    )
    assert got.status_code == 201
    assert isinstance(got.data, keto.Relationship) and got.data == with_set
    headers = {k.lower(): v for k, v in got.headers.items()}  # ApiResponse keeps a plain dict
    assert headers["location"] == (
        f"/relation-tuples?namespace=Document&object={uid}&relation=viewers"
        "&subject_set.namespace=Group&subject_set.object=eng&subject_set.relation=members"
    )

    # A plain object (`User:bob`) is a subject set with the empty relation; a subject id is bare.
    user = rel(f"Document:{uid}#owners@User:bob")
    assert relationships_write.create_relationship(keto.CreateRelationshipBody.from_dict(user.to_dict())) == user
    assert user.subject_set.relation == ""
    plain = rel(f"Document:{uid}#viewers@someone")
    created = relationships_write.create_relationship(keto.CreateRelationshipBody.from_dict(plain.to_dict()))
    assert (created.subject_id, created.subject_set) == ("someone", None)

    assert listed(relationships_read, namespace="Document", object=uid) == {
        f"Document:{uid}#viewers@Group:eng#members",
        f"Document:{uid}#owners@User:bob",
        f"Document:{uid}#viewers@someone",
    }


def test_create_in_an_unknown_namespace_is_404(relationships_write):
    body = keto.CreateRelationshipBody.from_dict(rel("Nope:a#b@User:x").to_dict())
    with pytest.raises(NotFoundException) as e:
        relationships_write.create_relationship(body)
    assert "Nope" in e.value.body


def test_patch_inserts_and_deletes_in_one_call(relationships_write, relationships_read, uid):
    insert(relationships_write, f"Document:{uid}#viewers@User:a", f"Document:{uid}#viewers@User:b")
    out = relationships_write.patch_relationships_with_http_info([
        keto.RelationshipPatch(action="delete", relation_tuple=rel(f"Document:{uid}#viewers@User:a")),
        keto.RelationshipPatch(action="insert", relation_tuple=rel(f"Document:{uid}#editors@Group:eng#members")),
        keto.RelationshipPatch(action="insert", relation_tuple=rel(f"Document:{uid}#owners@plain-id")),
    ])
    assert (out.status_code, out.data) == (204, None)
    assert listed(relationships_read, namespace="Document", object=uid) == {
        f"Document:{uid}#viewers@User:b",
        f"Document:{uid}#editors@Group:eng#members",
        f"Document:{uid}#owners@plain-id",
    }


def test_a_patch_is_one_transaction(relationships_write, relationships_read, uid):
    with pytest.raises(NotFoundException) as e:
        relationships_write.patch_relationships([
            keto.RelationshipPatch(action="insert", relation_tuple=rel(f"Document:{uid}#viewers@User:a")),
            keto.RelationshipPatch(action="insert", relation_tuple=rel(f"Nope:{uid}#viewers@User:a")),
        ])
    assert "Nope" in error_of(e.value, 404).reason
    assert listed(relationships_read, namespace="Document", object=uid) == set()


def test_delete_relationships_by_filter(relationships_write, relationships_read, permissions, uid):
    insert(
        relationships_write,
        f"Document:{uid}#viewers@User:u1",
        f"Document:{uid}#viewers@User:u2",
        f"Document:{uid}#editors@User:u1",
        f"Document:{uid}-other#viewers@User:u1",
        f"Document:{uid}-other#viewers@plain",
    )
    view_u2 = query(rel(f"Document:{uid}#view@User:u2"))
    assert permissions.check_permission(**view_u2).allowed

    out = relationships_write.delete_relationships_with_http_info(
        namespace="Document", object=uid, relation="viewers"
    )
    assert (out.status_code, out.data) == (204, None)
    assert listed(relationships_read, namespace="Document", object=uid) == {f"Document:{uid}#editors@User:u1"}
    assert not permissions.check_permission(**view_u2).allowed

    # By subject: a subject set with the empty relation is sent as `subject_set.relation=`.
    relationships_write.delete_relationships(
        namespace="Document", subject_set_namespace="User", subject_set_object="u1", subject_set_relation=""
    )
    assert listed(relationships_read, namespace="Document", object=uid) == set()
    assert listed(relationships_read, namespace="Document", object=f"{uid}-other") == {
        f"Document:{uid}-other#viewers@plain"
    }
    relationships_write.delete_relationships(namespace="Document", object=f"{uid}-other", subject_id="plain")
    assert listed(relationships_read, namespace="Document", object=f"{uid}-other") == set()

    # Idempotent; the namespace is required.
    relationships_write.delete_relationships(namespace="Document", object=uid)
    with pytest.raises(BadRequestException) as e:
        relationships_write.delete_relationships(object=uid)
    assert "namespace" in error_of(e.value, 400).reason


# --- reading: list with filters and pages ---------------------------------------------------


def test_list_relationships_with_filters(relationships_write, relationships_read, uid):
    insert(
        relationships_write,
        f"Group:{uid}#members@User:ann",
        f"Group:{uid}#members@Group:{uid}-sub#members",
        f"Group:{uid}-sub#members@User:ann",
        f"Folder:{uid}#viewers@Group:{uid}#members",
        f"Folder:{uid}#owners@ann",
    )
    assert listed(relationships_read, namespace="Group", object=uid) == {
        f"Group:{uid}#members@User:ann",
        f"Group:{uid}#members@Group:{uid}-sub#members",
    }
    assert listed(
        relationships_read, namespace="Group", subject_set_namespace="User",
        subject_set_object="ann", subject_set_relation="",
    ) == {f"Group:{uid}#members@User:ann", f"Group:{uid}-sub#members@User:ann"}
    assert listed(
        relationships_read, subject_set_namespace="Group", subject_set_object=uid,
        subject_set_relation="members",
    ) == {f"Folder:{uid}#viewers@Group:{uid}#members"}
    assert listed(relationships_read, namespace="Folder", object=uid, relation="owners") == {
        f"Folder:{uid}#owners@ann"
    }
    assert listed(relationships_read, subject_id="ann") == {f"Folder:{uid}#owners@ann"}
    # No filter at all lists every namespace.
    everything = listed(relationships_read)
    assert {f"Group:{uid}#members@User:ann", f"Folder:{uid}#owners@ann"} <= everything


def test_list_errors(relationships_read):
    with pytest.raises(NotFoundException) as e:
        relationships_read.get_relationships(namespace="Nope")
    assert "Nope" in error_of(e.value, 404).reason
    # Half a subject set is refused (the SDK maps no model to this 400).
    with pytest.raises(BadRequestException) as e:
        relationships_read.get_relationships(namespace="Group", subject_set_namespace="Group")
    assert "incomplete subject" in e.value.body
    with pytest.raises(BadRequestException):
        relationships_read.get_relationships(namespace="Group", page_token="not-a-token")


def test_list_relationships_in_pages(relationships_write, relationships_read, uid):
    tuples = [f"Document:{uid}#viewers@User:u{i}" for i in range(7)]
    insert(relationships_write, *tuples)

    pages, token = [], None
    while True:
        page = relationships_read.get_relationships(
            namespace="Document", object=uid, page_size=3, page_token=token
        )
        pages.append([text(r) for r in page.relation_tuples])
        token = page.next_page_token
        if token == "":
            break
        assert token and len(pages) < 10
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sorted(sum(pages, [])) == sorted(tuples)

    # A token stays valid while tuples are added: nothing is repeated or skipped.
    first = relationships_read.get_relationships(namespace="Document", object=uid, page_size=3)
    insert(relationships_write, f"Document:{uid}#viewers@User:late")
    seen = [text(r) for r in first.relation_tuples]
    token = first.next_page_token
    while token:
        page = relationships_read.get_relationships(
            namespace="Document", object=uid, page_size=3, page_token=token
        )
        seen += [text(r) for r in page.relation_tuples]
        token = page.next_page_token
    assert len(seen) == len(set(seen))
    assert set(tuples) <= set(seen)


# --- check -----------------------------------------------------------------------------------


MODEL_ANSWERS = [
    ("Document:spec#view@User:bob", True),  # owner, so editor, so viewer
    ("Document:spec#edit@User:alice", False),
    ("Document:spec#view@User:alice", True),  # eng member -> root viewer -> spec's parent
    ("Document:spec#view@User:carol", True),  # two group hops: leads -> eng
    ("Document:spec#view@User:dave", False),  # eng member but blocked
    ("Document:spec#view@alice", False),  # a subject id is not the object User:alice
    ("Document:spec#view@User:erin", True),  # a tuple stored on the permission itself
    ("Group:eng#members@User:carol", True),
    ("Folder:root#view@User:carol", True),
    ("Unknown:x#view@User:bob", False),  # an unknown namespace is denied, not an error
]


@pytest.mark.parametrize(("tuple_text", "allowed"), MODEL_ANSWERS)
def test_the_reference_model_answers(model, permissions, tuple_text, allowed):
    t = rel(tuple_text)
    # check_permission is GET /relation-tuples/check/openapi: always 200.
    got = permissions.check_permission_with_http_info(**query(t))
    assert got.status_code == 200
    assert isinstance(got.data, keto.CheckPermissionResult) and got.data.allowed is allowed
    # post_check_permission is POST /relation-tuples/check/openapi.
    body = keto.PostCheckPermissionBody.from_dict(t.to_dict())
    assert permissions.post_check_permission(post_check_permission_body=body).allowed is allowed


def test_max_depth_bounds_a_check(model, permissions):
    carol = query(rel("Document:spec#view@User:carol"))
    assert permissions.check_permission(max_depth=5, **carol).allowed
    assert not permissions.check_permission(max_depth=2, **carol).allowed
    body = keto.PostCheckPermissionBody.from_dict(rel("Document:spec#view@User:carol").to_dict())
    assert not permissions.post_check_permission(max_depth=2, post_check_permission_body=body).allowed


def test_check_or_error_mirrors_the_answer_in_the_status(model, permissions):
    bob, dave = rel("Document:spec#view@User:bob"), rel("Document:spec#view@User:dave")
    # check_permission_or_error is GET /relation-tuples/check: 200 allowed, 403 denied.
    got = permissions.check_permission_or_error_with_http_info(**query(bob))
    assert got.status_code == 200 and got.data == keto.CheckPermissionResult(allowed=True)
    with pytest.raises(ForbiddenException) as e:
        permissions.check_permission_or_error(**query(dave))
    assert e.value.status == 403
    assert e.value.data == keto.CheckPermissionResult(allowed=False)

    # post_check_permission_or_error is POST /relation-tuples/check.
    body = keto.PostCheckPermissionOrErrorBody.from_dict
    got = permissions.post_check_permission_or_error(post_check_permission_or_error_body=body(bob.to_dict()))
    assert got.allowed is True
    with pytest.raises(ForbiddenException) as e:
        permissions.post_check_permission_or_error(post_check_permission_or_error_body=body(dave.to_dict()))
    assert e.value.data == keto.CheckPermissionResult(allowed=False)


def test_an_undefined_relation_is_400(model, permissions):
    destroy = rel("Document:spec#destroy@User:bob")
    calls = [
        lambda: permissions.check_permission(**query(destroy)),
        lambda: permissions.check_permission_or_error(**query(destroy)),
        lambda: permissions.post_check_permission(
            post_check_permission_body=keto.PostCheckPermissionBody.from_dict(destroy.to_dict())
        ),
        lambda: permissions.post_check_permission_or_error(
            post_check_permission_or_error_body=keto.PostCheckPermissionOrErrorBody.from_dict(destroy.to_dict())
        ),
    ]
    for call in calls:
        with pytest.raises(BadRequestException) as e:
            call()
        error = error_of(e.value, 400)
        assert error.status == "Bad Request" and "destroy" in error.reason


def test_a_check_needs_one_whole_subject(permissions):
    with pytest.raises(BadRequestException) as e:
        permissions.check_permission(namespace="Group", object="eng", relation="members")
    assert "subject" in error_of(e.value, 400).reason
    with pytest.raises(BadRequestException) as e:
        permissions.check_permission(
            namespace="Group", object="eng", relation="members", subject_set_namespace="User"
        )
    assert "incomplete subject" in error_of(e.value, 400).reason


def test_batch_check(model, permissions):
    tuples = [
        "Document:spec#view@User:bob",
        "Document:spec#view@User:dave",
        "Nope:a#b@User:x",
        "Document:spec#view@User:carol",
        "Document:spec#destroy@User:bob",
    ]
    got = permissions.batch_check_permission(
        batch_check_permission_body=keto.BatchCheckPermissionBody(tuples=[rel(t) for t in tuples])
    )
    assert isinstance(got, keto.BatchCheckPermissionResult)
    assert all(isinstance(r, keto.CheckPermissionResultWithError) for r in got.results)
    assert [r.allowed for r in got.results] == [True, False, False, True, False]
    # Per-tuple errors, in order; answered tuples carry none.
    assert [bool(r.error) for r in got.results] == [False, False, True, False, True]
    assert "Nope" in got.results[2].error and "destroy" in got.results[4].error

    deep = permissions.batch_check_permission(
        max_depth=2,
        batch_check_permission_body=keto.BatchCheckPermissionBody(tuples=[rel(tuples[3])]),
    )
    assert [r.allowed for r in deep.results] == [False]

    # At most limit.max_batch_check_size (10) tuples.
    with pytest.raises(BadRequestException) as e:
        permissions.batch_check_permission(
            batch_check_permission_body=keto.BatchCheckPermissionBody(tuples=[rel(tuples[0])] * 11)
        )
    error_of(e.value, 400)


# --- expand --------------------------------------------------------------------------------


def test_expand_a_subject_set(model, permissions):
    tree = permissions.expand_permissions(namespace="Group", object="eng", relation="members")
    assert isinstance(tree, keto.ExpandedPermissionTree)
    assert tree.tuple.subject_set == keto.SubjectSet(namespace="Group", object="eng", relation="members")
    assert shape(tree) == (
        "union", "Group:eng#members", sorted([
            ("leaf", "User:alice", []),
            ("leaf", "User:dave", []),
            ("union", "Group:leads#members", [("leaf", "User:carol", [])]),
        ]),
    )
    # Without expand_rewrites only stored tuples are expanded: Document:spec#view has erin.
    tree = permissions.expand_permissions(namespace="Document", object="spec", relation="view")
    assert shape(tree) == ("union", "Document:spec#view", [("leaf", "User:erin", [])])


def test_expand_of_an_empty_set_is_a_leaf(permissions, uid):
    tree = permissions.expand_permissions(namespace="Document", object=uid, relation="viewers")
    assert (tree.type, tree.children, subject(tree)) == ("leaf", None, f"Document:{uid}#viewers")


def test_expand_of_an_unknown_namespace_is_404(permissions):
    with pytest.raises(NotFoundException) as e:
        permissions.expand_permissions(namespace="Nope", object="x", relation="y")
    assert "Nope" in error_of(e.value, 404).reason


def test_expand_nodes_cut_by_depth_or_cycles_are_leaves(model, relationships_write, permissions, uid):
    tree = permissions.expand_permissions(namespace="Group", object="eng", relation="members", max_depth=2)
    assert shape(tree) == (
        "union", "Group:eng#members", sorted([
            ("leaf", "User:alice", []),
            ("leaf", "User:dave", []),
            ("leaf", "Group:leads#members", []),
        ]),
    )
    tree = permissions.expand_permissions(namespace="Group", object="eng", relation="members", max_depth=1)
    assert shape(tree) == ("leaf", "Group:eng#members", [])

    insert(relationships_write, f"Group:{uid}-a#members@Group:{uid}-b#members",
           f"Group:{uid}-b#members@Group:{uid}-a#members")
    tree = permissions.expand_permissions(namespace="Group", object=f"{uid}-a", relation="members")
    assert shape(tree) == (
        "union", f"Group:{uid}-a#members",
        [("union", f"Group:{uid}-b#members", [("leaf", f"Group:{uid}-a#members", [])])],
    )


# --- OPL -----------------------------------------------------------------------------------


def test_opl_syntax_check(relationships_opl):
    ok = relationships_opl.check_opl_syntax(KETO_MODEL)
    assert isinstance(ok, keto.CheckOplSyntaxResult) and not ok.errors

    got = relationships_opl.check_opl_syntax(BROKEN_OPL)
    [error] = got.errors
    assert isinstance(error, keto.ParseError)
    assert "Nobody" in error.message
    # Keto's positions are {"Line": ..., "column": ...}; the SDK reads "Line" into .line.
    assert (error.start.line, error.end.line) == (3, 3)
    assert 1 <= error.start.column < error.end.column


# --- the legacy namespace list --------------------------------------------------------------


def test_a_namespace_list_without_rewrites(keto_list_server):
    read = keto.RelationshipApi(keto_sdk(keto_list_server.read))
    write = keto.RelationshipApi(keto_sdk(keto_list_server.write))
    check = keto.PermissionApi(keto_sdk(keto_list_server.read))
    assert [n.name for n in read.list_relationship_namespaces().namespaces] == ["app"]

    insert(write, "app:homepage#read@alice", "app:homepage#read@app:admins#member",
           "app:admins#member@bob")
    assert check.check_permission(**query(rel("app:homepage#read@alice"))).allowed
    assert check.check_permission(**query(rel("app:homepage#read@bob"))).allowed
    with pytest.raises(ForbiddenException):
        check.check_permission_or_error(**query(rel("app:homepage#read@carol")))
    # No OPL: any relation name may be asked about.
    assert not check.check_permission(**query(rel("app:homepage#write@alice"))).allowed

    tree = check.expand_permissions(namespace="app", object="homepage", relation="read")
    assert shape(tree) == (
        "union", "app:homepage#read",
        sorted([("leaf", "alice", []), ("union", "app:admins#member", [("leaf", "bob", [])])]),
    )
