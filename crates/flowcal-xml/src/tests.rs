#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn nested(levels: usize) -> String {
    let mut s = String::with_capacity(levels * 8);
    for _ in 0..levels {
        s.push_str("<a>");
    }
    for _ in 0..levels {
        s.push_str("</a>");
    }
    s
}

/// Runs `f` on a thread with a small stack (the size tokio gives its
/// workers, less than a main thread's), so a recursion would show.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(256 * 1024).spawn(f).unwrap().join().unwrap()
}

#[test]
fn refuses_5000_and_100000_levels_without_overflow() {
    for levels in [5_000, 100_000] {
        let err = on_small_stack(move || parse(&nested(levels), &Limits::DEFAULT).map(|_| ()).unwrap_err());
        assert_eq!(err, XmlError::TooDeep { at: Position { line: 1, column: 256 * 3 + 1 }, limit: 256 }, "{levels}");
        assert_eq!(err.to_string(), "elements are nested deeper than the limit of 256 levels");
    }
}

#[test]
fn reads_up_to_the_depth_limit() {
    let doc = on_small_stack(|| parse(&nested(256), &Limits::DEFAULT).map(|d| d.descendants().count()));
    assert_eq!(doc.unwrap(), 257, "the root node and 256 elements");
    let err = parse(&nested(257), &Limits::DEFAULT).unwrap_err();
    assert!(matches!(err, XmlError::TooDeep { limit: 256, .. }), "{err:?}");
    // Empty elements at the limit count as the level they are on.
    let text = format!("{}<b/>{}", "<a>".repeat(255), "</a>".repeat(255));
    assert!(parse(&text, &Limits::DEFAULT).is_ok());
    let text = format!("{}<b/>{}", "<a>".repeat(256), "</a>".repeat(256));
    assert!(matches!(parse(&text, &Limits::DEFAULT), Err(XmlError::TooDeep { .. })));
}

#[test]
fn depth_is_not_fooled_by_comments_cdata_or_quotes() {
    // Markup-looking text inside comments, CDATA, PIs and values opens no element.
    let hidden = "<!-- <a><a><a> --><![CDATA[<a><a>]]><?pi <a><a>?><x v='<a>' w=\"&gt;<a>\"/>";
    let text = format!("<r>{}</r>", hidden.repeat(1000));
    let limits = Limits { max_depth: 2, ..Limits::DEFAULT };
    check(&text, &limits).unwrap();
    assert!(parse(&text, &Limits { max_depth: 2, ..Limits::DEFAULT }).is_err(), "'<' in a value is malformed");
    let text = format!("<r>{}</r>", "<!-- <a><a><a> --><![CDATA[<a><a>]]><?pi <a><a>?><x v='>' w=\"/>\"/>".repeat(50));
    assert_eq!(parse(&text, &limits).unwrap().descendants().filter(|n| n.is_element()).count(), 51);
    // And an element after them still counts.
    let text = "<r><!-- x --><a><b/></a></r>";
    assert!(matches!(check(text, &limits), Err(XmlError::TooDeep { .. })));
}

#[test]
fn refuses_200000_attributes_on_one_element() {
    let mut text = String::from("<a");
    for i in 0..200_000 {
        text.push_str(&format!(" a{i}=\"\""));
    }
    text.push_str("/>");
    let err = parse(&text, &Limits::DEFAULT).unwrap_err();
    assert_eq!(err, XmlError::TooManyAttributes { at: Position { line: 1, column: 1 }, limit: 256 });
    assert_eq!(err.to_string(), "an element has more attributes than the limit of 256");
    // 256 are read.
    let text: String = (0..256).map(|i| format!(" a{i} = 'v'")).collect();
    let doc = format!("<a{text}/>");
    assert_eq!(parse(&doc, &Limits::DEFAULT).unwrap().root_element().attributes().count(), 256);
}

