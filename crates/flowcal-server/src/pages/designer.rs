//! Process designers' pages: upload a model (refusals name line and column),
//! list models and versions, a model's steps, their deadlines in words (with
//! the work calendar they count in) and data items.

use super::frame::{check_form, column_heads, csrf_field, error_page, layout, layout_status, Fields, Viewer};
use crate::api::types::ModelInfo;
use crate::app::App;
use crate::error::AppError;
use crate::i18n::Lang;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use flowcal_bpmn::diagram::Marks;
use maud::html;
use std::sync::Arc;

fn designers_only(v: &Viewer) -> Result<(), Response> {
    if v.is_designer() {
        Ok(())
    } else {
        Err(error_page(Some(v), &AppError::Forbidden(v.lang.t("models-forbidden"))))
    }
}

/// The words of message `id` before and after its `{ $name }`, for a value
/// the page marks up itself.
fn around(lang: Lang, id: &str, name: &str) -> (String, String) {
    const MARK: &str = "\u{E000}";
    let text = lang.t_with(id, &[(name, MARK.into())]);
    match text.split_once(MARK) {
        Some((before, after)) => (before.to_owned(), after.to_owned()),
        None => (text, String::new()),
    }
}

/// `GET /models`.
pub(crate) async fn list(State(app): State<Arc<App>>, v: Viewer) -> Response {
    if let Err(r) = designers_only(&v) {
        return r;
    }
    list_page(&app, &v, None, None, StatusCode::OK).await
}

async fn list_page(app: &App, v: &Viewer, notice: Option<&str>, error: Option<&str>, status: StatusCode) -> Response {
    let models = match app.store.list_models().await {
        Ok(m) => m,
        Err(e) => return error_page(Some(v), &e.into()),
    };
    let lang = v.lang;
    let title = lang.t("models-title");
    let body = html! {
        h1 { (title) }
        section.card aria-labelledby="up-h" {
            h2 id="up-h" { (lang.t("models-upload-heading")) }
            @if let Some(e) = error { p.error role="alert" id="upload-error" { (lang.translate(e)) } }
            form method="post" action="/models" enctype="multipart/form-data" {
                (csrf_field(v))
                label for="bpmn" { (lang.t("models-file")) }
                input id="bpmn" name="bpmn" type="file" accept=".bpmn,.xml,application/xml" required
                    aria-describedby=[error.map(|_| "upload-error")];
                p.hint { (lang.t("models-upload-hint")) }
                button type="submit" { (lang.t("models-upload")) }
            }
        }
        table {
            caption { (lang.t("models-list-caption")) }
            (column_heads(lang, &["models-name", "models-process-id", "models-version"]))
            tbody {
                @for m in &models {
                    tr { td { a href={ "/models/" (m.key) } { (m.name) } } td { code { (m.key) } } td { (m.version) } }
                }
            }
        }
    };
    layout_status(status, Some(v), &title, notice, body)
}

