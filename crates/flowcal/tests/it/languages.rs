//! The web app's languages: chosen by the user's setting, else by the
//! browser's Accept-Language, else English.

use crate::credentials::{post_form, sign_in};
use crate::support::{TestApp, TestDb};
use reqwest::Method;
use serde_json::json;

/// `GET path` with a session cookie and an Accept-Language header: the page.
async fn page(t: &TestApp, cookie: &str, path: &str, accept: Option<&str>) -> String {
    let mut req = t.client.get(format!("{}{path}", t.base)).header("cookie", cookie);
    if let Some(a) = accept {
        req = req.header("accept-language", a);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_the_users_language() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let alice = t.user("alice", false, &[]).await;
    let cookie = sign_in(&t, "alice", "password-123").await.unwrap();

    // Without a setting: what the browser asks for, by its q-values; else English.
    let en = page(&t, &cookie, "/tasks", None).await;
    assert!(en.contains("<html lang=\"en\">") && en.contains(">My tasks</a>"), "{en}");
    let de = page(&t, &cookie, "/tasks", Some("de-DE,de;q=0.9,en;q=0.8")).await;
    assert!(de.contains("<html lang=\"de\">") && de.contains(">Meine Aufgaben</a>"), "{de}");
    assert!(de.contains(">Abmelden</button>"), "{de}");
    let ja = page(&t, &cookie, "/settings", Some("en;q=0.5, ja;q=0.8, fr")).await;
    assert!(ja.contains("<html lang=\"ja\">") && ja.contains(">自分のタスク</a>"), "{ja}");
    let fr = page(&t, &cookie, "/tasks", Some("fr-CH, fr;q=0.9")).await;
    assert!(fr.contains("<html lang=\"en\">"), "{fr}");

    // The setting, through the API, wins over the browser.
    let (s, me) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": "ja"}))).await;
    assert_eq!((s, me["language"].as_str()), (200, Some("ja")), "{me}");
    let ja = page(&t, &cookie, "/tasks", Some("de")).await;
    assert!(ja.contains("<html lang=\"ja\">") && ja.contains(">自分のタスク</a>"), "{ja}");
    // Only our languages; a refusal changes nothing.
    for bad in ["fr", "de-AT", "x"] {
        let (s, e) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": bad}))).await;
        assert_eq!(s, 422, "{bad}: {e}");
    }
    let (s, e) = t
        .call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": "fr", "time_zone": "Asia/Tokyo"})))
        .await;
    assert_eq!(s, 422, "{e}");
    let (_, me) = t.get("/api/v1/me", &alice).await;
    assert_eq!((me["language"].as_str(), me["time_zone"].as_str()), (Some("ja"), Some("Europe/Berlin")), "{me}");
    // null gives the choice back to the browser.
    let (s, me) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": null}))).await;
    assert_eq!((s, &me["language"]), (200, &json!(null)));
    assert!(page(&t, &cookie, "/tasks", Some("de")).await.contains("<html lang=\"de\">"));

    // The setting, through the settings page's form: it offers each language by its own name.
    let settings = page(&t, &cookie, "/settings", None).await;
    for option in
        ["<option value=\"de\" lang=\"de\">Deutsch</option>", "<option value=\"ja\" lang=\"ja\">日本語</option>"]
    {
        assert!(settings.contains(option), "{option} in {settings}");
    }
    let (s, _) =
        post_form(&t, &cookie, "/settings", "/settings/profile", &[("language", "de"), ("time_zone", "UTC")]).await;
    assert_eq!(s, 303);
    let de = page(&t, &cookie, "/settings", Some("ja")).await;
    assert!(de.contains("<html lang=\"de\">") && de.contains(">Einstellungen</a>"), "{de}");
    assert!(de.contains("<option value=\"de\" lang=\"de\" selected>Deutsch</option>"), "{de}");
    let (s, _) =
        post_form(&t, &cookie, "/settings", "/settings/profile", &[("language", "xx"), ("time_zone", "UTC")]).await;
    assert_eq!(s, 422);
    let (s, _) =
        post_form(&t, &cookie, "/settings", "/settings/profile", &[("language", ""), ("time_zone", "UTC")]).await;
    assert_eq!(s, 303);
    assert_eq!(t.get("/api/v1/me", &alice).await.1["language"], json!(null));
}
