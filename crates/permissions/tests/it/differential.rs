//! The engine and the reverse lookups against a second, naive reading of the same model. Random worlds of users,
//! nested groups, nested folders and documents (seeded, acyclic, so every answer is
//! defined without a depth limit) are written through the API, and every check the model
//! allows is asked over HTTP and compared with a plain recursive evaluation of the OPL
//! rules written out by hand below, which shares no code with the engine.

use crate::harness::{backends, opl_config, start};
use crate::opl_model::MODEL;
use serde_json::json;
use std::collections::HashSet;

/// A small deterministic generator (xorshift64*), enough to vary worlds between seeds.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A check's outcome in the depth-aware reading: allowed, denied, or cut by the depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum V {
    Yes,
    No,
    Unknown,
}

impl V {
    fn or(self, other: V) -> V {
        match (self, other) {
            (V::Yes, _) | (_, V::Yes) => V::Yes,
            (V::Unknown, _) | (_, V::Unknown) => V::Unknown,
            _ => V::No,
        }
    }
    fn and(self, other: V) -> V {
        match (self, other) {
            (V::No, _) | (_, V::No) => V::No,
            (V::Unknown, _) | (_, V::Unknown) => V::Unknown,
            _ => V::Yes,
        }
    }
    fn not(self) -> V {
        match self {
            V::Yes => V::No,
            V::No => V::Yes,
            V::Unknown => V::Unknown,
        }
    }
}

const USERS: usize = 8;
const GROUPS: usize = 5;
const FOLDERS: usize = 6;
const DOCUMENTS: usize = 8;

/// Tuples as `(namespace, object, relation, subject)`, the subject in text form.
#[derive(Default)]
struct World {
    tuples: HashSet<(String, String, String, String)>,
}

impl World {
    fn random(seed: u64) -> World {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut w = World::default();
        let user = |rng: &mut Rng| format!("User:u{}", rng.below(USERS));
        for g in 0..GROUPS {
            for _ in 0..rng.below(3) {
                let u = user(&mut rng);
                w.add("Group", &format!("g{g}"), "members", &u);
            }
            // A group may contain a later group only: no cycles.
            for h in g + 1..GROUPS {
                if rng.chance(25) {
                    w.add(
                        "Group",
                        &format!("g{g}"),
                        "members",
                        &format!("Group:g{h}#members"),
                    );
                }
            }
        }
        let user_or_group = |rng: &mut Rng| {
            if rng.chance(50) {
                format!("User:u{}", rng.below(USERS))
            } else {
                format!("Group:g{}#members", rng.below(GROUPS))
            }
        };
        for f in 0..FOLDERS {
            // A folder's parents are earlier folders only.
            for p in 0..f {
                if rng.chance(30) {
                    w.add(
                        "Folder",
                        &format!("f{f}"),
                        "parents",
                        &format!("Folder:f{p}"),
                    );
                }
            }
            if rng.chance(30) {
                let u = user(&mut rng);
                w.add("Folder", &format!("f{f}"), "owners", &u);
            }
            for _ in 0..rng.below(2) {
                let s = user_or_group(&mut rng);
                w.add("Folder", &format!("f{f}"), "viewers", &s);
            }
        }
        for d in 0..DOCUMENTS {
            let doc = format!("d{d}");
            for _ in 0..rng.below(3) {
                w.add(
                    "Document",
                    &doc,
                    "parents",
                    &format!("Folder:f{}", rng.below(FOLDERS)),
                );
            }
            for (relation, most) in [("owners", 2), ("blocked", 3)] {
                for _ in 0..rng.below(most) {
                    let u = user(&mut rng);
                    w.add("Document", &doc, relation, &u);
                }
            }
            for relation in ["editors", "viewers"] {
                for _ in 0..rng.below(3) {
                    let s = user_or_group(&mut rng);
                    w.add("Document", &doc, relation, &s);
                }
            }
            // A tuple stored on a permission itself counts too, blocked or not.
            if rng.chance(20) {
                let u = user(&mut rng);
                w.add("Document", &doc, "view", &u);
            }
        }
        w
    }

    fn add(&mut self, ns: &str, obj: &str, rel: &str, subject: &str) {
        self.tuples
            .insert((ns.into(), obj.into(), rel.into(), subject.into()));
    }

