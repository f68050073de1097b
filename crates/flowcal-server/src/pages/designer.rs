//! Process designers' pages: upload a model (refusals name line and column),
//! list models and versions, a model's steps, their deadlines in words (with
//! the work calendar they count in) and data items.

use super::frame::{check_form, csrf_field, error_page, layout, layout_status, Fields, Viewer};
use crate::api::types::ModelInfo;
use crate::app::App;
use crate::error::AppError;
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
        Err(error_page(Some(v), &AppError::Forbidden("models are for administrators and the designers role".into())))
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
    let body = html! {
        h1 { "Process models" }
        section.card aria-labelledby="up-h" {
            h2 id="up-h" { "Upload a BPMN model" }
            @if let Some(e) = error { p.error role="alert" id="upload-error" { (e) } }
            form method="post" action="/models" enctype="multipart/form-data" {
                (csrf_field(v))
                label for="bpmn" { "BPMN 2.0 file" }
                input id="bpmn" name="bpmn" type="file" accept=".bpmn,.xml,application/xml" required
                    aria-describedby=[error.map(|_| "upload-error")];
                p.hint { "A model with the process id of an existing one becomes its next version." }
                button type="submit" { "Upload" }
            }
        }
        table {
            caption { "Models (newest versions)" }
            thead { tr { th scope="col" { "Name" } th scope="col" { "Process id" } th scope="col" { "Version" } } }
            tbody {
                @for m in &models {
                    tr { td { a href={ "/models/" (m.key) } { (m.name) } } td { code { (m.key) } } td { (m.version) } }
                }
            }
        }
    };
    layout_status(status, Some(v), "Process models", notice, body)
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
                        return list_page(
                            &app,
                            &v,
                            None,
                            Some(&format!("The upload failed: {e}")),
                            StatusCode::BAD_REQUEST,
                        )
                        .await
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                return list_page(&app, &v, None, Some(&format!("The upload failed: {e}")), StatusCode::BAD_REQUEST)
                    .await
            }
        }
    }
    if let Err(r) = check_form(&app, &headers, &v, &Fields(vec![("_csrf".into(), csrf)])) {
        return r;
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return list_page(&app, &v, None, Some("Choose a BPMN file to upload."), StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    if bytes.len() > limit {
        let e = format!("The file is larger than the limit of {limit} bytes (max_model_bytes).");
        return list_page(&app, &v, None, Some(&e), StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    match app.workflow.import_model(Some(&v.p), &bytes).await {
        Ok(m) => {
            let notice = format!("Uploaded {} (version {})", m.name, m.version);
            list_page(&app, &v, Some(&notice), None, StatusCode::OK).await
        }
        Err(AppError::Internal(e)) => error_page(Some(&v), &AppError::Internal(e)),
        Err(e) => list_page(&app, &v, None, Some(&format!("The model was refused: {e}")), e.status()).await,
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
    let marks = Marks {
        notes: super::diagram::deadline_notes(&model, v.lang),
        id_prefix: "model-".to_owned(),
        words: super::diagram::words(v.lang),
        ..Marks::default()
    };
    let legend = html! {
        p.hint { "Steps with a clock have a deadline rule: hover the step, or see it in the Steps table." }
    };
    let diagram = super::diagram::figure(&app, v.lang, &stored, marks, legend).await;
    let body = html! {
        p.crumbs { a href="/models" { "Process models" } }
        h1 { (info.name) }
        dl.facts {
            dt { "Process id" } dd { code { (info.key) } }
            dt { "Version" } dd { (info.version) }
            dt { "Time zone" } dd { (info.time_zone.clone().unwrap_or_else(|| format!("{} (the server's)", app.config.time_zone))) }
        }
        h2 { "Diagram" }
        (diagram)
        h2 { "Steps" }
        table {
            thead { tr { th scope="col" { "Step" } th scope="col" { "Id" } th scope="col" { "Deadline" } } }
            tbody {
                @for s in &info.steps {
                    tr id={ "step-" (s.id) } {
                        td { (s.name) }
                        td { code { (s.id) } }
                        td {
                            @match (&s.deadline_text, &s.calendar) {
                                (Some(text), Some(cal)) => { a href={ "/work-calendars/" (cal) } { (text) } }
                                (Some(text), None) => { (text) }
                                (None, _) => { "none" }
                            }
                        }
                    }
                }
            }
        }
        @if !info.timers.is_empty() {
            h2 { "Timers" }
            table {
                thead { tr { th scope="col" { "Timer" } th scope="col" { "Id" } th scope="col" { "Where" } th scope="col" { "Fires" } } }
                tbody {
                    @for t in &info.timers {
                        tr {
                            td { (t.name) }
                            td { code { (t.id) } }
                            td {
                                @match (t.kind.as_str(), &t.on, t.interrupting) {
                                    ("start", _, _) => "starts an instance",
                                    (_, Some(step), Some(true)) => { "on " code { (step) } ", cancels it" }
                                    (_, Some(step), _) => { "on " code { (step) } ", which stays open" }
                                    _ => "the path waits",
                                }
                            }
                            td { (t.when) }
                        }
                    }
                }
            }
        }
        h2 { "Data items" }
        table {
            thead { tr { th scope="col" { "Label" } th scope="col" { "Key" } th scope="col" { "Type" } th scope="col" { "Required" } } }
            tbody {
                @for i in &info.data_items {
                    tr { td { (i.label) } td { code { (i.key) } } td { (i.data_type) } td { @if i.required { "yes" } @else { "no" } } }
                }
            }
        }
        h2 { "Versions" }
        ul { @for (version, name, _) in &versions { li { "version " (version) " — " (name) } } }
    };
    layout(Some(&v), &info.name, None, body)
}
