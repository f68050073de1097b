//! The layering that docs/ARCHITECTURE.md describes, checked on the sources:
//! the modules of `flowcal-server` and `flowcal-store` import each other one
//! way only, and delivery knows neither the API's error type nor its callers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A crate's modules (one per file, `a::b` for `src/a/b.rs` or
/// `src/a/b/mod.rs`, `` for `lib.rs`) and their source without unit tests.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel: PathBuf = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            // Unit test modules may look at anything they test.
            if parts.last().is_some_and(|p| p == "tests") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let text = match text.find("#[cfg(test)]\nmod tests") {
                Some(at) => text[..at].to_owned(),
                None => text,
            };
            out.insert(parts.join("::"), text);
        }
    }
    out
}

/// Strips comments, so that a doc link is not an import.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths a path text stands for: `a::{b, c::d}` is `a::b` and `a::c::d`.
fn expand(text: &str) -> Vec<Vec<String>> {
    let mut segs = Vec::new();
    let mut rest = text.trim_start();
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            return group[..end]
                .split(',')
                .flat_map(expand)
                .map(|tail| segs.iter().cloned().chain(tail).collect())
                .collect();
        }
        let ident: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        if ident.is_empty() {
            break;
        }
        rest = &rest[ident.len()..];
        segs.push(ident);
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    if segs.is_empty() {
        Vec::new()
    } else {
        vec![segs]
    }
}

/// The paths written after `prefix::` in `code`.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let needle = format!("{prefix}::");
    let mut from = 0;
    while let Some(at) = code[from..].find(&needle) {
        let start = from + at;
        from = start + needle.len();
        if code[..start].chars().next_back().is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        found.extend(expand(&code[from..]));
    }
    found
}

/// Which modules each module uses: through `crate::`, `super::`, `self::` and its own submodules.
fn imports(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    // The crate root re-exports its modules' items: `crate::Item` is a use
    // of the module the item comes from, not of the root.
    let mut reexported: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for stmt in code_only(mods.get("").map(String::as_str).unwrap_or("")).split(';') {
        if let Some(path) = stmt.trim().strip_prefix("pub use ") {
            for segs in expand(path) {
                if let Some(item) = segs.last() {
                    reexported.insert(item.clone(), segs.clone());
                }
            }
        }
    }
    let resolve = |base: &[String], segs: &[String]| -> Option<String> {
        let segs = match (base.is_empty(), segs.first().and_then(|s| reexported.get(s))) {
            (true, Some(home)) => home.as_slice(),
            _ => segs,
        };
        let mut path: Vec<String> = base.to_vec();
        let mut best = None;
        for s in segs {
            path.push(s.clone());
            let name = path.join("::");
            if mods.contains_key(&name) {
                best = Some(name);
            }
        }
        best.or_else(|| Some(base.join("::")).filter(|n| mods.contains_key(n)))
    };
    let mut graph = BTreeMap::new();
    for (name, text) in mods {
        let code = code_only(text);
        let here: Vec<String> =
            if name.is_empty() { Vec::new() } else { name.split("::").map(str::to_owned).collect() };
        let mut uses = BTreeSet::new();
        for segs in paths_after(&code, "crate") {
            uses.extend(resolve(&[], &segs));
        }
        if !here.is_empty() {
            for segs in paths_after(&code, "super") {
                let ups = 1 + segs.iter().take_while(|s| *s == "super").count();
                let base = &here[..here.len().saturating_sub(ups)];
                uses.extend(resolve(base, &segs[ups - 1..]));
            }
        }
        for segs in paths_after(&code, "self") {
            uses.extend(resolve(&here, &segs));
        }
        // A submodule named without a prefix (`settings::Connectivity`).
        let prefix = if name.is_empty() { String::new() } else { format!("{name}::") };
        for child in mods.keys() {
            let Some(short) = child.strip_prefix(&prefix) else { continue };
            if short.is_empty() || short.contains("::") {
                continue;
            }
            if !paths_after(&code, short).is_empty() {
                uses.insert(child.clone());
            }
        }
        uses.remove(name);
        // The root: see `the_checker_sees_a_circle`.
        uses.remove("");
        graph.insert(name.clone(), uses);
    }
    graph
}

/// The groups of modules that reach each other (Tarjan's strongly connected components), larger than one.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let lw = s.low[w.as_str()];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w.as_str()) {
                let iw = s.index[w.as_str()];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.out.push(group);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name).join("src")
}

fn assert_one_way(krate: &str) {
    let graph = imports(&modules(&crate_src(krate)));
    let found = cycles(&graph);
    let shown: Vec<String> = found
        .iter()
        .map(|g| {
            let edges: Vec<String> = g
                .iter()
                .flat_map(|a| graph[a].iter().filter(|b| g.contains(b)).map(move |b| format!("{a} → {b}")))
                .collect();
            format!("[{}]: {}", g.join(", "), edges.join("; "))
        })
        .collect();
    assert!(found.is_empty(), "modules of {krate} import each other in a circle:\n{}", shown.join("\n"));
}

#[test]
fn the_server_modules_import_one_way() {
    assert_one_way("flowcal-server");
}

#[test]
fn the_store_modules_import_one_way() {
    assert_one_way("flowcal-store");
}

#[test]
fn the_checker_sees_a_circle() {
    let mods: BTreeMap<String, String> = [
        ("".to_owned(), "pub mod a;\npub mod b;\npub mod c;".to_owned()),
        ("a".to_owned(), "use crate::b::{X, y::Z};".to_owned()),
        ("b".to_owned(), "pub mod y;\nfn f() { y::g() }".to_owned()),
        ("b::y".to_owned(), "use super::super::c::W; // crate::a::Q in a comment".to_owned()),
        ("c".to_owned(), "fn g() { crate::a::h() }".to_owned()),
    ]
    .into();
    let graph = imports(&mods);
    assert_eq!(graph["a"], BTreeSet::from(["b".to_owned(), "b::y".to_owned()]));
    assert_eq!(graph["b"], BTreeSet::from(["b::y".to_owned()]));
    assert_eq!(graph["b::y"], BTreeSet::from(["c".to_owned()]));
    assert_eq!(cycles(&graph), vec![["a", "b", "b::y", "c"].map(str::to_owned).to_vec()]);
    // The crate root is the façade (it declares the modules, re-exports their
    // items, and may hold the type they implement): it is not in a circle.
    let mut mods = mods;
    mods.insert("c".to_owned(), "fn g() { crate::h() }".to_owned());
    assert!(cycles(&imports(&mods)).is_empty());
}

/// Delivery and the entries it builds never go through a caller's
/// authorization and never speak the API's errors.
#[test]
fn delivery_knows_neither_principals_nor_api_errors() {
    let mods = modules(&crate_src("flowcal-server"));
    let delivery: Vec<(&String, &String)> = mods
        .iter()
        .filter(|(name, _)| ["delivery", "entries"].contains(&name.split("::").next().unwrap_or("")))
        .collect();
    assert!(!delivery.is_empty(), "no delivery module found");
    for (name, text) in delivery {
        let code = code_only(text);
        for word in ["AppError", "AppResult", "Principal"] {
            assert!(!code.contains(word), "{name} names {word}");
        }
    }
}