    fn subjects<'a>(
        &'a self,
        ns: &'a str,
        obj: &'a str,
        rel: &'a str,
    ) -> impl Iterator<Item = &'a str> {
        self.tuples
            .iter()
            .filter(move |(n, o, r, _)| n == ns && o == obj && r == rel)
            .map(|(_, _, _, s)| s.as_str())
    }

    /// Keto's check: the subject's own tuple, or any subject set named on the relation,
    /// or the relation's rewrite.
    fn check(&self, ns: &str, obj: &str, rel: &str, subject: &str) -> bool {
        let stored = self.subjects(ns, obj, rel).any(|s| {
            s == subject
                || s.split_once('#').is_some_and(|(set, set_rel)| {
                    let (set_ns, set_obj) = set.split_once(':').unwrap();
                    self.check(set_ns, set_obj, set_rel, subject)
                })
        });
        stored || self.rewrite(ns, obj, rel, subject)
    }

    /// The model's permits, read by hand from `documents.keto.ts`.
    fn rewrite(&self, ns: &str, obj: &str, rel: &str, subject: &str) -> bool {
        let has = |r: &str| self.check(ns, obj, r, subject);
        let parents_view = || {
            self.subjects(ns, obj, "parents").any(|p| {
                let (_, folder) = p.split_once(':').unwrap();
                self.check("Folder", folder, "view", subject)
            })
        };
        match (ns, rel) {
            ("Folder", "view") => has("owners") || has("viewers") || parents_view(),
            ("Document", "edit") => has("owners") || has("editors"),
            ("Document", "view") => {
                (has("edit") || has("viewers") || parents_view()) && !has("blocked")
            }
            _ => false,
        }
    }

    /// The same rules with Keto's depth accounting, read from its step engine
    /// (`internal/check/step`): a check at depth 0 is unknown; a subject stored directly in
    /// a node's subject set counts at the node's depth, and going into the set costs a
    /// level; in a union the computed relations' own tuples count at the union's depth and
    /// each relation is then checked one level down; a computed relation elsewhere keeps
    /// the depth; a traversal's targets are one level down; a nested group costs a level.
    fn check_at(
        &self,
        ns: &str,
        obj: &str,
        rel: &str,
        subject: &str,
        depth: u32,
        skip_direct: bool,
    ) -> V {
        if depth == 0 {
            return V::Unknown;
        }
        let mut any = V::No;
        match self.rewrite_at(ns, obj, rel, subject, depth) {
            V::Yes => return V::Yes,
            v => any = any.or(v),
        }
        if !skip_direct && self.subjects(ns, obj, rel).any(|s| s == subject) {
            return V::Yes;
        }
        let sets: Vec<(&str, &str, &str)> = self
            .subjects(ns, obj, rel)
            .filter_map(|s| {
                let (set, set_rel) = s.split_once('#')?;
                let (set_ns, set_obj) = set.split_once(':')?;
                Some((set_ns, set_obj, set_rel))
            })
            .collect();
        if sets
            .iter()
            .any(|(n, o, r)| self.subjects(n, o, r).any(|s| s == subject))
        {
            return V::Yes;
        }
        if sets.is_empty() {
            return any;
        }
        if depth <= 1 {
            return any.or(V::Unknown);
        }
        for (n, o, r) in sets {
            any = any.or(self.check_at(n, o, r, subject, depth - 1, true));
        }
        any
    }

    fn rewrite_at(&self, ns: &str, obj: &str, rel: &str, subject: &str, depth: u32) -> V {
        let stored = |r: &str| self.subjects(ns, obj, r).any(|s| s == subject);
        // A union of computed relations (and perhaps the parents' view), at `d`.
        let union = |computed: &[&str], parents: bool, d: u32| {
            if d == 0 {
                return V::Unknown;
            }
            if computed.iter().any(|r| stored(r)) {
                return V::Yes;
            }
            let mut any = V::No;
            for r in computed {
                any = any.or(self.check_at(ns, obj, r, subject, d - 1, true));
            }
            if parents {
                for p in self.subjects(ns, obj, "parents") {
                    let (_, folder) = p.split_once(':').unwrap();
                    any = any.or(self.check_at("Folder", folder, "view", subject, d - 1, false));
                }
            }
            any
        };
        match (ns, rel) {
            ("Folder", "view") => union(&["owners", "viewers"], true, depth),
            ("Document", "edit") => union(&["owners", "editors"], false, depth),
            ("Document", "view") => {
                // (edit || viewers || parents' view) && !blocked: the group costs a level,
                // the `!blocked` keeps the depth.
                let grouped = union(&["edit", "viewers"], true, depth - 1);
                let blocked = self.check_at(ns, obj, "blocked", subject, depth, false);
                grouped.and(blocked.not())
            }
            _ => V::No,
        }
    }

    /// Every question the model can answer about these objects and users.
    fn questions() -> Vec<(String, String, String, String)> {
        let mut asked = Vec::new();
        for u in 0..USERS {
            let user = format!("User:u{u}");
            for g in 0..GROUPS {
                asked.push((
                    "Group".into(),
                    format!("g{g}"),
                    "members".into(),
                    user.clone(),
                ));
            }
            for f in 0..FOLDERS {
                asked.push((
                    "Folder".into(),
                    format!("f{f}"),
                    "view".into(),
                    user.clone(),
                ));
            }
            for d in 0..DOCUMENTS {
                for rel in ["edit", "view", "viewers"] {
                    asked.push(("Document".into(), format!("d{d}"), rel.into(), user.clone()));
                }
            }
        }
        asked
    }
}

