//! The shape of the code, checked: `src/api/` speaks HTTP only (no SQL there), and no
//! import circle joins two areas of `src/`.
//!
//! An area is a top-level module of `src/` (`rewards`, `org`, `effects`, …); area A
//! depends on area B when code of A (outside its tests and comments) names
//! `crate::B`. `state` (the handles `startup` builds) counts like any area: only
//! `api`, `ws` and `startup`, which nothing imports back, name it; use cases take the
//! handles they use.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).expect("read src");
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// A file's code without its unit tests and comments.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read source");
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every line of `files` that `breaks` the rule, as `path:line: text`.
fn lines_breaking(files: &[PathBuf], breaks: impl Fn(&str) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        for (number, line) in code_of(file).lines().enumerate() {
            if breaks(line) {
                found.push(format!(
                    "{}:{}: {}",
                    file.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    found
}

#[test]
fn the_http_layer_holds_no_sql() {
    let mut files = Vec::new();
    rust_files(&src().join("api"), &mut files);
    let markers = [
        "sqlx::query",
        "query_as(",
        "query_scalar(",
        "\"SELECT ",
        "\"INSERT ",
        "\"UPDATE ",
        "\"DELETE ",
        " FROM ",
        "INSERT INTO",
    ];
    let found = lines_breaking(&files, |line| {
        markers.iter().any(|marker| line.contains(marker))
    });
    assert!(
        found.is_empty(),
        "SQL belongs in the area's store, not in src/api:\n{}",
        found.join("\n")
    );
}

/// Rows are read by column name into typed rows (`FromRow`, or `try_get("name")`),
/// never by position: a column added to a SELECT cannot shift what a read means.
#[test]
fn rows_are_read_by_name() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let found = lines_breaking(&files, |line| {
        line.match_indices("try_get").any(|(at, _)| {
            let rest = &line[at + "try_get".len()..];
            // Past a turbofish (`::<Option<i64>, _>`) to the argument.
            let rest = match rest.strip_prefix("::<") {
                Some(generic) => {
                    let mut depth = 1;
                    let end = generic
                        .char_indices()
                        .find(|&(_, c)| {
                            depth += match c {
                                '<' => 1,
                                '>' => -1,
                                _ => 0,
                            };
                            depth == 0
                        })
                        .map_or(generic.len(), |(i, _)| i + 1);
                    &generic[end..]
                }
                None => rest,
            };
            rest.strip_prefix('(')
                .and_then(|arg| arg.chars().next())
                .is_some_and(|c| c.is_ascii_digit())
        })
    });
    assert!(
        found.is_empty(),
        "read columns by name (a FromRow row, or try_get(\"name\")):\n{}",
        found.join("\n")
    );
}

/// Statuses and kinds are enums parsed once (`stored_enum!`): logic compares values,
/// never text like `status == "pending"` or `kind != "participant"`.
#[test]
fn statuses_and_kinds_are_compared_as_values() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    rust_files(&src().join("../actors/src"), &mut files);
    let found = lines_breaking(&files, |line| {
        let compact: String = line.split_whitespace().collect();
        ["status==\"", "status!=\"", "kind==\"", "kind!=\""]
            .iter()
            .any(|pattern| compact.contains(pattern))
    });
    assert!(
        found.is_empty(),
        "compare statuses and kinds as enums (declare them with stored_enum!):\n{}",
        found.join("\n")
    );
}

/// Every use case and repo call opens a span (`#[tracing::instrument]`, skipping
/// handles, secrets and bodies), so a slow request can be followed below its handler.
#[test]
fn use_cases_and_repo_calls_open_spans() {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(src()).expect("read src") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() && !["api", "ws", "db", "domain", "integrations"].contains(&name) {
            rust_files(&path, &mut files);
        }
    }
    let mut found = Vec::new();
    for file in &files {
        let code = code_of(file);
        let lines: Vec<&str> = code.lines().collect();
        for (number, line) in lines.iter().enumerate() {
            let is_free_async_fn = line.starts_with("pub async fn")
                || line.starts_with("pub(crate) async fn")
                || line.starts_with("pub(super) async fn")
                || line.starts_with("async fn");
            let spanned = lines[..number]
                .iter()
                .rev()
                .take_while(|above| above.starts_with("#[") || above.starts_with(')'))
                .any(|above| above.contains("instrument"));
            if is_free_async_fn && !spanned {
                found.push(format!(
                    "{}:{}: {}",
                    file.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "add #[tracing::instrument(skip_all, fields(ids…))] to:\n{}",
        found.join("\n")
    );
}

/// Area → the areas it names.
fn area_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default();
        let area = first.trim_end_matches(".rs").to_string();
        let code = code_of(file);
        let uses = graph.entry(area.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let named: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                .collect();
            if !named.is_empty() && named != area {
                uses.insert(named);
            }
        }
    }
    graph
}

/// The groups of areas that reach each other (Tarjan's strongly connected components),
/// only those of more than one area.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, area: &'g str) {
            self.index.insert(area, self.next);
            self.low.insert(area, self.next);
            self.next += 1;
            self.stack.push(area);
            self.on_stack.insert(area);
            let graph = self.graph;
            for next in graph.get(area).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[area].min(self.low[next]);
                    self.low.insert(area, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[area].min(self.index[next]);
                    self.low.insert(area, low);
                }
            }
            if self.low[area] == self.index[area] {
                let mut group = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    group.push(member.to_string());
                    if member == area {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for area in graph.keys() {
        if !walk.index.contains_key(area.as_str()) {
            walk.visit(area);
        }
    }
    walk.found
}

#[test]
fn no_import_circle_joins_two_areas() {
    let graph = area_graph();
    assert!(graph.contains_key("rewards") && graph.contains_key("moderation"));
    let found = circles(&graph);
    let explained: Vec<String> = found
        .iter()
        .map(|group| {
            let edges: Vec<String> = group
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| group.contains(b))
                        .map(move |b| format!("{a} → {b}"))
                })
                .collect();
            format!("{} ({})", group.join(", "), edges.join("; "))
        })
        .collect();
    assert!(
        found.is_empty(),
        "areas that import each other:\n{}",
        explained.join("\n")
    );
}

#[test]
fn the_circle_finder_finds_circles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(area, uses)| {
        (
            area.to_string(),
            uses.into_iter().map(str::to_string).collect(),
        )
    })
    .collect();
    assert_eq!(circles(&graph), vec![vec!["a", "b", "c"]]);
}

#[test]
fn the_realtime_core_is_reached_through_named_methods_only() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("actors/src/live.rs");
    let text = std::fs::read_to_string(path).expect("read live.rs");
    let start = text
        .find("pub struct RealtimeCore {")
        .expect("struct RealtimeCore");
    let body = &text[start..];
    let body = &body[..body.find("\n}").expect("end of struct RealtimeCore")];
    let public: Vec<&str> = body
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|line| line.starts_with("pub ") && !line.starts_with("pub(crate)"))
        .collect();
    assert!(
        public.is_empty(),
        "RealtimeCore's fields are the actors crate's own; add a method instead: {public:?}"
    );
}
