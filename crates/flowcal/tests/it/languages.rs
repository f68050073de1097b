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

/// My tasks, a task page (its calendar buttons and the diagram's legend), the
/// start pages, their notices and field errors: in German by the setting, in
/// Japanese by the browser, with none of their English left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_pages_speak_german_and_japanese() {
    let t = TestApp::spawn(TestDb::sqlite()).await;
    let alice = t.user("alice", true, &["managers"]).await;
    let (s, m) = t.upload(&alice, crate::support::leave_model()).await;
    assert_eq!(s, 201, "{m}");
    let cookie = sign_in(&t, "alice", "password-123").await.unwrap();
    let notice = |cookie: &str| flowcal_connect::text::percent_decode(cookie);
    let english_absent = |html: &str, english: &[&str]| {
        for e in english {
            assert!(!html.contains(e), "{e:?} is still English in {html}");
        }
    };
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": "de"}))).await;
    assert_eq!(s, 200);

    // Starting a process, in German: the list, the form, a field's error, the notice.
    let start = page(&t, &cookie, "/start", Some("ja")).await;
    assert!(start.contains("<h1>Prozess starten</h1>") && start.contains(">Version 1</span>"), "{start}");
    english_absent(&start, &["Start a process", "version 1"]);
    let form = page(&t, &cookie, "/start/leave", None).await;
    assert!(form.contains(">Titel<span") && form.contains(">Starten</button>"), "{form}");
    english_absent(&form, &[">Title<", ">Start</button>"]);
    let fields = [("title", "Urlaub"), ("item.first_day", "2026-12-07"), ("item.days", "viele")];
    let (s, refused) = post_form(&t, &cookie, "/start/leave", "/start/leave", &fields).await;
    assert_eq!(s, 422);
    assert!(refused.contains(">Bitte geben Sie eine Zahl ein</p>"), "{refused}");
    english_absent(&refused, &["enter a number"]);
    let fields = [("title", "Urlaub"), ("item.first_day", "2026-12-07"), ("item.days", "8")];
    let (s, started) = post_form(&t, &cookie, "/start/leave", "/start/leave", &fields).await;
    assert_eq!((s, notice(&started).starts_with("flowcal_notice=Gestartet;")), (303, true), "{started}");

    // My tasks.
    let tasks = page(&t, &cookie, "/tasks", None).await;
    for german in [
        "<h1>Meine Aufgaben</h1>",
        ">Fällig diese Woche</option>",
        ">Alle Prozesse</option>",
        ">Neueste zuerst</option>",
        ">Filtern</button>",
        "1–1 von 1 offenen Aufgabe</p>",
        "<th scope=\"col\">Aufgabe</th>",
        ">Rolle managers</td>",
    ] {
        assert!(tasks.contains(german), "{german} in {tasks}");
    }
    english_absent(&tasks, &["Due this week", "All processes", "open task", ">Task</th>", "role managers", "Sort by"]);
    let at = tasks.find("href=\"/tasks/").unwrap() + 13;
    let task: i64 = tasks[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap();

    // The task page: its facts, the diagram's legend, why there is no *Add to calendar*.
    let path = format!("/tasks/{task}");
    let html = page(&t, &cookie, &path, None).await;
    for german in [
        ">Aufgabe übernehmen</button>",
        ">noch niemand: Rolle managers</dd>",
        "<dd>offen</dd>",
        "Wo diese Aufgabe im Prozess steht</h2>",
        "Umrahmt: der Schritt dieser Aufgabe, <strong>Approve</strong>",
        "Häkchen: erledigt (noch keine)",
        "Kalenderexport in den <a href=\"/settings#profile\">Einstellungen</a> ein.",
        "Übernehmen Sie die Aufgabe",
    ] {
        assert!(html.contains(german), "{german} in {html}");
    }
    english_absent(
        &html,
        &["Claim this task", "not yet", "Where this task", "Framed", "Tick: done", "Hover a step", "calendar export"],
    );

    // An entry of its deadline, moved in alice's calendar: the date it was moved to, in German.
    t.sql(&format!(
        "INSERT INTO calendar_accounts (user_id, kind, provider, external_id, display, status, credentials_sealed, \
         created_at, updated_at) SELECT id, 'caldav', 'caldav', 'x', 'Mein Kalender', 'active', '', 0, 0 FROM users \
         WHERE login = 'alice';
         INSERT INTO exports (user_id, account_id, source, task_id, instance_id, event_key, wanted, state, \
         not_before, created_at, updated_at, held_start) SELECT a.user_id, a.id, 'task:{task}:deadline', t.id, \
         t.instance_id, 'k', 'present', 'synced', 0, 0, 0, '2026-12-09' FROM calendar_accounts a, tasks t \
         WHERE t.id = {task};"
    ))
    .await;
    let html = page(&t, &cookie, &path, None).await;
    for german in [
        "↔ In Ihrem Kalender verschoben",
        "auf Mi., 9. Dez. 2026</span>",
        "aria-label=\"Dieses Datum übernehmen für die Frist, wie im Kalender verschoben\">Dieses Datum übernehmen<",
        ">Beibehalten</button>",
    ] {
        assert!(html.contains(german), "{german} in {html}");
    }
    english_absent(&html, &["Moved in your calendar", "Use this date", ">Keep<", "Wed 9 Dec"]);

    // Claiming and completing, with a field's error in between.
    let (s, claimed) = post_form(&t, &cookie, &path, &format!("{path}/claim"), &[]).await;
    assert_eq!((s, notice(&claimed).contains("=Die Aufgabe gehört jetzt Ihnen;")), (303, true), "{claimed}");
    let complete = format!("{path}/complete");
    let (s, refused) = post_form(&t, &cookie, &path, &complete, &[("item.days", "acht")]).await;
    assert_eq!(s, 422);
    assert!(refused.contains(">Aufgabe abschließen</button>") && refused.contains("Bitte geben Sie eine Zahl ein"));
    english_absent(&refused, &["Complete task", "enter a number"]);

    // In Japanese, by the browser's choice.
    let (s, _) = t.call(Method::PATCH, "/api/v1/me/settings", &alice, Some(json!({"language": null}))).await;
    assert_eq!(s, 200);
    let ja = Some("ja-JP,ja;q=0.9");
    // The claim changed the task, so its entry is being sent again; as if it had been, still moved.
    t.sql(&format!("UPDATE exports SET state = 'synced' WHERE task_id = {task}")).await;
    let tasks = page(&t, &cookie, "/tasks", ja).await;
    for japanese in
        ["<h1>自分のタスク</h1>", ">今週が期限</option>", "未完了のタスク 1 件中 1–1 件</p>", ">あなた</td>"]
    {
        assert!(tasks.contains(japanese), "{japanese} in {tasks}");
    }
    english_absent(&tasks, &["Due this week", "open task", ">you</td>"]);
    let html = page(&t, &cookie, &path, ja).await;
    for japanese in [
        ">タスクを完了する</button>",
        "プロセス内でのこのタスクの位置</h2>",
        "チェック: 完了(まだありません)",
        "移動先: 2026年12月9日(水)",
        "aria-label=\"変更しない: 期限 はそのままにして、予定を元の日時に戻します\">変更しない<",
    ] {
        assert!(html.contains(japanese), "{japanese} in {html}");
    }
    english_absent(&html, &["Complete task", "Where this task", "Tick: done", "Moved in your calendar"]);
    let start = page(&t, &cookie, "/start", ja).await;
    assert!(start.contains("<h1>プロセスを開始</h1>") && start.contains(">バージョン 1</span>"), "{start}");
    let fields = [
        ("item.first_day", "2026-12-07"),
        ("item.days", "8"),
        ("item.handover", "2026-12-01T10:00"),
        ("item.approved", "true"),
    ];
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    let token = {
        let html = page(&t, &cookie, &path, ja).await;
        let at = html.find("name=\"_csrf\" value=\"").unwrap() + 20;
        html[at..at + 32].to_owned()
    };
    form.push(("_csrf", &token));
    let r = t
        .client
        .post(format!("{}{complete}", t.base))
        .header("cookie", &cookie)
        .header("accept-language", "ja")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let done = r.headers().get_all("set-cookie").iter().map(|v| notice(v.to_str().unwrap())).collect::<Vec<_>>();
    assert!(done.iter().any(|c| c.starts_with("flowcal_notice=完了しました: Approve;")), "{done:?}");
}