#[tokio::test]
async fn checks_agree_with_a_naive_reading_of_the_model() {
    for backend in backends() {
        for seed in 1..=6u64 {
            let dir = tempfile::tempdir().unwrap();
            let mut config = opl_config(dir.path(), MODEL);
            config["limit"] = json!({"max_read_depth": 64});
            let k = start(&backend, config).await;
            let world = World::random(seed);
            let text: Vec<String> = world
                .tuples
                .iter()
                .map(|(n, o, r, s)| format!("{n}:{o}#{r}@{s}"))
                .collect();
            k.insert(&text.iter().map(String::as_str).collect::<Vec<_>>())
                .await;
            let (mut allowed, mut total) = (0, 0);
            for (ns, obj, rel, subject) in World::questions() {
                let expected = world.check(&ns, &obj, &rel, &subject);
                let tuple = format!("{ns}:{obj}#{rel}@{subject}");
                assert_eq!(
                    k.allowed(&tuple, None).await,
                    expected,
                    "{tuple}, seed {seed} on {backend:?}; tuples: {text:#?}"
                );
                allowed += usize::from(expected);
                total += 1;
            }
            reverse_lookups_agree(&k, &world, seed).await;
            if seed <= 3 {
                depths_agree(&k, &world, seed).await;
            }
            // A world where everything or nothing is allowed would compare little.
            assert!(
                allowed > total / 20 && allowed < total * 19 / 20,
                "seed {seed}: {allowed} of {total} allowed"
            );
        }
    }
}

/// gatehouse's reverse lookups (list-objects, list-subjects) against the same reading.
async fn reverse_lookups_agree(k: &crate::harness::Keto, world: &World, seed: u64) {
    let get = |query: String| async move {
        let (status, body) = k
            .read_get(&format!("/relation-tuples/{query}&page_size=100"))
            .await;
        assert_eq!(status, 200, "{query}");
        body
    };
    let texts = |v: &serde_json::Value, f: fn(&serde_json::Value) -> Option<String>| {
        let mut all: Vec<String> = v.as_array().unwrap().iter().filter_map(f).collect();
        all.sort();
        all
    };
    for (ns, count, rel) in [
        ("Document", DOCUMENTS, "view"),
        ("Document", DOCUMENTS, "edit"),
        ("Folder", FOLDERS, "view"),
    ] {
        let prefix = if ns == "Document" { "d" } else { "f" };
        for u in 0..USERS {
            let mut expected: Vec<String> = (0..count)
                .map(|i| format!("{prefix}{i}"))
                .filter(|obj| world.check(ns, obj, rel, &format!("User:u{u}")))
                .collect();
            expected.sort();
            let body = get(format!(
                "list-objects?namespace={ns}&relation={rel}&subject_set.namespace=User&subject_set.object=u{u}&subject_set.relation="
            ))
            .await;
            let listed = texts(&body["objects"], |o| o.as_str().map(str::to_owned));
            assert_eq!(listed, expected, "{ns}#{rel} for u{u}, seed {seed}");
        }
    }
    for d in 0..DOCUMENTS {
        let mut expected: Vec<String> = (0..USERS)
            .map(|u| format!("u{u}"))
            .filter(|u| world.check("Document", &format!("d{d}"), "view", &format!("User:{u}")))
            .collect();
        expected.sort();
        let body = get(format!(
            "list-subjects?namespace=Document&object=d{d}&relation=view"
        ))
        .await;
        let listed = texts(&body["subjects"], |s| {
            s["subject_set"]["object"].as_str().map(str::to_owned)
        });
        assert_eq!(listed, expected, "Document:d{d}#view, seed {seed}: {body}");
    }
}

/// Checks with a small `max-depth` against the depth-aware reading: where the walk is cut,
/// gatehouse must cut it where Keto does.
async fn depths_agree(k: &crate::harness::Keto, world: &World, seed: u64) {
    let mut cut = 0;
    for depth in 1..=4u32 {
        for (ns, obj, rel, subject) in World::questions() {
            let expected = world.check_at(&ns, &obj, &rel, &subject, depth, false);
            let tuple = format!("{ns}:{obj}#{rel}@{subject}");
            assert_eq!(
                k.allowed(&tuple, Some(depth)).await,
                expected == V::Yes,
                "{tuple} at max-depth {depth}, seed {seed} (reading: {expected:?})"
            );
            cut += usize::from(expected == V::Unknown);
        }
    }
    // The depths must actually cut some walks, or this compares nothing new.
    assert!(cut > 0, "seed {seed}: no walk was cut by depth");
}
