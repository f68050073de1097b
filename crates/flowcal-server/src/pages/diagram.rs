//! The process diagram on the model page and the task page: flowcal draws it
//! on the server as inline SVG (flowcal_bpmn::diagram), so it needs no
//! script, and the steps' text (the Steps table, the task's facts) stays on
//! the page as its accessible equivalent.

use crate::app::App;
use crate::entries::describe_rule_in;
use crate::i18n::Lang;
use crate::workflow::InstanceView;
use flowcal_bpmn::diagram::{Marks, Words};
use flowcal_domain::{NodeKind, ProcessModel};
use flowcal_store::{StoredModel, TaskRecord, TaskState};
use maud::{html, Markup, PreEscaped};
use std::collections::BTreeSet;

/// Each user task's deadline rule in words, by step id: the hover text.
pub(crate) fn deadline_notes(model: &ProcessModel, lang: Lang) -> std::collections::BTreeMap<String, String> {
    model
        .user_tasks()
        .filter_map(|n| match &n.kind {
            NodeKind::UserTask { deadline, calendar, .. } => {
                describe_rule_in(deadline, calendar.as_deref(), lang).map(|text| (n.id.clone(), text))
            }
            _ => None,
        })
        .collect()
}

/// The words the drawing adds, in `lang`.
pub(crate) fn words(lang: Lang) -> Words {
    Words {
        title: lang.t("tasks-diagram-title"),
        title_laid_out: lang.t("tasks-diagram-title-laid-out"),
        deadline: lang.t("tasks-diagram-word-deadline"),
        current: lang.t("tasks-diagram-word-current"),
        open: lang.t("tasks-diagram-word-open"),
        done: lang.t("tasks-diagram-word-done"),
    }
}

/// The diagram as a figure with `legend` under it, or a line saying why
/// there is none (in `lang`). Drawn on a blocking thread within the XML time budget.
pub(crate) async fn figure(app: &App, lang: Lang, stored: &StoredModel, marks: Marks, legend: Markup) -> Markup {
    let drawing = app.workflow.drawing(stored).await;
    let drawn = match drawing.as_ref() {
        Ok(_) => {
            let drawing = drawing.clone();
            flowcal_xml::off_workers(flowcal_xml::PARSE_BUDGET, move || match drawing.as_ref() {
                Ok(d) => d.render(&marks).map(|svg| (svg, d.laid_out)).map_err(|e| e.to_string()),
                Err(e) => Err(e.clone()),
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
        }
        Err(e) => Err(e.clone()),
    };
    match drawn {
        Ok((svg, laid_out)) => html! {
            figure.diagram {
                // The SVG is built by flowcal_bpmn::diagram, which escapes
                // every text taken from the file (its tests check this).
                div.drawing { (PreEscaped(svg)) }
                figcaption {
                    @if laid_out {
                        p.hint { (lang.t("tasks-diagram-laid-out")) }
                    }
                    (legend)
                }
            }
        },
        Err(why) => {
            html! { p.no-diagram.muted { (lang.t_with("tasks-diagram-none", &[("why", lang.translate(&why).into())])) } }
        }
    }
}

/// The task page's diagram: the task's step is current, the instance's other
/// open steps are open, and the steps of its finished tasks are done.
pub(crate) async fn for_task(
    app: &App,
    lang: Lang,
    view: &InstanceView,
    task: &TaskRecord,
    model: &ProcessModel,
) -> Markup {
    let steps = |state: TaskState| -> BTreeSet<String> {
        view.tasks.iter().filter(|t| t.state == state && t.step != task.step).map(|t| t.step.clone()).collect()
    };
    let (done, open) = (steps(TaskState::Done), steps(TaskState::Open));
    let separator = lang.t("tasks-diagram-list-separator");
    let names = |ids: &BTreeSet<String>| -> String {
        ids.iter()
            .map(|id| model.node(id).map_or(id.as_str(), |n| n.name.as_str()))
            .collect::<Vec<_>>()
            .join(&separator)
    };
    let steps = |ids: &BTreeSet<String>| [("steps", names(ids).into())];
    let legend = html! {
        ul.legend {
            li {
                span.sample.current-sample aria-hidden="true" { "▭" } " " (lang.t("tasks-diagram-current")) " "
                strong { (task.name) }
            }
            @if !open.is_empty() {
                li {
                    span.sample.open-sample aria-hidden="true" { "┅" } " "
                    (lang.t_with("tasks-diagram-open", &steps(&open)))
                }
            }
            li {
                span.sample.done-sample aria-hidden="true" { "✓" } " "
                @if done.is_empty() {
                    (lang.t("tasks-diagram-done-none"))
                } @else {
                    (lang.t_with("tasks-diagram-done", &steps(&done)))
                }
            }
            li { (lang.t("tasks-diagram-hover")) }
        }
    };
    let marks = Marks {
        current: [task.step.clone()].into(),
        open,
        done,
        notes: deadline_notes(model, lang),
        id_prefix: "task-".to_owned(),
        words: words(lang),
    };
    figure(app, lang, &view.model, marks, legend).await
}
