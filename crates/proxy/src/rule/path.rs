//! Building the string a request is matched against: Go's `path.Clean` and
//! `scheme://host[:port]/path`.

/// Go's `path.Clean`: collapses `//`, drops `.` elements, resolves `..`
/// against the element before it (never above the root), drops a trailing
/// slash, and turns an empty result into `"."` (so `""` → `"."`).
pub fn clean_path(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let bytes = path.as_bytes();
    let rooted = bytes[0] == b'/';
    let mut out = String::with_capacity(path.len());
    // `out[..floor]` is never undone by `..`: the root, or leading `../..`.
    let mut floor = 0;
    if rooted {
        out.push('/');
        floor = 1;
    }
    let mut r = usize::from(rooted);
    while r < bytes.len() {
        let end = bytes[r..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(bytes.len(), |p| r + p);
        match &path[r..end] {
            "" | "." => {}
            ".." => parent(&mut out, &mut floor, rooted),
            element => {
                if out.len() > usize::from(rooted) {
                    out.push('/');
                }
                out.push_str(element);
            }
        }
        r = end + 1;
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// Applies one `..` element to the cleaned output so far.
fn parent(out: &mut String, floor: &mut usize, rooted: bool) {
    if out.len() > *floor {
        // Back up to the last '/' (or the floor) and cut there.
        let cut = out.as_bytes()[*floor..]
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(*floor, |p| *floor + p);
        out.truncate(cut);
    } else if !rooted {
        // A relative path keeps `..` that climb above its start.
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str("..");
        *floor = out.len();
    }
}

/// The string Oathkeeper matches rules against: `scheme://host/path`, the
/// path cleaned unless it is empty (Oathkeeper skips `path.Clean` for an
/// empty path, so `http://h` stays `http://h` rather than `http://h.`).
/// `path` is the decoded path (Go's `URL.Path`), without the query.
pub fn match_url(scheme: &str, host: &str, path: &str) -> String {
    let mut url = String::with_capacity(scheme.len() + 3 + host.len() + path.len());
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(host);
    if is_clean(path) {
        url.push_str(path);
    } else {
        url.push_str(&clean_path(path));
    }
    url
}

/// Whether `clean_path` would give back a rooted `path` as it is (most request paths):
/// no empty, `.` or `..` element and no trailing slash. The empty path counts as clean,
/// as Oathkeeper leaves it alone.
fn is_clean(path: &str) -> bool {
    if path.is_empty() || path == "/" {
        return true;
    }
    path.starts_with('/')
        && path[1..]
            .split('/')
            .all(|element| !matches!(element, "" | "." | ".."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths_are_recognised_as_clean() {
        for p in ["", "/", "/a", "/a/b.c", "/a/.b", "/a/b..c"] {
            assert!(is_clean(p), "{p}");
            if !p.is_empty() {
                assert_eq!(clean_path(p), p);
            }
        }
        for p in ["//", "/a/", "/a//b", "/./a", "/a/.", "/a/../b", "/.."] {
            assert!(!is_clean(p), "{p}");
            assert_ne!(clean_path(p), p);
        }
    }

    #[test]
    fn matches_go_path_clean() {
        // Cases from Go's path/path_test.go plus the ones proxies meet.
        let cases = [
            ("", "."),
            ("/", "/"),
            ("//", "/"),
            ("//a//b/", "/a/b"),
            ("/a/./b/../c", "/a/c"),
            ("/abc/", "/abc"),
            ("abc/def/", "abc/def"),
            ("a/b/c", "a/b/c"),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/..", "/"),
            ("/../abc", "/abc"),
            ("/abc/..", "/"),
            ("abc/..", "."),
            ("abc/../..", ".."),
            ("abc/../../x", "../x"),
            ("abc/./../def", "def"),
            ("/abc/def/../../..", "/"),
            ("abc/def/ghi/../jkl", "abc/def/jkl"),
            ("abc/def/../ghi/../jkl", "abc/jkl"),
            ("./abc", "abc"),
            ("/./abc/.", "/abc"),
            ("/a/b/..", "/a"),
            ("/a..b/.c/", "/a..b/.c"),
            ("/ünï/./cödé/", "/ünï/cödé"),
        ];
        for (input, want) in cases {
            assert_eq!(clean_path(input), want, "clean_path({input:?})");
        }
    }

    #[test]
    fn match_url_cleans_a_non_empty_path_only() {
        assert_eq!(match_url("http", "h:80", ""), "http://h:80");
        assert_eq!(match_url("https", "h", "/a//b/"), "https://h/a/b");
        assert_eq!(match_url("https", "h", "/"), "https://h/");
    }
}