/// `POST /models` (multipart: `_csrf`, `bpmn`).
pub(crate) async fn upload(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    v: Viewer,
    mut form: Multipart,
) -> Response {
    if let Err(r) = designers_only(&v) {
        return r;
    }
    let mut csrf = String::new();
    let mut file: Option<Vec<u8>> = None;
    let limit = app.config.max_model_bytes;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                match field.bytes().await {
                    Ok(b) if name == "_csrf" => csrf = String::from_utf8_lossy(&b).into_owned(),
                    Ok(b) if name == "bpmn" => file = Some(b.to_vec()),
                    Ok(_) => {}
                    Err(e) => {
                        let e = v.lang.t_with("models-upload-failed", &[("error", e.to_string().into())]);
                        return list_page(&app, &v, None, Some(&e), StatusCode::BAD_REQUEST).await;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                let e = v.lang.t_with("models-upload-failed", &[("error", e.to_string().into())]);
                return list_page(&app, &v, None, Some(&e), StatusCode::BAD_REQUEST).await;
            }
        }
    }
    if let Err(r) = check_form(&app, &headers, &v, &Fields(vec![("_csrf".into(), csrf)])) {
        return r;
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        let e = v.lang.t("models-choose-file");
        return list_page(&app, &v, None, Some(&e), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    if bytes.len() > limit {
        let e = v.lang.t_with("models-too-large", &[("limit", limit.to_string().into())]);
        return list_page(&app, &v, None, Some(&e), StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    match app.workflow.import_model(Some(&v.p), &bytes).await {
        Ok(m) => {
            let notice = v.lang.t_with(
                "models-uploaded",
                &[("name", m.name.as_str().into()), ("version", m.version.to_string().into())],
            );
            list_page(&app, &v, Some(&notice), None, StatusCode::OK).await
        }
        Err(AppError::Internal(e)) => error_page(Some(&v), &AppError::Internal(e)),
        Err(e) => {
            let refused = v.lang.t_with("models-refused", &[("error", e.in_lang(v.lang).into())]);
            list_page(&app, &v, None, Some(&refused), e.status()).await
        }
    }
}

/// `GET /models/{key}`.
pub(crate) async fn show(State(app): State<Arc<App>>, v: Viewer, Path(key): Path<String>) -> Response {
    if let Err(r) = designers_only(&v) {
        return r;
    }
    let (stored, model) = match app.workflow.latest_model(&key).await {
        Ok(m) => m,
        Err(e) => return error_page(Some(&v), &e),
    };
    let versions = app.store.model_versions(&key).await.unwrap_or_default();
    let info = ModelInfo::new(&stored, &model);
    let lang = v.lang;
    // Each step's deadline rule in the viewer's words: the Steps table and the diagram's hover.
    let rules = super::diagram::deadline_notes(&model, lang);
    let marks = Marks {
        notes: rules.clone(),
        id_prefix: "model-".to_owned(),
        words: super::diagram::words(lang),
        ..Marks::default()
    };
    let legend = html! {
        p.hint { (lang.t("models-diagram-legend")) }
    };
    let diagram = super::diagram::figure(&app, v.lang, &stored, marks, legend).await;
    let body = html! {
        p.crumbs { a href="/models" { (lang.t("models-title")) } }
        h1 { (info.name) }
        dl.facts {
            dt { (lang.t("models-process-id")) } dd { code { (info.key) } }
            dt { (lang.t("models-version")) } dd { (info.version) }
            dt { (lang.t("models-time-zone")) }
            dd {
                (info.time_zone.clone().unwrap_or_else(|| {
                    lang.t_with("models-server-zone", &[("zone", app.config.time_zone.to_string().into())])
                }))
            }
        }
        h2 { (lang.t("models-diagram")) }
        (diagram)
        h2 { (lang.t("models-steps")) }
        table {
            (column_heads(lang, &["models-step", "models-id", "models-deadline"]))
            tbody {
                @for s in &info.steps {
                    tr id={ "step-" (s.id) } {
                        td { (s.name) }
                        td { code { (s.id) } }
                        td {
                            @match (rules.get(&s.id), &s.calendar) {
                                (Some(text), Some(cal)) => { a href={ "/work-calendars/" (cal) } { (text) } }
                                (Some(text), None) => { (text) }
                                (None, _) => { (lang.t("models-no-deadline")) }
                            }
                        }
                    }
                }
            }
        }
        @if !info.timers.is_empty() {
            h2 { (lang.t("models-timers")) }
            table {
                (column_heads(lang, &["models-timer", "models-id", "models-where", "models-fires"]))
                tbody {
                    @for t in &info.timers {
                        tr {
                            td { (t.name) }
                            td { code { (t.id) } }
                            td {
                                @match (t.kind.as_str(), &t.on, t.interrupting) {
                                    ("start", _, _) => { (lang.t("models-timer-start")) }
                                    (_, Some(step), interrupting) => {
                                        @let id = if interrupting == Some(true) { "models-timer-cancels" } else { "models-timer-stays" };
                                        @let (before, after) = around(lang, id, "step");
                                        (before) code { (step) } (after)
                                    }
                                    _ => { (lang.t("models-timer-waits")) }
                                }
                            }
                            td { (t.when) }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("models-data-items")) }
        table {
            (column_heads(lang, &["models-label", "models-key", "models-type", "models-required"]))
            tbody {
                @for i in &info.data_items {
                    tr {
                        td { (i.label) } td { code { (i.key) } } td { (i.data_type) }
                        td { (lang.t(if i.required { "models-yes" } else { "models-no" })) }
                    }
                }
            }
        }
        h2 { (lang.t("models-versions")) }
        ul {
            @for (version, name, _) in &versions {
                li { (lang.t_with("models-version-item", &[("version", version.to_string().into()), ("name", name.as_str().into())])) }
            }
        }
    };
    layout(Some(&v), &info.name, None, body)
}
