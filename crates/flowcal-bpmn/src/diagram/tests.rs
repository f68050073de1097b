//! The drawing of the tool exports in tests/fixtures/bpmn-samples, marks,
//! the layout of a file without diagram interchange, and hostile files.

use super::*;

macro_rules! sample {
    ($name:literal) => {
        ($name, include_str!(concat!("../../../../tests/fixtures/bpmn-samples/supported/", $name)))
    };
}

const SAMPLES: [(&str, &str); 6] = [
    sample!("actibpm-sequence-user-tasks.bpmn"),
    sample!("activiti-designer-pool-two-lanes.bpmn"),
    sample!("activiti-modeler-exclusive-default.bpmn"),
    sample!("camunda-modeler-parallel-exclusive-default.bpmn"),
    sample!("camunda8-modeler-parallel-user-tasks.bpmn"),
    sample!("signavio-exclusive-gateway-no-conditions.bpmn"),
];

fn diagram(xml: &str) -> Diagram {
    match read(xml) {
        Ok(d) => d,
        Err(e) => panic!("should be drawn: {e}"),
    }
}

fn svg(d: &Diagram, marks: &Marks) -> String {
    match d.render(marks) {
        Ok(s) => s,
        Err(e) => panic!("should render: {e}"),
    }
}

/// The `<g …>` element whose `data-id` is `id`, nested groups included.
fn group<'a>(svg: &'a str, id: &str) -> &'a str {
    let at = svg.find(&format!(r#" data-id="{id}">"#)).unwrap_or_else(|| panic!("no group for {id}"));
    let start = svg[..at].rfind("<g ").unwrap();
    let mut depth = 0;
    let mut i = start;
    loop {
        let open = svg[i..].find("<g ").map(|p| p + i);
        let close = svg[i..].find("</g>").map(|p| p + i).unwrap();
        match open {
            Some(o) if o < close => {
                depth += 1;
                i = o + 3;
            }
            _ => {
                depth -= 1;
                i = close + 4;
                if depth == 0 {
                    return &svg[start..i];
                }
            }
        }
    }
}

/// `(element id, x, y, width, height)` of every BPMNShape, read here
/// without the renderer.
fn di_shapes(xml: &str) -> Vec<(String, f64, f64, f64, f64)> {
    let doc = flowcal_xml::roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.tag_name().name() == "BPMNShape")
        .map(|s| {
            let b = s.children().find(|c| c.tag_name().name() == "Bounds").unwrap();
            let n = |a: &str| b.attribute(a).unwrap().parse::<f64>().unwrap();
            (s.attribute("bpmnElement").unwrap().to_owned(), n("x"), n("y"), n("width"), n("height"))
        })
        .collect()
}