#[test]
fn refuses_namespace_floods() {
    let decls: String = (0..65).map(|i| format!(" xmlns:p{i}='urn:{i}'")).collect();
    let err = parse(&format!("<a{decls}/>"), &Limits::DEFAULT).unwrap_err();
    assert!(matches!(err, XmlError::TooManyNamespacesInScope { limit: 64, .. }), "{err:?}");
    // Spread over the ancestors counts the same.
    let text =
        format!("{}{}", (0..65).map(|i| format!("<a xmlns:p{i}='urn:{i}'>")).collect::<String>(), "</a>".repeat(65));
    assert!(matches!(check(&text, &Limits::DEFAULT), Err(XmlError::TooManyNamespacesInScope { .. })));
    // Siblings do not add up in scope, only in the document.
    let text = format!("<r>{}</r>", "<a xmlns='urn:x' xmlns:y='urn:y'/>".repeat(30));
    check(&text, &Limits::DEFAULT).unwrap();
    let limits = Limits { max_namespace_declarations: 50, ..Limits::DEFAULT };
    assert!(matches!(check(&text, &limits), Err(XmlError::TooManyNamespaceDeclarations { limit: 50, .. })));
}

#[test]
fn refuses_large_documents_dtds_and_node_floods() {
    let limits = Limits::DEFAULT.with_max_bytes(10);
    assert_eq!(check("<a>0123456789</a>", &limits), Err(XmlError::TooLarge { size: 17, limit: 10 }));
    let err = parse("<?xml version=\"1.0\"?>\n<!DOCTYPE d [<!ENTITY a \"b\">]>\n<d/>", &Limits::DEFAULT).unwrap_err();
    assert_eq!(err, XmlError::Dtd { at: Position { line: 2, column: 1 } });
    let limits = Limits { max_nodes: 100, ..Limits::DEFAULT };
    let err = parse(&format!("<r>{}</r>", "<a/>".repeat(200)), &limits).unwrap_err();
    assert_eq!(err, XmlError::TooManyNodes { limit: 100 });
}

#[test]
fn malformed_documents_keep_the_parsers_reason_and_position() {
    let err = parse("<a>\n  <b>\n</a>", &Limits::DEFAULT).unwrap_err();
    assert_eq!(err.position(), Some(Position { line: 3, column: 1 }));
    assert_eq!(err.to_string(), "not well-formed XML: expected 'b' tag, not 'a'");
    // Unterminated constructs are left to the parser, which refuses them.
    for text in ["<a><!-- x", "<a><![CDATA[x", "<a><?x", "<a b='1", "<a", "<a></", "<a><!x></a>"] {
        assert!(matches!(parse(text, &Limits::DEFAULT), Err(XmlError::Malformed { .. })), "{text}");
    }
    assert!(parse("", &Limits::DEFAULT).is_err());
}

#[test]
fn positions_count_characters() {
    let text = format!("<r>\n  <é>{}", "<a>".repeat(300));
    let err = check(&text, &Limits::DEFAULT).unwrap_err();
    // The 256th level is the first <a> after <r> and 254 others: column 5 + 3 * 254.
    assert_eq!(err.position(), Some(Position { line: 2, column: 6 + 3 * 254 }));
}

#[test]
fn reads_real_bpmn_and_webdav() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("tests/fixtures"), root.join("crates/flowcal-server/demo")];
    let mut read = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "bpmn") {
                let text = std::fs::read_to_string(&path).unwrap();
                // What roxmltree alone reads, the door reads the same.
                let plain = roxmltree::Document::parse(&text).map(|d| d.descendants().count());
                let ours = parse(&text, &Limits::DEFAULT).map(|d| d.descendants().count());
                assert_eq!(ours.ok(), plain.ok(), "{}", path.display());
                read += 1;
            }
        }
    }
    assert!(read >= 10, "the repository's BPMN files were found ({read})");
    let webdav = r#"<?xml version="1.0" encoding="utf-8"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response>
<d:href>/alice/</d:href><d:propstat><d:prop><c:calendar-home-set><d:href>/alice/</d:href></c:calendar-home-set>
<x1:calendar-color xmlns:x1="http://apple.com/ns/ical/">#ff0000</x1:calendar-color>
</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#;
    assert_eq!(parse(webdav, &Limits::DEFAULT).unwrap().root_element().tag_name().name(), "multistatus");
}

#[cfg(feature = "blocking")]
#[tokio::test]
async fn parses_off_the_async_workers() {
    let text = nested(100_000);
    let outcome = off_workers(PARSE_BUDGET, move || parse(&text, &Limits::DEFAULT).map(|_| ())).await;
    assert!(matches!(outcome, Ok(Err(XmlError::TooDeep { .. }))), "{outcome:?}");
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let outcome = off_workers(std::time::Duration::from_millis(50), move || rx.recv().ok()).await;
    assert_eq!(outcome, Err(BudgetError::TimedOut(std::time::Duration::from_millis(50))));
    drop(tx);
}