/// Why `xml` is not drawn (short, whatever was drawn instead).
fn refused(xml: &str) -> DiagramError {
    match read(xml) {
        Ok(d) => panic!("should be refused; drew {} shapes", d.shapes.len()),
        Err(e) => e,
    }
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// `(local name, name)` of the element with the id, read here.
fn element(xml: &str, id: &str) -> Option<(String, String)> {
    let doc = flowcal_xml::roxmltree::Document::parse(xml).unwrap();
    let n = doc.descendants().find(|n| n.attribute("id") == Some(id) && n.tag_name().namespace() == Some(BPMN_NS))?;
    Some((n.tag_name().name().to_owned(), collapse(n.attribute("name").unwrap_or_default())))
}

#[test]
fn every_sample_is_drawn_at_its_diagram_interchange_bounds_with_its_names() {
    for (file, xml) in SAMPLES {
        let d = diagram(xml);
        assert!(!d.laid_out, "{file}");
        let out = svg(&d, &Marks::default());
        assert!(out.starts_with("<svg ") && out.ends_with("</svg>"), "{file}");
        assert!(out.contains(r#"role="img""#) && out.contains("<title id=\"title\">Diagram of "), "{file}");
        let shapes = di_shapes(xml);
        assert!(shapes.len() >= 5, "{file}");
        let mut steps = 0;
        for (id, x, y, w, h) in &shapes {
            let g = group(&out, &flowcal_xml::escape(id));
            let (local, name) = element(xml, id).unwrap_or_else(|| panic!("{file}: no element {id}"));
            let step = !matches!(local.as_str(), "participant" | "lane");
            if local.ends_with("Event") {
                let circle = format!(r#"cx="{}" cy="{}" r="{}""#, f(x + w / 2.0), f(y + h / 2.0), f(w.min(*h) / 2.0));
                assert!(g.contains(&circle), "{file} {id}: {circle} not in {g}");
            } else if local.ends_with("Gateway") {
                let top = format!(r#"d="M{} {}L{} {}"#, f(x + w / 2.0), f(*y), f(x + w), f(y + h / 2.0));
                assert!(g.contains(&top), "{file} {id}: {top} not in {g}");
            } else {
                let rect = format!(r#"x="{}" y="{}" width="{}" height="{}""#, f(*x), f(*y), f(*w), f(*h));
                assert!(g.contains(&rect), "{file} {id}: {rect} not in {g}");
            }
            if step {
                steps += 1;
                assert!(g.starts_with(r#"<g class="step "#), "{file} {id}: {g}");
                let title = if name.is_empty() { id.clone() } else { name.clone() };
                assert!(g.contains(&format!("<title>{}</title>", flowcal_xml::escape(&title))), "{file} {id}: {g}");
                // The name is drawn, word by word (wrapped into lines).
                for word in name.split_whitespace().take(3) {
                    assert!(
                        g.contains(&flowcal_xml::escape(word)) || g.contains('…'),
                        "{file} {id}: {word} not in {g}"
                    );
                }
            }
            if local == "userTask" {
                assert!(g.starts_with(r#"<g class="step task user""#), "{file} {id}: {g}");
            }
        }
        assert_eq!(d.steps().count(), steps, "{file}");
        let edges: Vec<String> = {
            let doc = flowcal_xml::roxmltree::Document::parse(xml).unwrap();
            doc.descendants()
                .filter(|n| n.tag_name().name() == "BPMNEdge")
                .map(|n| n.attribute("bpmnElement").unwrap().to_owned())
                .collect()
        };
        assert!(edges.len() >= 3, "{file}");
        assert_eq!(count(&out, r#"<g class="flow""#), edges.len(), "{file}");
        for id in &edges {
            let g = group(&out, &flowcal_xml::escape(id));
            assert!(g.contains(r#"marker-end="url(#arrow)""#), "{file}: {g}");
        }
    }
}

#[test]
fn pools_and_lanes_are_drawn_with_their_names_under_the_steps() {
    let (_, xml) = SAMPLES[1];
    let out = svg(&diagram(xml), &Marks::default());
    let pool = group(&out, "pool1");
    assert!(pool.starts_with(r#"<g class="pool""#), "{pool}");
    assert!(pool.contains(r#"x="80" y="90" width="500" height="300""#), "{pool}");
    assert!(pool.contains("rotate(-90"), "{pool}");
    let lane = group(&out, "lane2");
    assert!(lane.starts_with(r#"<g class="lane""#), "{lane}");
    // Containers come first, so the steps are drawn over them.
    assert!(out.find(r#"data-id="lane2""#) < out.find(r#"data-id="usertask1""#));
}

#[test]
fn the_current_step_open_steps_done_steps_and_deadline_notes_are_marked() {
    let (_, xml) = SAMPLES[3];
    let d = diagram(xml);
    let marks = Marks {
        current: ["UserTask_1k9gxsc".to_owned()].into(),
        open: ["UserTask_0fd3nql".to_owned()].into(),
        done: ["Activity_1ghr6kd".to_owned()].into(),
        notes: [("UserTask_1k9gxsc".to_owned(), "3 working days, calendar office".to_owned())].into(),
        id_prefix: "d-".to_owned(),
        words: Words::default(),
    };
    let out = svg(&d, &marks);
    let current = group(&out, "UserTask_1k9gxsc");
    assert!(current.starts_with(r#"<g class="step task user current""#), "{current}");
    assert!(current.contains(r#"class="halo""#), "{current}");
    assert!(
        current.contains("<title>Task P2 — deadline: 3 working days, calendar office (current step)</title>"),
        "{current}"
    );
    let open = group(&out, "UserTask_0fd3nql");
    assert!(open.starts_with(r#"<g class="step task user open""#), "{open}");
    let done = group(&out, "Activity_1ghr6kd");
    assert!(done.starts_with(r#"<g class="step task user done""#), "{done}");
    assert!(done.contains(r#"<g class="tick">"#) && done.contains("(done)</title>"), "{done}");
    assert_eq!(count(&out, " current\""), 1);
    assert_eq!(count(&out, r#"class="halo""#), 1);
    assert_eq!(count(&out, r#"<g class="tick">"#), 1);
    // Marker ids carry the prefix, and the edges use them.
    assert!(out.contains(r#"<marker id="d-arrow""#) && out.contains("url(#d-arrow)"));
    assert!(out.contains(r#"aria-labelledby="d-title""#) && out.contains(r#"<title id="d-title">"#));
    // The words the drawing adds come from the page's language.
    let words = Words {
        title: "{name} の図".into(),
        title_laid_out: "{name} の図(配置)".into(),
        deadline: "期限".into(),
        current: "現在のステップ".into(),
        open: "未完了".into(),
        done: "完了".into(),
    };
    let ja = svg(&d, &Marks { words, ..marks });
    assert!(
        group(&ja, "UserTask_1k9gxsc")
            .contains("<title>Task P2 — 期限: 3 working days, calendar office (現在のステップ)</title>"),
        "{ja}"
    );
    assert!(group(&ja, "Activity_1ghr6kd").contains("(完了)</title>"));
    assert!(ja.contains(r#"<title id="d-title">"#) && ja.contains(" の図</title>"), "{ja}");
    // Unmarked, nothing is current.
    let plain = svg(&d, &Marks::default());
    assert_eq!(count(&plain, " current\""), 0);
    assert!(!plain.contains("deadline:"));
}

/// The sample without its BPMNDiagram.
fn without_di(xml: &str) -> String {
    let start = xml.find("<bpmndi:BPMNDiagram").unwrap();
    let end = xml.find("</bpmndi:BPMNDiagram>").unwrap() + "</bpmndi:BPMNDiagram>".len();
    format!("{}{}", &xml[..start], &xml[end..])
}

#[test]
fn a_model_without_diagram_interchange_is_laid_out_in_columns_along_its_flows() {
    let (_, xml) = SAMPLES[3];
    let bare = without_di(xml);
    assert!(!bare.contains("BPMNShape"));
    let model = crate::parse(&bare, None).unwrap();
    let d = diagram(&bare);
    assert!(d.laid_out);
    let out = svg(&d, &Marks::default());
    assert!(out.contains("laid out by flowcal: the file has no diagram"));
    assert_eq!(d.steps().count(), model.nodes.len());
    assert_eq!(d.edges.len(), model.flows.len());
    let at = |id: &str| d.shapes.iter().find(|s| s.id == id).unwrap().bounds;
    // Every flow goes right, to a later column (the model has no loop).
    for flow in &model.flows {
        let (s, t) = (at(&flow.source), at(&flow.target));
        assert!(s.x + s.w <= t.x, "{} → {}: {s:?} {t:?}", flow.source, flow.target);
        assert!(group(&out, &flow.id).contains("url(#arrow)"));
    }
    // No two steps overlap.
    let steps: Vec<_> = d.steps().collect();
    for (i, a) in steps.iter().enumerate() {
        for b in &steps[i + 1..] {
            let (p, q) = (a.bounds, b.bounds);
            let apart = p.x + p.w <= q.x || q.x + q.w <= p.x || p.y + p.h <= q.y || q.y + q.h <= p.y;
            assert!(apart, "{} and {} overlap", a.id, b.id);
        }
    }
    for n in &model.nodes {
        assert!(group(&out, &n.id).contains(&format!("<title>{}</title>", flowcal_xml::escape(&n.name))));
    }
}

#[test]
fn a_loop_without_diagram_interchange_is_laid_out_with_the_way_back_under_it() {
    let xml = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p" isExecutable="true">
        <startEvent id="s"/><userTask id="a" name="Write"/><exclusiveGateway id="g"/><endEvent id="e"/>
        <boundaryEvent id="b" attachedToRef="a"><timerEventDefinition/></boundaryEvent><endEvent id="late"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="a"/><sequenceFlow id="f2" sourceRef="a" targetRef="g"/>
        <sequenceFlow id="f3" sourceRef="g" targetRef="a"/><sequenceFlow id="f4" sourceRef="g" targetRef="e"/>
        <sequenceFlow id="f5" sourceRef="b" targetRef="late"/></process></definitions>"#;
    let d = diagram(xml);
    let at = |id: &str| d.shapes.iter().find(|s| s.id == id).unwrap().bounds;
    assert!(at("s").x < at("a").x && at("a").x < at("g").x && at("g").x < at("e").x);
    // The boundary timer sits on its task's lower border.
    let (a, b) = (at("a"), at("b"));
    assert!(b.x >= a.x && b.x + b.w <= a.x + a.w && b.y < a.y + a.h && b.y + b.h > a.y + a.h, "{a:?} {b:?}");
    // The way back runs under every step.
    let back = d.edges.iter().find(|e| e.id == "f3").unwrap();
    let lowest = d.shapes.iter().map(|s| s.bounds.y + s.bounds.h).fold(0.0, f64::max);
    assert!(back.points.iter().any(|p| p.1 > lowest), "{:?}", back.points);
    let out = svg(&d, &Marks::default());
    assert!(group(&out, "b").starts_with(r#"<g class="step event boundary""#));
    assert!(group(&out, "b").contains("<path d=\"M"), "a clock is drawn");
}

#[test]
fn names_are_escaped_and_wrapped() {
    let xml = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p&lt;x&gt;" name="&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;">
        <startEvent id="s"/><userTask id="a&quot;b" name="&lt;img src=x onerror=alert(1)&gt; &amp; a very long name that does not fit on one line of a task"/>
        <sequenceFlow id="f" sourceRef="s" targetRef="a&quot;b" name="it's &quot;yes&quot;"/></process></definitions>"#;
    let out = svg(&diagram(xml), &Marks { current: ["a\"b".to_owned()].into(), ..Marks::default() });
    assert!(!out.contains("<script") && !out.contains("<img") && !out.contains("</title><script"));
    assert!(out.contains("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(out.contains(r#"data-id="a&quot;b""#));
    assert!(out.contains("it&apos;s &quot;yes&quot;"));
    let g = group(&out, "a&quot;b");
    assert!(g.contains(" current\""));
    assert!(count(g, "<tspan") >= 3, "wrapped: {g}");
    assert_eq!(wrap("one two three", 7, 5), ["one two", "three"]);
    assert_eq!(wrap("abcdefghij", 4, 5), ["abcd", "efgh", "ij"]);
    assert_eq!(wrap("aa bb cc dd ee ff", 5, 2), ["aa bb", "cc d…"]);
    assert_eq!(f(12.0), "12");
    assert_eq!(f(-0.25), "-0.3");
}

fn with_shapes(n: usize, shape: impl Fn(usize) -> String) -> String {
    let mut xml = String::from(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"><process id="p"><startEvent id="s"/></process><bpmndi:BPMNDiagram><bpmndi:BPMNPlane bpmnElement="p">"#,
    );
    for i in 0..n {
        xml.push_str(&shape(i));
    }
    xml.push_str("</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></definitions>");
    xml
}

#[test]
fn hostile_diagrams_are_refused() {
    // 100 000 shapes.
    let many = with_shapes(100_000, |i| {
        format!(
            r#"<bpmndi:BPMNShape bpmnElement="s"><dc:Bounds x="{i}" y="0" width="1" height="1"/></bpmndi:BPMNShape>"#
        )
    });
    let e = refused(&many);
    assert!(e.0.contains("more than 2000 shapes"), "{e}");
    // Absurd and non-numbers.
    for bad in ["1e300", "NaN", "inf", "-2000000", "12px"] {
        let xml = with_shapes(1, |_| {
            format!(
                r#"<bpmndi:BPMNShape bpmnElement="s"><dc:Bounds x="{bad}" y="0" width="36" height="36"/></bpmndi:BPMNShape>"#
            )
        });
        let e = refused(&xml);
        assert!(e.0.contains("the drawing of 's' has x=") && e.0.contains(bad), "{bad}: {e}");
    }
    let negative = with_shapes(1, |_| {
        r#"<bpmndi:BPMNShape bpmnElement="s"><dc:Bounds x="0" y="0" width="-5" height="36"/></bpmndi:BPMNShape>"#.into()
    });
    assert!(refused(&negative).0.contains("negative"));
    // Too many bends.
    let bends = with_shapes(1, |_| {
        let points: String = (0..MAX_WAYPOINTS + 1).map(|i| format!(r#"<di:waypoint x="{i}" y="0"/>"#)).collect();
        format!(r#"<bpmndi:BPMNEdge bpmnElement="f">{points}</bpmndi:BPMNEdge>"#)
    });
    assert!(refused(&bends).0.contains("waypoints"));
    // Too many edges.
    let edges = with_shapes(MAX_EDGES + 1, |_| {
        r#"<bpmndi:BPMNEdge bpmnElement="f"><di:waypoint x="0" y="0"/><di:waypoint x="1" y="0"/></bpmndi:BPMNEdge>"#
            .into()
    });
    assert!(refused(&edges).0.contains("edges"));
    // Deep nesting never reaches the reader.
    let deep = format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">{}{}</definitions>"#,
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    assert!(refused(&deep).0.contains("nested deeper"));
    // A laid-out process is bounded too.
    let mut steps =
        String::from(r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p">"#);
    for i in 0..=MAX_SHAPES {
        steps.push_str(&format!(r#"<task id="t{i}"/>"#));
    }
    steps.push_str("</process></definitions>");
    assert!(refused(&steps).0.contains("more than 2000 steps"));
}

#[test]
fn the_drawing_is_bounded_in_size() {
    let name = "&".repeat(MAX_NAME);
    let shapes: Vec<Shape> = (0..MAX_SHAPES)
        .map(|i| Shape {
            id: format!("t{i}"),
            kind: Kind::UserTask,
            name: name.clone(),
            bounds: Rect { x: i as f64 * 120.0, y: 0.0, w: 1000.0, h: 1000.0 },
            label: None,
            horizontal: true,
            timer: false,
        })
        .collect();
    let d = Diagram { name: "big".into(), shapes, edges: Vec::new(), laid_out: false };
    let e = d.render(&Marks::default()).unwrap_err();
    assert!(e.0.contains("more than 4 MB"), "{e}");
    // The same diagram with short names is drawn.
    let small = Diagram {
        shapes: d.shapes.iter().map(|s| Shape { name: "Review".into(), ..s.clone() }).collect(),
        ..d.clone()
    };
    assert!(small.render(&Marks::default()).is_ok());
}

#[test]
fn a_file_that_is_not_a_model_is_not_drawn() {
    assert!(refused("<svg/>").0.contains("not a BPMN 2.0 model"));
    assert!(read(r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>"#)
        .err()
        .map(|e| e.0)
        .unwrap_or_default()
        .contains("no process"));
    assert!(read("<definitions").is_err());
}
